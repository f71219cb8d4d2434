#!/usr/bin/env bash
# Every benchmark, side by side with haproxy, in one run: TCP (connections/s, bulk with and
# without haproxy's splice, idle RSS at 1k/9k), TLS (full and resumed handshakes, idle RSS
# at 9k), MQTT (latency, CONNECT rate), -c and reload times. Loopback only, every load
# bounded in time. Prints the tables and writes them with the machine and versions to
# benches/results.md, and the ratios against the targets to benches/ratios.svg.
#   bash benches/run.sh [ROUNDS] [SECS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}; secs=${2:-5}
cd "$root"
for t in haproxy:/usr/sbin/haproxy mosquitto:/usr/sbin/mosquitto openssl:/usr/bin/openssl taskset:/usr/bin/taskset; do
    [ -x "${t#*:}" ] || { echo "benches/run.sh: ${t%%:*} is missing (./run-tests installs the test tools as root)" >&2; exit 1; }
done
out=benches/results.md
{
    echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- $(/usr/sbin/haproxy -v | head -1)"
    echo "- haproxide $(git describe --always --dirty 2>/dev/null || echo '?'), rustc $(rustc -V | awk '{print $2}')"
    echo "- commands: bash benches/tcp.sh $rounds $secs; bash benches/tls.sh $rounds $secs; bash benches/mqtt.sh $rounds $secs; bash benches/check-time.sh; bash benches/reload-time.sh"
    echo
    echo "## TCP"; echo; bash benches/tcp.sh "$rounds" "$secs"; echo
    echo "## TLS"; echo; bash benches/tls.sh "$rounds" "$secs"; echo
    echo "## MQTT"; echo; bash benches/mqtt.sh "$rounds" "$secs"; echo
    echo "## Configuration check and reload"; echo; bash benches/check-time.sh; echo; bash benches/reload-time.sh
} | tee "$out"

# The chart: one bar per table row that has a target (issue #8), the ratio haproxide/haproxy,
# a line at 1 and a mark at the target. Green when the target is met.
awk -F'|' '
function target(m) {
    if (m ~ /connections\/s per proxy core/) return ">=1.3"
    if (m ~ /bulk Gbit\/s per proxy core.*splice/) return ">=1.0"
    if (m ~ /ECDSA P-256 TLS 1.3 full handshakes/) return ">=2.5"
    if (m ~ /RSA-2048 TLS 1.3 full handshakes/) return ">=1.3"
    if (m ~ /RSS bytes per idle TLS connection/) return "<=0.33"
    if (m ~ /RSS bytes per idle connection/) return "<=0.6"
    if (m ~ /latency p50/) return "<=0.8"
    if (m ~ /^ *-c on/) return "<=0.5"
    return ""
}
NF >= 5 && $2 !~ /metric|---/ {
    m = $2; gsub(/^ +| +$/, "", m); t = target(m)
    if (t == "") next
    r = $5 + 0; n++; name[n] = m; ratio[n] = r; tgt[n] = substr(t, 3) + 0; dir[n] = substr(t, 1, 2)
}
END {
    w = 900; row = 34; top = 40; h = top + n * row + 40; scale = 250
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h
    printf "<text x=\"10\" y=\"22\" font-size=\"15\">haproxide / haproxy (bars), issue #8 targets (black marks); right of 1 is more</text>\n"
    x0 = 380
    for (i = 1; i <= n; i++) {
        y = top + (i - 1) * row
        met = (dir[i] == ">=") ? ratio[i] >= tgt[i] : ratio[i] <= tgt[i]
        printf "<text x=\"10\" y=\"%d\">%s</text>\n", y + 17, name[i]
        printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n", x0, y + 4, ratio[i] * scale / 3 * 1.0, met ? "#3a3" : "#d73"
        printf "<text x=\"%.1f\" y=\"%d\">%.2f (%s %s)</text>\n", x0 + ratio[i] * scale / 3 + 6, y + 19, ratio[i], dir[i], tgt[i]
        printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"black\" stroke-width=\"3\"/>\n", x0 + tgt[i] * scale / 3, x0 + tgt[i] * scale / 3, y + 1, y + 27
    }
    printf "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"4\"/>\n", x0 + scale / 3, x0 + scale / 3, top - 5, top + n * row
    printf "<text x=\"%d\" y=\"%d\" fill=\"#888\">1.0</text>\n", x0 + scale / 3 - 8, top + n * row + 16
    printf "</svg>\n"
}' "$out" > benches/ratios.svg
echo "wrote $out and benches/ratios.svg"
