#!/usr/bin/env bash
# Side-by-side HTTP/1.1 benchmark: haproxy 2.6, haproxide and nginx as the proxy, each on
# CPU 0 with one thread/worker; wrk and the nginx origin on CPU 1; loopback only, every
# load bounded in time.
#   bash benches/http.sh [ROUNDS] [SECS]
# Metrics: requests/s with keep-alive (small GETs, 64 connections), requests/s with one
# request per connection, 1 MB responses (Gbit/s), 64 KB text responses gzip-compressed
# by the proxy (requests/s; each proxy at level 1: haproxy's libslz, haproxide's flate2,
# nginx's gzip_comp_level 1), wrk's p50/p99 latency of the
# keep-alive run, RSS per idle keep-alive client (1,000 and 9,000, each after one
# request). Rates are also given per proxy core (rate / CPU fraction the proxy used).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
cargo build --release -q --features bench --bin haproxide --bin haproxide-loadgen
gen=$root/target/release/haproxide-loadgen
ref=${HAPROXY:-/usr/sbin/haproxy}
ours=${HAPROXIDE:-$root/target/release/haproxide}
source benches/common.sh
command -v wrk >/dev/null || { echo "http.sh: wrk is missing (bash benches/install-deps.sh)" >&2; exit 1; }

# The origin: nginx with one worker on CPU 1, a 128-byte page and a 1 MB one.
mkdir -p "$tmp/origin/www" "$tmp/proxy"
head -c 128 /dev/zero | tr '\0' 'a' > "$tmp/origin/www/index.html"
head -c 1048576 /dev/zero | tr '\0' 'b' > "$tmp/origin/www/big"
seq 1 3000 | sed 's/^/<li class="row">line of the page number /' > "$tmp/origin/www/text"
truncate -s 65536 "$tmp/origin/www/text"
# nginx's workers run as nobody: origin_nginx makes the pages readable (mktemp -d is 0700).
origin_nginx "$tmp/origin" 127.0.0.3:25101

# haproxy and haproxide: the same configuration.
cat > "$tmp/http.cfg" <<CFG
global
  nbthread 1
  maxconn 9500
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen web
  bind 127.0.0.1:25100
  # The origin serves every file as application/octet-stream (no mime types); only
  # requests with accept-encoding (the compression run's) are compressed.
  compression algo gzip
  compression type application/octet-stream
  server origin 127.0.0.3:25101
CFG
# nginx as the proxy: one worker, upstream keep-alive (its recommended proxy setup).
cat > "$tmp/proxy/nginx.conf" <<CFG
worker_processes 1;
daemon off;
pid $tmp/proxy/nginx.pid;
error_log $tmp/proxy/error.log;
worker_rlimit_nofile 19500;
events { worker_connections 19000; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.3:25101; keepalive 64; }
  server {
    listen 127.0.0.1:25100 backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      gzip on;
      gzip_comp_level 1;
      gzip_types application/octet-stream;
      gzip_proxied any;
    }
  }
}
CFG
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.3/25101) 2>/dev/null && break; sleep 0.1; done

# wrk's rate, and the proxy's CPU fraction, for one load: NAME PID KEY ARGS...
declare -A R
measure() {
    local name=$1 p=$2 key=$3 t0 t1 out rate cpu
    shift 3
    t0=$(ticks "$p"); out=$(taskset -c 1 wrk -t1 -d"${secs}s" "$@"); t1=$(ticks "$p")
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
    case $key in
        big)
            # Transfer/sec in MB/GB → Gbit/s.
            rate=$(awk '/Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); v=substr(v, 1, length(v)-2);
                m = (u=="GB") ? 8 : (u=="MB") ? 8/1024 : (u=="KB") ? 8/1048576 : 0; printf "%.2f", v*m }' <<<"$out")
            R[$name,$key]+="$rate "
            R[$name,${key}_core]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.2f", (c > 0 ? r / c : 0) }') " ;;
        *)
            rate=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
            R[$name,$key]+="$rate "
            R[$name,${key}_core]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }') " ;;
    esac
    if [ "$key" = ka ]; then
        # wrk --latency prints "50%  1.23ms"; kept in ms.
        for q in 50 99; do
            R[$name,p$q]+="$(awk -v q="$q%" '$1 == q { v=$2; u=v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
                printf "%.3f", (u=="us") ? v/1000 : (u=="s") ? v*1000 : v }' <<<"$out") "
        done
    fi
}

