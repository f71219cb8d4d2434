#!/usr/bin/env bash
# Side-by-side cost of the condition language (issue #21's benchmark): haproxy 2.6 and
# haproxide on CPU 0 with one thread, wrk and the nginx origin on CPU 1, loopback only,
# every load bounded in time.
#   bash benches/rules.sh [ROUNDS] [SECS]
# Metrics: keep-alive requests/s (64 connections) through a frontend with 20 ACLs,
# 10 use_backend rules and 5 header rules, every rule evaluated for each request (the
# request matches none and reaches the default backend), absolute and per proxy core;
# the same through a frontend that rate-limits by stick counters (track-sc0 src, a
# deny on sc_http_req_rate, the count in a header); and the time `-c` takes on a
# configuration with 10,000 ACL lines (median of 5).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
cargo build --release -q --bin haproxide
ref=${HAPROXY:-/usr/sbin/haproxy}
ours=${HAPROXIDE:-$root/target/release/haproxide}
source benches/common.sh
command -v wrk >/dev/null || { echo "rules.sh: wrk is missing (bash benches/install-deps.sh)" >&2; exit 1; }

mkdir -p "$tmp/origin/www"
head -c 128 /dev/zero | tr '\0' 'a' > "$tmp/origin/www/index.html"
origin_nginx "$tmp/origin" 127.0.0.3:25201

{
    printf 'global\n  nbthread 1\n  maxconn 9500\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend web\n  bind 127.0.0.1:25200\n'
    for i in $(seq 1 5); do printf '  acl p%d path_beg /api%d/ /static%d/\n' "$i" "$i" "$i"; done
    for i in $(seq 1 5); do printf '  acl h%d hdr_dom(host) -i site%d.example\n' "$i" "$i"; done
    for i in $(seq 1 5); do printf '  acl s%d src 10.%d.0.0/16 192.168.%d.0/24\n' "$i" "$i" "$i"; done
    for i in $(seq 1 5); do printf '  acl q%d url_param(id) -m int gt %d00000\n' "$i" "$i"; done
    printf '  http-request set-header X-Forwarded-Port %%[dst_port]\n'
    printf '  http-request add-header X-Forwarded-Proto http\n'
    printf '  http-request del-header X-Secret\n'
    printf '  http-request set-header X-Client %%ci\n'
    printf '  http-request deny if { path_beg /admin } !s1\n'
    for i in $(seq 1 5); do printf '  use_backend b%d if p%d or h%d\n' "$i" "$i" "$i"; done
    for i in $(seq 1 5); do printf '  use_backend b%d if s%d q%d\n' "$i" "$i" "$i"; done
    printf '  default_backend app\n'
    for i in $(seq 1 5); do printf 'backend b%d\n  server o 127.0.0.3:25201\n' "$i"; done
    printf 'backend app\n  server o 127.0.0.3:25201\n'
} > "$tmp/rules.cfg"

# Rate limiting by stick counters: every request tracked, counted and checked.
cat > "$tmp/limit.cfg" <<CFG
global
  nbthread 1
  maxconn 9500
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend web
  bind 127.0.0.1:25200
  stick-table type ip size 100k expire 30s store http_req_cnt,http_req_rate(10s),http_err_rate(10s),conn_cur
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 } || { sc0_http_err_rate gt 100000000 }
  http-request set-header X-Count %[sc0_http_req_cnt]
  default_backend app
backend app
  server o 127.0.0.3:25201
CFG

# 10,000 ACL lines (and rules using a few of them) for the -c timing.
{
    printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend web\n  bind 127.0.0.1:25202\n'
    for i in $(seq 1 2500); do
        printf '  acl a%d path_beg /p%d/\n  acl a%d hdr(host) -i h%d.example\n' "$i" "$i" "$i" "$i"
        printf '  acl b%d src 10.%d.%d.0/24\n  acl c%d path_reg ^/r%d/[a-z]+$\n' "$i" $((i % 250)) $((i / 250)) "$i" "$i"
    done
    for i in $(seq 1 50); do printf '  use_backend app if a%d b%d or c%d\n' "$i" "$i" "$i"; done
    printf '  default_backend app\nbackend app\n  server o 127.0.0.3:25201\n'
} > "$tmp/acls.cfg"

for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.3/25201) 2>/dev/null && break; sleep 0.1; done

declare -A R
run_one() { # NAME BINARY [CONFIG METRIC]
    local name=$1 bin=$2 cfg=${3:-rules} m=${4:-ka} p t0 t1 out rate cpu
    taskset -c 0 "$bin" -db -f "$tmp/$cfg.cfg" >/dev/null 2>&1 & p=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/25200) 2>/dev/null && break; sleep 0.1; done
    t0=$(ticks "$p")
    out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" -H "Host: www.example.com" "http://127.0.0.1:25200/index.html?id=7")
    t1=$(ticks "$p")
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f", (b - a) / hz / s }')
    rate=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    R[$name,$m]+="$rate "
    R[$name,${m}_core]+="$(awk -v r="$rate" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }') "
    kill "$p"; wait "$p" 2>/dev/null || true
}

check_time() { # NAME BINARY: milliseconds of one `-c`
    local s e
    s=$(date +%s%N)
    taskset -c 0 "$2" -c -f "$tmp/acls.cfg" >/dev/null 2>&1 || { echo "rules.sh: $1 refused acls.cfg" >&2; exit 1; }
    e=$(date +%s%N)
    R[$1,check]+="$(( (e - s) / 1000000 )) "
}

for r in $(seq "$rounds"); do
    run_one haproxy "$ref"
    run_one haproxide "$ours"
    run_one haproxy "$ref" limit lim
    run_one haproxide "$ours" limit lim
done
for r in $(seq 5); do
    check_time haproxy "$ref"
    check_time haproxide "$ours"
done

printf '| metric | haproxy | haproxide | haproxide/haproxy | spread (haproxy; haproxide) |\n|---|---|---|---|---|\n'
for m in ka ka_core lim lim_core check; do
    case $m in
        ka) label="requests/s, 20 ACLs + 10 use_backend + 5 header rules, keep-alive" ;;
        ka_core) label="requests/s per proxy core, same" ;;
        lim) label="requests/s, rate limiting by stick counters, keep-alive" ;;
        lim_core) label="requests/s per proxy core, same" ;;
        check) label="-c on 10,000 ACL lines, ms" ;;
    esac
    h=$(median "${R[haproxy,$m]}"); o=$(median "${R[haproxide,$m]}")
    printf '| %s | %s | %s | %s | %s; %s |\n' "$label" "$h" "$o" \
        "$(awk -v a="$o" -v b="$h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
        "$(spread "${R[haproxy,$m]}")" "$(spread "${R[haproxide,$m]}")"
done
echo "(rounds: $rounds, $secs s each; $(nproc) CPUs; $("$ref" -v | head -1); haproxide $("$ours" -v | head -1 | awk '{print $3}'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'))"
