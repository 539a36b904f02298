# Sourced by bin/mmd and bin/test: make sure the project's virtualenv exists and holds
# the locked dependencies. First run installs; later runs only check a stamp file.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMD_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

mmd_bootstrap() {  # $1: "" (what mmd runs on) or "test" (that plus the test tools)
    local extras="$1"
    local lock="$ROOT/requirements/${extras:-runtime}.txt"
    local stamp="$VENV/.mmd-installed${extras:+-$extras}"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "mmd: needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
            exit 1
        fi
        echo "mmd: creating virtualenv in $VENV" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ] \
        || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        echo "mmd: installing dependencies${extras:+ ($extras)} from ${lock#"$ROOT"/} into $VENV (first run only)" >&2
        # Every package at the lock's exact version, refused unless its file has a locked
        # sha256; then mmd itself, editable, built with the locked setuptools (no isolated
        # build environment, which would fetch an unlocked one). pip's output goes to a log,
        # shown only when it fails.
        local log="$VENV/.mmd-install.log"
        if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --require-hashes -r "$lock" \
                && "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps --no-build-isolation \
                    -e "$ROOT"; } >"$log" 2>&1; then
            cat "$log" >&2
            echo "mmd: installing from ${lock#"$ROOT"/} failed (log above, kept in $log)" >&2
            exit 1
        fi
        touch "$stamp"
    fi
}
