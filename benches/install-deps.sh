#!/usr/bin/env bash
# Installs what the tests and the benchmarks run beside haproxide (Debian packages):
# haproxy (the oracle), openssl, mosquitto and its clients, nginx with its stream module,
# iproute2 (ss shows which sockets have TCP keep-alive on), wrk (HTTP load), curl,
# libcrypt-dev (the crypt(3) haproxide links),
# python3-venv and git (the CI report consumers, compat-tests/ci-tools.sh, and the
# pre-commit hook's test).
# As root it installs what is missing; otherwise it names what is missing and fails.
# Packaged services that start on install are stopped (by the PID they recorded): tests
# and benchmarks start their own instances on loopback.
#   bash benches/install-deps.sh [NAME-FOR-MESSAGES]
set -euo pipefail
who=${1:-install-deps}
need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/mosquitto_pub ] || need+=(mosquitto-clients)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
# tests/server_socket_options.rs compares the proxies' socket options as strace sees them.
command -v strace >/dev/null 2>&1 || need+=(strace)
# The HTTP load generator of benches/http.sh.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)
# tests/ci_report.rs runs pre-commit in a scratch git repository.
command -v git >/dev/null 2>&1 || need+=(git)
# haproxide links the system's crypt(3) (libxcrypt, as haproxy does) for userlist
# passwords; libc6-dev, which any Rust build needs, usually brings it.
case "$(cc -print-file-name=libcrypt.so 2>/dev/null)" in /*) ;; *) need+=(libcrypt-dev) ;; esac
# compat-tests/ci-tools.sh makes a Python virtualenv for the CI report consumers.
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "$who: missing ${need[*]}; run as root or install them (apt-get install ${need[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Packages may start their services on install; the tests start their own instances on
# loopback ports, so stop the packaged ones (by the PID they recorded).
for pidfile in /run/mosquitto/mosquitto.pid /run/nginx.pid /run/haproxy.pid; do
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill "$(cat "$pidfile")" || true
    fi
done

