#!/usr/bin/env bash
# Side-by-side TCP benchmark: haproxy 2.6 and haproxide, each pinned to CPU 0 with
# nbthread 1, load generator and fake servers on CPU 1, loopback only, bounded in time.
#   bash benches/tcp.sh [ROUNDS] [SECS]
# Prints a table (metric | haproxy | haproxide | ratio); rates are also given per proxy
# core (rate / CPU fraction the proxy used), since the generator can be the ceiling here.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
cargo build --release -q --features bench --bin haproxide --bin haproxide-loadgen
gen=$root/target/release/haproxide-loadgen
ref=${HAPROXY:-/usr/sbin/haproxy}
ours=${HAPROXIDE:-$root/target/release/haproxide}
source benches/common.sh

taskset -c 1 "$gen" serve 127.0.0.2:25001 echo & pids+=($!)
taskset -c 1 "$gen" serve 127.0.0.2:25002 sink & pids+=($!)
{ bench_head; cat <<CFG
listen conn
  bind 127.0.0.1:25000
  server echo 127.0.0.2:25001
listen bulk
  bind 127.0.0.1:25003
  server sink 127.0.0.2:25002
CFG
} > "$tmp/bench.cfg"
# haproxy with kernel splicing (the issue's bulk target compares against it); its pipes
# need descriptors too, so a lower maxconn keeps it under this machine's fd limit.
sed 's/^defaults$/defaults\n  option splice-auto/; s/maxconn 9500/maxconn 4000/' "$tmp/bench.cfg" > "$tmp/splice.cfg"


declare -A R
run_one() { # NAME BIN CFG [bulk-only]
    local name=$1 bin=$2 p t0 t1 out rate cpu
    taskset -c 0 "$bin" -db -f "$3" >/dev/null 2>&1 & p=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25000) 2>/dev/null && break; sleep 0.1; done
    if [ -z "${4:-}" ]; then
    # New connections per second.
    t0=$(ticks $p); out=$(taskset -c 1 "$gen" conn 127.0.0.1:25000 "$secs" 50); t1=$(ticks $p)
    rate=$(awk '/conn_per_s/ {print $3}' <<<"$out")
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
    R[$name,conn]+="$rate "; R[$name,conn_core]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }') "
    fi
    # Bulk throughput, 1 and 16 streams.
    for n in 1 16; do
        t0=$(ticks $p); out=$(taskset -c 1 "$gen" bulk 127.0.0.1:25003 "$secs" $n); t1=$(ticks $p)
        rate=$(awk '/gbit_per_s/ {print $3}' <<<"$out")
        cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
        R[$name,bulk$n]+="$rate "; R[$name,bulk${n}_core]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.2f", (c > 0 ? r / c : 0) }') "
    done
    # RSS per idle connection (each holds a client and a server socket in the proxy).
    [ -z "${4:-}" ] || { kill $p; wait $p 2>/dev/null || true; return; }
    for n in 1000 9000; do
        local before after
        before=$(rss_kb $p)
        coproc IDLE { taskset -c 1 "$gen" idle 127.0.0.1:25000 $n 3; }
        while read -r line <&"${IDLE[0]}"; do [ "$line" = READY ] && break; done
        sleep 1
        after=$(rss_kb $p)
        wait "$IDLE_PID" 2>/dev/null || true
        R[$name,idle$n]+="$(awk -v a="$before" -v b="$after" -v n=$n 'BEGIN { printf "%.0f", (b - a) * 1024 / n }') "
    done
    kill $p; wait $p 2>/dev/null || true
}

for r in $(seq "$rounds"); do
    run_one haproxy "$ref" "$tmp/bench.cfg"
    run_one splice "$ref" "$tmp/splice.cfg" bulk-only
    run_one haproxide "$ours" "$tmp/bench.cfg"
done

printf '| metric | haproxy | haproxide | ratio | spread (haproxy; haproxide) |\n|---|---|---|---|---|\n'
for m in conn conn_core bulk1 bulk1_core bulk16 bulk16_core splice:bulk1 splice:bulk1_core splice:bulk16 splice:bulk16_core idle1000 idle9000; do
    ref_name=haproxy suffix=""
    case $m in splice:*) m=${m#splice:}; ref_name=splice; suffix=" (haproxy with splice-auto)" ;; esac
    h=$(median "${R[$ref_name,$m]}"); o=$(median "${R[haproxide,$m]}")
    label=$m
    case $m in
        conn) label="new TCP connections/s" ;; conn_core) label="new TCP connections/s per proxy core" ;;
        bulk1) label="bulk Gbit/s, 1 stream" ;; bulk1_core) label="bulk Gbit/s per proxy core, 1 stream" ;;
        bulk16) label="bulk Gbit/s, 16 streams" ;; bulk16_core) label="bulk Gbit/s per proxy core, 16 streams" ;;
        idle1000) label="RSS bytes per idle connection (1,000)" ;; idle9000) label="RSS bytes per idle connection (9,000)" ;;
    esac
    printf '| %s%s | %s | %s | %s | %s; %s |\n' "$label" "$suffix" "$h" "$o" \
        "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$(spread "${R[$ref_name,$m]}")" "$(spread "${R[haproxide,$m]}")"
done
echo "(rounds: $rounds, $secs s each; $(nproc) CPUs; $("$ref" -v | head -1); haproxide $("$ours" -v | head -1 | awk '{print $3}'))"
