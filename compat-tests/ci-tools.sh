#!/usr/bin/env bash
# Installs the consumers tests/ci_report.rs checks `-c --format …` against, into
# target/ci-tools (kept between runs): a Python virtualenv with jsonschema (SARIF checked
# against the SARIF 2.1.0 schema), junitparser (JUnit XML read as GitLab/Jenkins-style
# tools read it), pre-commit (the hook in .pre-commit-hooks.yaml run for real), and the SARIF 2.1.0 schema itself, taken from the serde-sarif crate on
# crates.io (checksum pinned) since the machines reach package registries only.
#   bash compat-tests/ci-tools.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=target/ci-tools
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c 'import jsonschema, junitparser, pre_commit, yaml' 2>/dev/null; then
    rm -rf "$dir/venv"
    /usr/bin/python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install -q 'jsonschema==4.23.0' 'junitparser==3.2.0' 'pre-commit==4.0.1'
fi
schema=$dir/sarif-schema-2.1.0.json
if [ ! -s "$schema" ]; then
    crate=serde-sarif-0.7.0
    sum=b39432f20e354de863582451c54bac03ffa63f7dd77f8b1e0ddee211950ab2a2
    tmp=$(mktemp -d)
    curl -sSfL -o "$tmp/c.crate" "https://static.crates.io/crates/serde-sarif/$crate.crate"
    echo "$sum  $tmp/c.crate" | sha256sum -c --quiet
    tar -xzf "$tmp/c.crate" -C "$tmp" "$crate/src/schema.json"
    grep -q 'sarif-schema-2.1.0.json' "$tmp/$crate/src/schema.json"
    mv "$tmp/$crate/src/schema.json" "$schema"
    rm -rf "$tmp"
fi
