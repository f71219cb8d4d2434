# Shared by benches/tcp.sh, tls.sh and mqtt.sh (sourced): a scratch directory and the
# processes to stop (by PID) on exit, CPU ticks and RSS of a process, the median and
# spread of a space-separated list of samples, and the head of every bench config.
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
# The global and defaults sections every side-by-side config starts with: one thread
# (each proxy gets one core), room for 9,000 sessions, TCP mode. Arguments are extra
# global lines.
bench_head() {
    printf 'global\n  nbthread 1\n'
    local l
    for l in "$@"; do printf '  %s\n' "$l"; done
    printf '  maxconn 9500\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
}
# An nginx origin with one worker on CPU 1 serving DIR/www on LISTEN (ip:port): the
# pages must be in DIR/www already. Its PID joins the ones stopped on exit.
origin_nginx() { # DIR LISTEN
    chmod -R a+rX "$tmp"
    cat > "$1/nginx.conf" <<CFG
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen $2 backlog=4096;
    root $1/www;
  }
}
CFG
    taskset -c 1 nginx -p "$1" -c "$1/nginx.conf" & pids+=($!)
}
