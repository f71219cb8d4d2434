#!/usr/bin/env bash
# Live comparison of `-c` between the real haproxy and haproxide.
#
#   bash compat-tests/run.sh [HAPROXIDE_BINARY]
#
# 1. every testdata/*.cfg through both binaries: same exit code, and every located ALERT
#    of haproxy named by haproxide ("x*" files use what haproxide does not implement: it
#    must exit 1 with an ALERT saying so);
# 2. the shared real-world corpus (../shared/corpus/check.sh), when it is there (the summary
#    line says when it is not): every disagreement must be listed with its reason in
#    compat-tests/corpus-differences.txt, and nothing else;
# 3. the guide's TLS variant with certificates made by openssl now: a good PEM, a PEM
#    without key, a key that does not match, a missing file.
# Last line: "N passed, M failed". Only ever runs the binaries with -c.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-$root/target/release/haproxide}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
ref=${HAPROXY:-/usr/sbin/haproxy}
[ -x "$bin" ] || { echo "compat-tests: $bin not built" >&2; exit 1; }
[ -x "$ref" ] || { echo "compat-tests: $ref missing (apt-get install haproxy)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "compat-tests: openssl missing" >&2; exit 1; }
# The corpus is an extra comparison: it runs when shared/ sits beside the checkout, and the
# summary line says so plainly when it does not.
corpus=$root/../shared/corpus
corpus_note="corpus compared"
[ -x "$corpus/check.sh" ] || corpus_note="corpus ABSENT ($corpus/check.sh not found): not compared"

pass=0; fail=0
ok() { pass=$((pass+1)); }
ko() { fail=$((fail+1)); echo "FAIL: $*"; }
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# run BIN NAME DIR -> sets rc, out
run() {
    local b=$1 n=$2 d=$3 envs=()
    if [ -f "$d/$n.env" ]; then
        while IFS= read -r kv || [ -n "$kv" ]; do case $kv in ''|'#'*) continue;; esac; envs+=("$kv"); done < "$d/$n.env"
    fi
    out=$(cd "$d" && env -i PATH=$CLEAN_PATH "${envs[@]}" timeout 30 "$b" -c -f "$n.cfg" 2>&1 </dev/null); rc=$?
}
alerts() { grep '\[ALERT\]' | grep -oE "$1\.cfg:[0-9]+" | sort -u; }

# 1. testdata
for cfg in "$root"/testdata/*.cfg; do
    n=$(basename "$cfg" .cfg)
    run "$ref" "$n" "$root/testdata"; hrc=$rc; hout=$out
    run "$bin" "$n" "$root/testdata"; orc=$rc; oout=$out
    case $n in
        x*) if [ "$hrc" = 0 ] && [ "$orc" = 1 ] && grep -q "is not supported by haproxide" <<<"$oout"; then ok; else ko "$n: haproxy rc=$hrc, haproxide rc=$orc (want 1 + 'not supported')"; fi ;;
        *)  missing=""
            for l in $(alerts "$n" <<<"$hout"); do grep -qF "$l" <<<"$oout" || missing="$missing $l"; done
            if [ "$hrc" = "$orc" ] && [ -z "$missing" ]; then ok; else ko "$n: haproxy rc=$hrc, haproxide rc=$orc, unnamed alert lines:$missing"; fi ;;
    esac
done

# 2. the real-world corpus, when present
allowed=$here/corpus-differences.txt
report=""
[ -x "$corpus/check.sh" ] && report=$("$corpus/check.sh" "$bin" 2>&1)
while read -r name verdict; do
    listed=$(grep -E "^$name[[:space:]]" "$allowed" || true)
    if [ "$verdict" = DISAGREE ] && [ -z "$listed" ]; then ko "corpus $name disagrees and is not in corpus-differences.txt";
    elif [ "$verdict" = AGREE ] && [ -n "$listed" ]; then ko "corpus $name now agrees: remove it from corpus-differences.txt";
    else ok; fi
done < <(awk '$1 !~ /^#/ && NF>3 { for (i=1;i<=NF;i++) if ($i=="AGREE"||$i=="DISAGREE") print $1, $i }' <<<"$report")

# 3. the guide's TLS frontend with real certificates
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=emqx.test -keyout "$tmp/emqx.key" -out "$tmp/emqx.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other -keyout "$tmp/other.key" -out "$tmp/other.crt" 2>/dev/null
cat "$tmp/emqx.crt" "$tmp/emqx.key" > "$tmp/emqx.pem"          # as the guide builds it
cp "$tmp/emqx.crt" "$tmp/nokey.pem"
cat "$tmp/emqx.crt" "$tmp/other.key" > "$tmp/mismatch.pem"
cp "$tmp/emqx.crt" "$tmp/split.pem"; cp "$tmp/emqx.key" "$tmp/split.pem.key"
for pem in emqx nokey mismatch split absent; do
    sed "s|/opt/certs/emqx.pem|$tmp/$pem.pem|" "$here/guide-tls.cfg" > "$tmp/guide-$pem.cfg"
    run "$ref" "guide-$pem" "$tmp"; hrc=$rc; hl=$(alerts "guide-$pem" <<<"$out")
    run "$bin" "guide-$pem" "$tmp"; orc=$rc; ol=$(grep -oE "guide-$pem\.cfg:[0-9]+" <<<"$out" | sort -u)
    missing=""; for l in $hl; do grep -qF "$l" <<<"$ol" || missing="$missing $l"; done
    if [ "$hrc" = "$orc" ] && [ -z "$missing" ]; then ok; else ko "guide TLS with $pem.pem: haproxy rc=$hrc, haproxide rc=$orc, unnamed:$missing"; fi
done

echo "compat-tests: $pass passed, $fail failed; $corpus_note"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
