# Sourced by bin/mmd and bin/test: make sure the project's virtualenv exists and holds
# the current dependencies. First run installs; later runs only check a stamp file.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMD_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

mmd_bootstrap() {  # $1: pip extras ("" or "test")
    local extras="$1"
    local stamp="$VENV/.mmd-installed${extras:+-$extras}"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "mmd: needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
            exit 1
        fi
        echo "mmd: creating virtualenv in $VENV" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ]; then
        echo "mmd: installing dependencies${extras:+ ($extras)} into $VENV (first run only)" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -e "$ROOT${extras:+[$extras]}" >&2
        touch "$stamp"
    fi
}