run_one() { # NAME START-COMMAND...
    local name=$1 p w
    shift
    taskset -c 0 "$@" >/dev/null 2>&1 & p=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25100) 2>/dev/null && break; sleep 0.1; done
    # nginx works in its worker, not in the master the shell started.
    w=$(ps --ppid "$p" -o pid= | head -1 | tr -d ' ' || true); w=${w:-$p}
    measure "$name" "$w" ka -c64 --latency http://127.0.0.1:25100/
    measure "$name" "$w" close -c64 -H "Connection: close" http://127.0.0.1:25100/
    measure "$name" "$w" big -c16 http://127.0.0.1:25100/big
    measure "$name" "$w" gz -c16 -H "Accept-Encoding: gzip" http://127.0.0.1:25100/text
    for n in 1000 9000; do
        local before after
        before=$(rss_kb "$w")
        coproc IDLE { taskset -c 1 "$gen" httpidle 127.0.0.1:25100 $n 3; }
        while read -r line <&"${IDLE[0]}"; do [ "$line" = READY ] && break; done
        sleep 1
        after=$(rss_kb "$w")
        wait "$IDLE_PID" 2>/dev/null || true
        R[$name,idle$n]+="$(awk -v a="$before" -v b="$after" -v n=$n 'BEGIN { printf "%.0f", (b - a) * 1024 / n }') "
    done
    kill "$p"; wait "$p" 2>/dev/null || true
}

for r in $(seq "$rounds"); do
    run_one haproxy "$ref" -db -f "$tmp/http.cfg"
    run_one haproxide "$ours" -db -f "$tmp/http.cfg"
    run_one nginx nginx -p "$tmp/proxy" -c "$tmp/proxy/nginx.conf"
done

printf '| metric | haproxy | haproxide | nginx | haproxide/haproxy | spread (haproxy; haproxide; nginx) |\n|---|---|---|---|---|---|\n'
for m in ka ka_core close close_core big big_core gz gz_core p50 p99 idle1000 idle9000; do
    case $m in
        ka) label="requests/s, keep-alive, 64 connections" ;; ka_core) label="requests/s per proxy core, keep-alive" ;;
        close) label="requests/s, one request per connection" ;; close_core) label="requests/s per proxy core, one request per connection" ;;
        big) label="1 MB responses, Gbit/s (16 connections)" ;; big_core) label="1 MB responses, Gbit/s per proxy core" ;;
        gz) label="64 KB text gzip-compressed, requests/s (16 connections)" ;; gz_core) label="64 KB text gzip-compressed, requests/s per proxy core" ;;
        p50) label="keep-alive latency p50, ms (at saturation)" ;; p99) label="keep-alive latency p99, ms (at saturation)" ;;
        idle1000) label="RSS bytes per idle keep-alive client (1,000)" ;; idle9000) label="RSS bytes per idle keep-alive client (9,000)" ;;
    esac
    h=$(median "${R[haproxy,$m]}"); o=$(median "${R[haproxide,$m]}"); n=$(median "${R[nginx,$m]}")
    printf '| %s | %s | %s | %s | %s | %s; %s; %s |\n' "$label" "$h" "$o" "$n" \
        "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
        "$(spread "${R[haproxy,$m]}")" "$(spread "${R[haproxide,$m]}")" "$(spread "${R[nginx,$m]}")"
done
echo "(rounds: $rounds, $secs s each; $(nproc) CPUs; $("$ref" -v | head -1); haproxide $("$ours" -v | head -1 | awk '{print $3}'); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'))"
