#!/usr/bin/env bash
# Soak (issue #10; not part of CI): haproxide under a steady mixed load for MINUTES
# (default 30) — 1,000 long-lived connections renewed every minute, bursts of short TCP
# connections and of TLS handshakes every 20 s, health checks every second — sampling its
# RSS and descriptors every 10 s. Fails if, after the load, descriptors are not back to
# their idle count or RSS grew by more than 8 MB over the first minute's idle level.
# Loopback only; every load is bounded in time.
#   bash benches/soak.sh [MINUTES]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=${1:-30}
cd "$root"
cargo build --release -q --features bench --bin haproxide --bin haproxide-loadgen
gen=$root/target/release/haproxide-loadgen
ours=${HAPROXIDE:-$root/target/release/haproxide}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
    -keyout "$tmp/k.pem" -out "$tmp/c.pem" 2>/dev/null
cat "$tmp/c.pem" "$tmp/k.pem" > "$tmp/b.pem"
"$gen" serve 127.0.0.2:25401 echo & pids+=($!)
"$gen" serve 127.0.0.3:25401 echo & pids+=($!)
cat > "$tmp/soak.cfg" <<CFG
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 90s
  timeout server 90s
listen plain
  bind 127.0.0.1:25400
  balance roundrobin
  server a 127.0.0.2:25401 check inter 1s
  server b 127.0.0.3:25401 check inter 1s
listen tls
  bind 127.0.0.1:25443 ssl crt $tmp/b.pem
  server a 127.0.0.2:25401 check inter 1s
CFG
"$ours" -db -f "$tmp/soak.cfg" >/dev/null 2>&1 & p=$!; pids+=($p)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25400) 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$p/status"; }
fds() { ls "/proc/$p/fd" | wc -l; }
sleep 2
idle_fds=$(fds); idle_rss=$(rss)
echo "minute,rss_kb,fds"
end=$(( $(date +%s) + minutes * 60 ))
t0=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
    # 1,000 long-lived connections, held for a minute, then replaced.
    "$gen" idle 127.0.0.1:25400 1000 55 >/dev/null & held=$!
    for _ in 1 2 3; do
        [ "$(date +%s)" -lt "$end" ] || break
        "$gen" conn 127.0.0.1:25400 2 4 >/dev/null
        "$gen" tls 127.0.0.1:25443 2 4 13 >/dev/null
        for _ in 1 2; do
            sleep 8
            echo "$(( ($(date +%s) - t0) / 60 )),$(rss),$(fds)"
        done
    done
    wait "$held" 2>/dev/null || true
done
sleep 3
final_fds=$(fds); final_rss=$(rss)
echo "idle before: ${idle_rss} kB, ${idle_fds} fds; after ${minutes} min: ${final_rss} kB, ${final_fds} fds"
[ "$final_fds" -le $(( idle_fds + 2 )) ] || { echo "soak: descriptors leaked" >&2; exit 1; }
[ "$final_rss" -le $(( idle_rss + 8192 )) ] || { echo "soak: RSS grew by $(( final_rss - idle_rss )) kB" >&2; exit 1; }
echo "soak: passed"
