#!/usr/bin/env bash
# The ratios of a benches/run.sh result file as an SVG bar chart, each against its issue #8
# target (black mark): green when met. Writes the SVG to stdout.
#   bash benches/chart.sh benches/results.md > benches/ratios.svg
set -euo pipefail
# One bar per table row that has a target; the ratio is the table's fifth column.
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
    w = 1100; row = 34; top = 40; h = top + n * row + 40; scale = 250
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h
    printf "<text x=\"10\" y=\"22\" font-size=\"15\">haproxide / haproxy (bars) against the issue #8 targets (black marks); green: met</text>\n"
    x0 = 520
    for (i = 1; i <= n; i++) {
        y = top + (i - 1) * row
        met = (dir[i] == ">=") ? ratio[i] >= tgt[i] : ratio[i] <= tgt[i]
        printf "<text x=\"10\" y=\"%d\">%s</text>\n", y + 17, name[i]
        printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n", x0, y + 4, ratio[i] * scale / 3 * 1.0, met ? "#3a3" : "#d73"
        printf "<text x=\"%.1f\" y=\"%d\">%.2f (target %s %s)</text>\n", x0 + ratio[i] * scale / 3 + 6, y + 19, ratio[i], (dir[i] == ">=" ? "&#8805;" : "&#8804;"), tgt[i]
        printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"black\" stroke-width=\"3\"/>\n", x0 + tgt[i] * scale / 3, x0 + tgt[i] * scale / 3, y + 1, y + 27
    }
    printf "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"4\"/>\n", x0 + scale / 3, x0 + scale / 3, top - 5, top + n * row
    printf "<text x=\"%d\" y=\"%d\" fill=\"#888\">1.0</text>\n", x0 + scale / 3 - 8, top + n * row + 16
    printf "</svg>\n"
}' "$1"
