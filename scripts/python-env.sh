#!/usr/bin/env bash
# Creates (or refreshes) the project's Python virtual environment in .venv.
# Quick when nothing changed: it reinstalls only when requirements-dev.txt differs from the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null 2>&1 || python_bin=python3
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "python-env: Python 3.11 is required (Glue 5.1 runs 3.11); found $("$python_bin" --version 2>&1)" >&2
  exit 1
fi

stamp=.venv/.requirements-installed
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && cmp -s requirements-dev.txt "$stamp"; then
  exit 0
fi

echo "python-env: installing pinned Python packages into .venv" >&2
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
cp requirements-dev.txt "$stamp"
