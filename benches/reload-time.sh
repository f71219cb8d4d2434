#!/usr/bin/env bash
# Reload time on a 2,000-backend / 20,000-server config: from the signal to the new
# configuration serving. haproxide: SIGHUP in the foreground, until "Reload complete".
# haproxy: master-worker (-W), SIGUSR2, until the master says "Loading success".
# Both pinned to CPU 0, median of 5 reloads each. Servers are 127.x, no checks: nothing
# is sent anywhere. Prints one table row.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/target/release/haproxide}
ref=${HAPROXY:-/usr/sbin/haproxy}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
{
    printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n  timeout server 50s\n'
    printf 'frontend fe\n  bind 127.0.0.1:21884\n  default_backend be0\n'
    for b in $(seq 0 1999); do
        printf 'backend be%d\n' "$b"
        for s in $(seq 0 9); do printf '  server s%d 127.%d.%d.%d:1883\n' "$s" $((b / 250 + 1)) $((b % 250)) $((s + 1)); done
    done
} > "$tmp/big.cfg"
# Each proxy on its own port (they run at the same time).
sed 's/127.0.0.1:21884/127.0.0.1:21885/' "$tmp/big.cfg" > "$tmp/big-ref.cfg"

# measure NAME PID LOGFILE SIGNAL PATTERN -> prints ms per reload, one per line
measure() {
    local pid=$2 log=$3 sig=$4 pat=$5 before s e
    for _ in 1 2 3 4 5; do
        before=$(grep -c "$pat" "$log" || true)
        s=$(date +%s%N)
        kill "-$sig" "$pid"
        while [ "$(grep -c "$pat" "$log" || true)" -le "$before" ]; do sleep 0.005; done
        e=$(date +%s%N)
        echo $(( (e - s) / 1000000 ))
        sleep 0.5
    done
}
med() { sort -n | sed -n 3p; }

taskset -c 0 "$bin" -db -f "$tmp/big.cfg" 2> "$tmp/ours.log" & pids+=($!); ours=$!
taskset -c 0 "$ref" -W -db -f "$tmp/big-ref.cfg" 2> "$tmp/ref.log" & pids+=($!); theirs=$!
for _ in $(seq 100); do grep -q "Loading success" "$tmp/ref.log" 2>/dev/null && break; sleep 0.1; done
kill -0 "$ours" 2>/dev/null || { echo "reload-time: haproxide did not start:" >&2; cat "$tmp/ours.log" >&2; exit 1; }
sleep 1
o=$(measure haproxide "$ours" "$tmp/ours.log" HUP "Reload complete" | med)
h=$(measure haproxy "$theirs" "$tmp/ref.log" USR2 "Loading success" | med)
echo "| metric | haproxy | haproxide | ratio |"
echo "|---|---|---|---|"
printf '| reload, 2,000 backends / 20,000 servers (ms, median of 5) | %s | %s | %s |\n' "$h" "$o" "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
