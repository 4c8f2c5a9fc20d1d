#!/usr/bin/env bash
# Creates .venv with a Python >= 3.12 and installs the locked dependencies.
# Usage: scripts/bootstrap.sh [base|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
group="${1:-dev}"
venv=".venv"

is_suitable() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local candidates=()
    [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
    candidates+=(python3.13 python3.12 python3.14)
    if command -v pyenv >/dev/null 2>&1; then
        local v
        for v in 3.13 3.12 3.14; do
            local prefix
            prefix=$(pyenv prefix "$v" 2>/dev/null | head -n 1) || true
            [ -n "$prefix" ] && candidates+=("$prefix/bin/python3")
        done
    fi
    candidates+=(python3 python)
    local c
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && is_suitable "$c"; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

if [ -x "$venv/bin/python" ] && ! is_suitable "$venv/bin/python"; then
    echo "bootstrap: $venv has an old Python; recreating it" >&2
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    if ! python=$(find_python); then
        echo "bootstrap: Python 3.12 or newer is required and none was found." >&2
        echo "bootstrap: install one (e.g. 'pyenv install 3.13') or set PYTHON=/path/to/python3.12." >&2
        exit 1
    fi
    echo "bootstrap: creating $venv with $python ($("$python" -V 2>&1))"
    "$python" -m venv "$venv"
fi

lock="requirements/$group.txt"
stamp="$venv/.installed-$group"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    echo "bootstrap: installing $lock"
    # This machine's pip config names local indexes that may not exist: hide only that noise.
    "$venv/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$lock" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    touch "$stamp"
fi
