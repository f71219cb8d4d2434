#!/usr/bin/env bash
# Side-by-side MQTT benchmark through each proxy to one mosquitto broker: publish-to-receive
# latency (QoS 0, fixed rate, publisher and subscriber both through the proxy; p50 and p99,
# and the same straight to the broker as the floor no proxy can go under) and the
# CONNECT/CONNACK rate (connect, CONNACK, DISCONNECT, close). haproxy 2.6 and
# haproxide each pinned to CPU 0 with nbthread 1; mosquitto and the generator on CPU 1;
# loopback only, bounded in time.
#   bash benches/mqtt.sh [ROUNDS] [SECS] [RATE]
# BUSY=1 adds `busy-polling` to both proxies' global section. PROXY_CPU=1 pins the proxies
# beside the broker and the generator: no message then waits for another core to wake up.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}; rate=${3:-2000}
cd "$root"
cargo build --release -q --features bench --bin haproxide --bin haproxide-loadgen
gen=$root/target/release/haproxide-loadgen
ref=${HAPROXY:-/usr/sbin/haproxy}
ours=${HAPROXIDE:-$root/target/release/haproxide}
[ -x /usr/sbin/mosquitto ] || { echo "mqtt.sh: mosquitto is missing (apt-get install mosquitto)" >&2; exit 1; }
source benches/common.sh
printf 'listener 25201 127.0.0.2\nallow_anonymous true\nmax_connections -1\nlog_type none\n' > "$tmp/mosquitto.conf"
taskset -c 1 /usr/sbin/mosquitto -c "$tmp/mosquitto.conf" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.2/25201) 2>/dev/null && break; sleep 0.1; done
busy=()
[ "${BUSY:-0}" = 1 ] && busy=(busy-polling)
{ bench_head "${busy[@]}"; cat <<CFG
listen mqtt
  bind 127.0.0.1:25200
  server broker 127.0.0.2:25201
CFG
} > "$tmp/mqtt.cfg"
declare -A R
run_one() { # NAME BIN
    local name=$1 bin=$2 p t0 t1 out r cpu
    taskset -c "${PROXY_CPU:-0}" "$bin" -db -f "$tmp/mqtt.cfg" >/dev/null 2>&1 & p=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25200) 2>/dev/null && break; sleep 0.1; done
    out=$(taskset -c 1 "$gen" mqttlat 127.0.0.1:25200 "$secs" "$rate")
    R[$name,p50]+="$(awk '/p50_us/ {print $3}' <<<"$out") "
    R[$name,p99]+="$(awk '/p99_us/ {print $3}' <<<"$out") "
    t0=$(ticks $p); out=$(taskset -c 1 "$gen" mqttconn 127.0.0.1:25200 "$secs" 32); t1=$(ticks $p)
    r=$(awk '/connack_per_s/ {print $3}' <<<"$out")
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
    R[$name,conn]+="$r "; R[$name,conn_core]+="$(awk -v r="$r" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }') "
    kill $p; wait $p 2>/dev/null || true
}
# No proxy: the generator straight to mosquitto, so the table shows what each proxy adds.
direct() {
    local out
    out=$(taskset -c 1 "$gen" mqttlat 127.0.0.2:25201 "$secs" "$rate")
    R[direct,p50]+="$(awk '/p50_us/ {print $3}' <<<"$out") "
}
for r in $(seq "$rounds"); do direct; run_one haproxy "$ref"; run_one haproxide "$ours"; done
printf '| metric | haproxy | haproxide | ratio | spread (haproxy; haproxide) |\n|---|---|---|---|---|\n'
for m in p50 p99 conn conn_core; do
    h=$(median "${R[haproxy,$m]}"); o=$(median "${R[haproxide,$m]}")
    case $m in
        p50) label="MQTT publish-to-receive latency p50 (µs, $rate msg/s)" ;;
        p99) label="MQTT publish-to-receive latency p99 (µs, $rate msg/s)" ;;
        conn) label="MQTT CONNECT/CONNACK per s" ;;
        conn_core) label="MQTT CONNECT/CONNACK per s per proxy core" ;;
    esac
    printf '| %s | %s | %s | %s | %s; %s |\n' "$label" "$h" "$o" "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$(spread "${R[haproxy,$m]}")" "$(spread "${R[haproxide,$m]}")"
    if [ "$m" = p50 ]; then
        # What each proxy adds to the no-proxy p50 (one more loopback hop each way), and the
        # floor: the p50 ratio if a proxy added nothing at all.
        d=$(median "${R[direct,p50]}")
        printf '| MQTT p50 with no proxy (µs) | %s | | floor %s | %s |\n' "$d" "$(awk -v d="$d" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? d / b : 0) }')" "$(spread "${R[direct,p50]}")"
        printf '| MQTT p50 added by the proxy (µs) | %s | %s | %s | |\n' "$(awk -v a="$h" -v d="$d" 'BEGIN { printf "%.1f", a - d }')" "$(awk -v a="$o" -v d="$d" 'BEGIN { printf "%.1f", a - d }')" "$(awk -v a="$o" -v b="$h" -v d="$d" 'BEGIN { printf "%.2f", (b - d > 0 ? (a - d) / (b - d) : 0) }')"
    fi
done
echo "(rounds: $rounds, $secs s each; busy-polling: ${BUSY:-0}; proxies on CPU ${PROXY_CPU:-0}; mosquitto $(/usr/sbin/mosquitto -h 2>/dev/null | awk 'NR==1 {print $3}'))"
