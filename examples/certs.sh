#!/usr/bin/env bash
# Makes throw-away certificates for examples/tls.cfg in examples/certs/ (not committed):
# a test CA, the broker certificate bundle as the EMQX guide builds it
# (cat emqx.crt emqx.key > emqx.pem; CN emqx.test, SAN 127.0.0.1) and a device
# certificate with CN "device-42" for mutual TLS.
set -euo pipefail
d=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/certs
mkdir -p "$d"
cd "$d"
[ -f ca.crt ] && [ -f emqx.pem ] && [ -f device.crt ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=example-ca -keyout ca.key -out ca.crt 2>/dev/null
mk() { # NAME CN SAN
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
mk emqx emqx.test "DNS:emqx.test,IP:127.0.0.1"
mk device device-42 "DNS:device-42"
cat emqx.crt emqx.key > emqx.pem
