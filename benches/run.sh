#!/usr/bin/env bash
# Every benchmark, side by side with haproxy, in one run: TCP (connections/s, bulk with and
# without haproxy's splice, idle RSS at 1k/9k), TLS (full and resumed handshakes, idle RSS
# at 9k), MQTT (latency, CONNECT rate), HTTP/1.1 (keep-alive, one request per
# connection, 1 MB responses, idle keep-alive RSS; nginx as a third proxy), -c and
# reload times. Loopback only, every load
# bounded in time. Prints the tables and writes them with the machine and versions to
# benches/results.md, and the ratios against the targets to benches/ratios.svg.
#   bash benches/run.sh [ROUNDS] [SECS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
# From a fresh clone: haproxy, mosquitto and openssl are installed first (as root).
bash benches/install-deps.sh benches/run.sh
out=benches/results.md
# Before tee truncates results.md, which would make every run look "-dirty".
rev=$(git describe --always --dirty 2>/dev/null || echo '?')
{
    echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    # The CPU model matters: OpenSSL and aws-lc pick different code paths per vendor.
    echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- $(/usr/sbin/haproxy -v | head -1)"
    echo "- haproxide $rev, rustc $(rustc -V | awk '{print $2}')"
    echo "- commands: bash benches/tcp.sh $rounds $secs; bash benches/tls.sh $rounds $secs; bash benches/mqtt.sh $rounds $secs; bash benches/http.sh $rounds $secs; bash benches/rules.sh $rounds $secs; bash benches/check-time.sh; bash benches/reload-time.sh"
    echo
    echo "## TCP"; echo; bash benches/tcp.sh "$rounds" "$secs"; echo
    echo "## TLS"; echo; bash benches/tls.sh "$rounds" "$secs"; echo
    echo "## MQTT"; echo; bash benches/mqtt.sh "$rounds" "$secs"; echo
    echo "## HTTP/1.1"; echo; bash benches/http.sh "$rounds" "$secs"; echo
    echo "## ACLs and rules"; echo; bash benches/rules.sh "$rounds" "$secs"; echo
    echo "## Configuration check and reload"; echo; bash benches/check-time.sh; echo; bash benches/reload-time.sh
} | tee "$out"

bash benches/chart.sh "$out" > benches/ratios.svg
echo "wrote $out and benches/ratios.svg"
