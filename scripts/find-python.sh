# shellcheck shell=bash
# daskhub_find_python prints the path of a Python >= 3.12 that can create a
# virtualenv (ansible-core 2.21 needs 3.12). Search order: $DASKHUB_PYTHON,
# versioned and plain python3 on PATH, pyenv installs, then
# $DASKHUB_PYTHON_DIRS (default: /usr/local/bin /usr/bin). pyenv shims are
# skipped: they resolve by directory and can hand back an older interpreter.
daskhub_python_ok() {
  "$1" - <<'PY' >/dev/null 2>&1
import sys
if sys.version_info < (3, 12):
    raise SystemExit(1)
import ensurepip, venv  # noqa: F401  Debian ships these in python3-venv
PY
}

# daskhub_venv_made_from VENV PYTHON: whether VENV was made from PYTHON (a
# path or a command name; both resolved, so a link names its target).
daskhub_venv_made_from() {
  local want have
  want=$(command -v "$2") || return 1
  have=$("$1/bin/python" -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null) ||
    return 1
  [ "$have" = "$(realpath "$want")" ]
}

daskhub_find_python() {
  local candidate resolved seen=" " too_old="" no_venv=""
  local -a candidates=()
  [ -n "${DASKHUB_PYTHON:-}" ] && candidates+=("$DASKHUB_PYTHON")
  for name in python3.14 python3.13 python3.12 python3; do
    resolved=$(command -v "$name" 2>/dev/null) || continue
    case "$resolved" in */.pyenv/shims/*) continue ;; esac
    candidates+=("$resolved")
  done
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    [ -x "$candidate" ] && candidates+=("$candidate")
  done
  for dir in ${DASKHUB_PYTHON_DIRS:-/usr/local/bin /usr/bin}; do
    for candidate in "$dir"/python3.1[2-9]; do
      [ -x "$candidate" ] && candidates+=("$candidate")
    done
  done
  for candidate in "${candidates[@]}"; do
    case "$seen" in *" $candidate "*) continue ;; esac
    seen="$seen$candidate "
    if daskhub_python_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
    if "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 12))' 2>/dev/null; then
      no_venv="$no_venv $candidate"
    else
      too_old="$too_old $candidate"
    fi
  done
  {
    echo "bootstrap: no Python >= 3.12 with the venv module was found."
    [ -n "$too_old" ] && echo "  too old:$too_old"
    [ -n "$no_venv" ] && echo "  missing the venv/ensurepip module:$no_venv"
    echo "  Debian 13 / Ubuntu 24.04: apt-get install python3 python3-venv"
    echo "  elsewhere: install Python 3.12 or later, or set DASKHUB_PYTHON=/path/to/python3.12"
  } >&2
  return 1
}
