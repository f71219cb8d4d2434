#!/usr/bin/env bash
# `-c` time on a generated config (2,000 backends, 20,000 servers on 127.x addresses),
# haproxy vs haproxide in the same run, each pinned to CPU 0, median of 5 alternating runs.
#   bash benches/check-time.sh [HAPROXIDE_BINARY]
# Prints one table row; only ever runs the binaries with -c (nothing is started).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/target/release/haproxide}
ref=${HAPROXY:-/usr/sbin/haproxy}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cfg=$tmp/big.cfg
{
    printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n  timeout server 50s\n'
    printf 'frontend fe\n  bind 127.0.0.1:21883\n  default_backend be0\n'
    for b in $(seq 0 1999); do
        printf 'backend be%d\n  balance roundrobin\n' "$b"
        for s in $(seq 0 9); do
            printf '  server s%d 127.%d.%d.%d:1883 check inter 10s fall 2 rise 5 send-proxy-v2 check-send-proxy\n' \
                "$s" $((b / 250 + 1)) $((b % 250)) $((s + 1))
        done
    done
} > "$cfg"
time_ms() { local s e; s=$(date +%s%N); taskset -c 0 "$@" -c -q -f "$cfg" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
# Both must accept the file, or the timing compares different work.
for b in "$ref" "$bin"; do
    rc=0; "$b" -c -q -f "$cfg" || rc=$?
    [ "$rc" -eq 0 ] || { echo "check-time: $b -c exits $rc on the generated config" >&2; exit 1; }
done
h=(); o=()
for _ in 1 2 3 4 5; do h+=("$(time_ms "$ref")"); o+=("$(time_ms "$bin")"); done
med() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
hm=$(med "${h[@]}"); om=$(med "${o[@]}")
echo "| metric | haproxy | haproxide | ratio (haproxide/haproxy) |"
echo "|---|---|---|---|"
printf '| -c on 2,000 backends / 20,000 servers (ms, median of 5) | %s | %s | %s |\n' "$hm" "$om" \
    "$(awk -v a="$om" -v b="$hm" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
echo "runs haproxy: ${h[*]} ms; haproxide: ${o[*]} ms"
