#!/usr/bin/env bash
# Runs every cargo-fuzz target for RUNS inputs each (default 10,000,000), seeded from
# testdata/ and hand-made PROXY headers and argv lines. Exits non-zero on the first crash;
# libFuzzer leaves the input in fuzz/artifacts/<target>/, to become a regression test.
#
#   fuzz/run.sh            # the long run the README documents (10 million per target)
#   fuzz/run.sh 20000      # the short bounded run of ./run-tests
#
# libFuzzer needs nightly flags; RUSTC_BOOTSTRAP lets the one stable toolchain take them.
# No sanitizer: the crate forbids unsafe code outside src/sys.rs, which no target reaches,
# so ASan would find nothing the panics and the asserts do not, at a third of the speed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-10000000}
# A bound in time too, so a slow target cannot hold CI: 1 s per 500 runs, at least 60 s
# (the config target runs at 2,000-3,000 inputs/s on one core here).
secs=$(( runs / 500 > 60 ? runs / 500 : 60 ))
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2
export RUSTC_BOOTSTRAP=1

seeds=fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds/config" "$seeds/proxy_header" "$seeds/argv" "$seeds/http1"
cp testdata/*.cfg "$seeds/config/"
printf 'PROXY TCP4 127.0.0.1 127.0.0.2 1234 1883\r\n' >"$seeds/proxy_header/v1-tcp4"
printf 'PROXY TCP6 ::1 ::1 1234 1883\r\nMQTT' >"$seeds/proxy_header/v1-tcp6"
printf 'PROXY UNKNOWN\r\n' >"$seeds/proxy_header/v1-unknown"
sig='\r\n\r\n\0\r\nQUIT\n'
printf "${sig}"'\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x02\x04\xd2\x07\x5b' >"$seeds/proxy_header/v2-tcp4"
printf "${sig}"'\x20\x00\x00\x00' >"$seeds/proxy_header/v2-local"
printf "${sig}"'\x21\x11\x00\x1b\x7f\x00\x00\x01\x7f\x00\x00\x02\x04\xd2\x07\x5b\x20\x00\x08\x01\x00\x00\x00\x00\x22\x00\x01x' >"$seeds/proxy_header/v2-ssl-cn"
printf -- '-c\0-f\0a.cfg' >"$seeds/argv/check"
printf -- '-Ws\0-f\0/etc/haproxy/haproxy.cfg\0-p\0/run/haproxy.pid\0-S\0/run/haproxy-master.sock' >"$seeds/argv/debian"
printf -- '-f\0a.cfg\0-sf\0123\0456\0-x\0/run/s.sock' >"$seeds/argv/sf"
printf -- '-vv' >"$seeds/argv/vv"
# http1: the first byte picks request (0), response (1) or chunked body (2).
printf '\0GET /a?x=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 3\r\n\r\nabc' >"$seeds/http1/request"
printf '\0POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n' >"$seeds/http1/request-te"
printf '\1HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTe: trailers\r\n\r\nok' >"$seeds/http1/response"
printf '\1HTTP/1.0 204 No Content\r\nContent-Length: 0\r\n\r\n' >"$seeds/http1/response-204"
printf '\2' >"$seeds/http1/chunked-prefix"
printf '3;e=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n' >>"$seeds/http1/chunked-prefix"

for t in config proxy_header argv http1; do
    echo "fuzz/run.sh: $t, $runs runs (at most $secs s)"
    mkdir -p "fuzz/corpus/$t"
    log="fuzz/corpus/$t.log"
    st=0
    cargo fuzz run --sanitizer none "$t" "fuzz/corpus/$t" "$seeds/$t" -- \
        -runs="$runs" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || st=$?
    grep -E '^stat::number_of_executed_units|^Done' "$log" || true
    if [ "$st" -ne 0 ]; then
        tail -40 "$log" >&2
        echo "fuzz/run.sh: $t failed (status $st); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
