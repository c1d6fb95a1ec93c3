#!/usr/bin/env bash
# Installs everything the project needs, from the lockfile and the pinned Python requirements.
# Quick when nothing changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

node_stamp=node_modules/.installed-package-lock.json
if [ ! -f "$node_stamp" ] || ! cmp -s package-lock.json "$node_stamp"; then
  echo "install: npm ci (from package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$node_stamp"
fi

bash scripts/python-env.sh
.venv/bin/python scripts/install_jars.py
