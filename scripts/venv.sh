#!/bin/sh
# Creates the virtual environment and installs the app with its test tools (editable).
# usage: scripts/venv.sh VENV_DIR
set -eu
venv=${1:-.venv}
py=${PYTHON:-python3}

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
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
