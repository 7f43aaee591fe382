#!/bin/sh
# Creates the virtual environment and installs the app (editable).
# usage: scripts/venv.sh VENV_DIR [run|test]
#   run   only what the app needs at run time (`make run`)
#   test  the same plus the test, lint and type-check tools (`make test`; the default)
set -eu
venv=${1:-.venv}
mode=${2:-test}
py=${PYTHON:-python3}
case "$mode" in
  run) target="." ;;
  test) target=".[test]" ;;
  *) echo "usage: $0 VENV_DIR run|test" >&2; exit 2 ;;
esac

if ! command -v "$py" >/dev/null 2>&1; then
  echo "venv: $py not found; install Python 3.11 or newer (apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "venv: $("$py" --version 2>&1) is too old; Python 3.11 or newer is needed." >&2
  echo "venv: point PYTHON at a newer one, e.g. make test PYTHON=python3.12" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target"
