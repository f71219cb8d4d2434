#!/usr/bin/env bash
# Side-by-side TLS benchmark: full handshakes/s (ECDSA P-256 and RSA-2048, TLS 1.3 and 1.2,
# no resumption, each followed by one byte each way through an echo server), resumed
# handshakes/s (TLS 1.3 tickets, TLS 1.2), plain clients through
# to a TLS server (`server … ssl`, a haproxy terminator on CPU 1) and RSS per idle TLS
# connection at 9,000 connections, haproxy 2.6 and haproxide each pinned to
# CPU 0 with nbthread 1, generator on CPU 1, loopback only, bounded in time.
#   bash benches/tls.sh [ROUNDS] [SECS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
cargo build --release -q --features bench --bin haproxide --bin haproxide-loadgen
gen=$root/target/release/haproxide-loadgen
ref=${HAPROXY:-/usr/sbin/haproxy}
ours=${HAPROXIDE:-$root/target/release/haproxide}
source benches/common.sh
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test -keyout "$tmp/ec.key" -out "$tmp/ec.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test -keyout "$tmp/rsa.key" -out "$tmp/rsa.crt" 2>/dev/null
cat "$tmp/ec.crt" "$tmp/ec.key" > "$tmp/ec.pem"; cat "$tmp/rsa.crt" "$tmp/rsa.key" > "$tmp/rsa.pem"
taskset -c 1 "$gen" serve 127.0.0.2:25103 echo & pids+=($!)
# The TLS server for `server … ssl`: a haproxy terminator beside the generator on CPU 1.
{ bench_head; cat <<CFG
listen term
  bind 127.0.0.3:25107 ssl crt $tmp/ec.pem
  server s 127.0.0.2:25103
CFG
} > "$tmp/term.cfg"
taskset -c 1 "$ref" -db -f "$tmp/term.cfg" >/dev/null 2>&1 & pids+=($!)
{ bench_head; cat <<CFG
listen ec
  bind 127.0.0.1:25100 ssl crt $tmp/ec.pem
  server s 127.0.0.2:25103
listen rsa
  bind 127.0.0.1:25102 ssl crt $tmp/rsa.pem
  server s 127.0.0.2:25103
listen resume
  bind 127.0.0.1:25104 ssl crt $tmp/ec.pem
  server s 127.0.0.2:25103
listen srvssl
  bind 127.0.0.1:25106
  server s 127.0.0.3:25107 ssl verify none
CFG
} > "$tmp/tls.cfg"
declare -A R
run_one() {
    local name=$1 bin=$2 p t0 t1 out rate cpu
    taskset -c 0 "$bin" -db -f "$tmp/tls.cfg" >/dev/null 2>&1 & p=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25100) 2>/dev/null && break; sleep 0.1; done
    for m in "ec13 25100 13 tls" "ec12 25100 12 tls" "rsa13 25102 13 tls" "rsa12 25102 12 tls" "res13 25104 13 tlsresume" "res12 25104 12 tlsresume" "srv 25106 32 conn"; do
        set -- $m
        # conn takes the client count where the TLS modes take theirs and a version.
        if [ "$4" = conn ]; then
            t0=$(ticks $p); out=$(taskset -c 1 "$gen" conn 127.0.0.1:$2 "$secs" $3); t1=$(ticks $p)
        else
            t0=$(ticks $p); out=$(taskset -c 1 "$gen" $4 127.0.0.1:$2 "$secs" 32 $3); t1=$(ticks $p)
        fi
        rate=$(awk '/handshakes_per_s|resumptions_per_s|conn_per_s/ {print $3}' <<<"$out")
        cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
        R[$name,$1]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }') "
    done
    local before after n=9000
    before=$(rss_kb $p)
    coproc IDLE { taskset -c 1 "$gen" tlsidle 127.0.0.1:25100 $n 3; }
    # 9,000 handshakes take a while; READY comes once all are held.
    while read -r line <&"${IDLE[0]}"; do [ "$line" = READY ] && break; done
    sleep 1
    after=$(rss_kb $p)
    wait "$IDLE_PID" 2>/dev/null || true
    R[$name,idle]+="$(awk -v a="$before" -v b="$after" -v n=$n 'BEGIN { printf "%.0f", (b - a) * 1024 / n }') "
    kill $p; wait $p 2>/dev/null || true
}
for r in $(seq "$rounds"); do run_one haproxy "$ref"; run_one haproxide "$ours"; done
printf '| metric | haproxy | haproxide | ratio | spread (haproxy; haproxide) |\n|---|---|---|---|---|\n'
for m in ec13 ec12 rsa13 rsa12 res13 res12 srv idle; do
    h=$(median "${R[haproxy,$m]}"); o=$(median "${R[haproxide,$m]}")
    case $m in
        ec13) label="ECDSA P-256 TLS 1.3 full handshakes/s per proxy core" ;;
        ec12) label="ECDSA P-256 TLS 1.2 full handshakes/s per proxy core" ;;
        rsa13) label="RSA-2048 TLS 1.3 full handshakes/s per proxy core" ;;
        rsa12) label="RSA-2048 TLS 1.2 full handshakes/s per proxy core" ;;
        res13) label="ECDSA TLS 1.3 resumed handshakes/s per proxy core" ;;
        res12) label="ECDSA TLS 1.2 resumed handshakes/s per proxy core" ;;
        srv) label="plain clients to a TLS server (server ssl, resumed) conns/s per proxy core" ;;
        idle) label="RSS bytes per idle TLS connection (9,000)" ;;
    esac
    printf '| %s | %s | %s | %s | %s; %s |\n' "$label" "$h" "$o" "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$(spread "${R[haproxy,$m]}")" "$(spread "${R[haproxide,$m]}")"
done
echo "(rounds: $rounds, $secs s each; rustls with the aws-lc-rs provider)"
