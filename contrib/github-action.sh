#!/usr/bin/env bash
# The step of action.yml: installs the binary named by the inputs (checksum checked) or
# leaves contrib/haproxide-check to build one, then checks the files with GitHub
# annotations (`--format github`).
set -euo pipefail
if [ -n "${INPUT_BINARY_URL:-}" ]; then
    if [ -z "${INPUT_BINARY_SHA256:-}" ]; then
        echo "::error title=haproxide::binary-sha256 is required with binary-url"
        exit 1
    fi
    dir=${RUNNER_TEMP:-/tmp}/haproxide-bin
    mkdir -p "$dir"
    curl -sSfL -o "$dir/haproxide" "$INPUT_BINARY_URL"
    if ! echo "$INPUT_BINARY_SHA256  $dir/haproxide" | sha256sum -c --quiet; then
        echo "::error title=haproxide::the binary at $INPUT_BINARY_URL does not have the SHA-256 given"
        exit 1
    fi
    chmod +x "$dir/haproxide"
    export HAPROXIDE=$dir/haproxide
fi
# Blanks and new lines separate both inputs (no quoting: options and paths have no blanks).
read -r -d '' -a args <<< "${INPUT_ARGS:-}" || true
read -r -d '' -a files <<< "${INPUT_FILES:-}" || true
if [ ${#files[@]} -eq 0 ]; then
    echo "::error title=haproxide::no configuration file given (input 'files')"
    exit 1
fi
exec bash "${GITHUB_ACTION_PATH:?}/contrib/haproxide-check" --format github ${args[@]+"${args[@]}"} "${files[@]}"
