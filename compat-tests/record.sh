#!/usr/bin/env bash
# Record what a reference haproxy says about every testdata/*.cfg under `-c`.
#
# Usage: bash compat-tests/record.sh [HAPROXY_BINARY] [NAME.cfg ...]
#   HAPROXY_BINARY  defaults to /usr/sbin/haproxy (the 2.6.12 oracle)
#   NAME.cfg ...    optional subset of testdata files (default: all testdata/*.cfg)
#
# For each testdata/NAME.cfg it runs, with cwd = testdata/:
#   env -i PATH=... [KEY=VALUE lines of NAME.env] HAPROXY -c -f NAME.cfg </dev/null
# (30 s timeout) and writes testdata/NAME.haproxy:
#   exit: N
#   <stderr lines>
#   <stdout lines>
# with "(digits)" PIDs after the level tag replaced by "(PID)" and the
# "[NOTICE] ... haproxy version is" / "path to executable is" lines removed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testdata=$(cd "$here/../testdata" && pwd)

bin=${1:-/usr/sbin/haproxy}
[ $# -gt 0 ] && shift
case $bin in
    */*) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;;
    *) bin=$(command -v "$bin") || { echo "record.sh: $1: not found" >&2; exit 1; } ;;
esac
[ -x "$bin" ] || { echo "record.sh: $bin is not executable" >&2; exit 1; }

cd "$testdata" || exit 1

if [ $# -gt 0 ]; then
    files=()
    for f in "$@"; do files+=("$(basename "$f")"); done
else
    files=(*.cfg)
    # Full run: drop recordings whose .cfg no longer exists.
    for rec in *.haproxy; do
        [ -f "$rec" ] && [ ! -f "${rec%.haproxy}.cfg" ] && rm -f "$rec"
    done
fi

PATH_VALUE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

normalise() {
    sed -e 's/^\(\[[A-Z]*\] *\)([0-9][0-9]*)/\1(PID)/' \
        -e '/^\[NOTICE\] *(PID) : haproxy version is /d' \
        -e '/^\[NOTICE\] *(PID) : path to executable is /d'
}

count=0
for cfg in "${files[@]}"; do
    [ -f "$cfg" ] || { echo "record.sh: no such file testdata/$cfg" >&2; continue; }
    name=${cfg%.cfg}
    envs=("PATH=$PATH_VALUE")
    if [ -f "$name.env" ]; then
        # One KEY=VALUE per line, taken literally (no quote removal); blank lines
        # and lines starting with '#' are ignored. A trailing CR is stripped.
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line%$'\r'}
            case $line in ''|'#'*) continue ;; esac
            envs+=("$line")
        done < "$name.env"
    fi
    timeout 30 env -i "${envs[@]}" "$bin" -c -f "$cfg" \
        </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    {
        echo "exit: $rc"
        cat "$tmp/err" "$tmp/out" | normalise
    } > "$name.haproxy"
    count=$((count + 1))
done
echo "record.sh: recorded $count file(s) with $bin" >&2
