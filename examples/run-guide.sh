#!/usr/bin/env bash
# Runs the EMQX guide's cluster on this machine, on loopback only:
#   mosquitto on 127.0.0.110:11883 (the broker),
#   examples/nodes.cfg: two "nodes" on 127.0.0.108/109:1883 that accept the PROXY v2 header,
#   examples/guide.cfg: Debian's stock config plus the guide's sections, binds moved from
#   *:1883/*:18083 to 127.0.0.1 (a wildcard bind cannot share port 1883 with the nodes).
#   with --tls also examples/tls.cfg: TLS on 127.0.0.1:8883, mutual TLS on :8884 (the
#   device CN reaches the nodes), an MQTT CONNECT/CONNACK health check on :1885.
# Then try:  mosquitto_sub -h 127.0.0.1 -t 'devices/#' -v   and
#            mosquitto_pub -h 127.0.0.1 -t devices/d1 -m hello
#   TLS:     mosquitto_pub -h 127.0.0.1 -p 8883 --cafile examples/certs/ca.crt -t devices/d1 -m hi
#   mTLS:    add --cert examples/certs/device.crt --key examples/certs/device.key and -p 8884
# The nodes' log lines show each device's own address and port. Ctrl-C stops everything.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${HAPROXIDE:-$here/../target/release/haproxide}
[ -x "$bin" ] || (cd "$here/.." && cargo build --release -q)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "install mosquitto (apt-get install mosquitto mosquitto-clients)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap stop EXIT INT TERM

printf 'listener 11883 127.0.0.110\nallow_anonymous true\n' > "$tmp/mosquitto.conf"
/usr/sbin/mosquitto -c "$tmp/mosquitto.conf" & pids+=($!)
"$bin" -db -f "$here/nodes.cfg" & pids+=($!)
sed 's/bind \*:/bind 127.0.0.1:/' "$here/guide.cfg" > "$tmp/guide.cfg"
"$bin" -db -f "$tmp/guide.cfg" & pids+=($!)
if [ "${1:-}" = "--tls" ]; then
    bash "$here/certs.sh"
    (cd "$here/.." && exec "$bin" -db -f examples/tls.cfg) & pids+=($!)
fi
echo "guide cluster running: MQTT on 127.0.0.1:1883 (Ctrl-C to stop)" >&2
wait
