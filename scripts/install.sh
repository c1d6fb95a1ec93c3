#!/usr/bin/env bash
# Installs everything the project needs, from the lockfile and the pinned Python requirements.
# Quick when nothing changed since the last install. The Node packages and the Python environment
# (with the JVM jars) are fetched side by side: each mostly waits on its registry.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side-by-side.sh

install_node() {
  local stamp=node_modules/.installed-package-lock.json
  if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
    echo "install: npm ci (from package-lock.json)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
  fi
}

install_python() {
  bash scripts/python-env.sh
  .venv/bin/python scripts/install_jars.py
}

install_node &
node=$!
install_python &
python=$!
wait_for_all "installing the Node packages" "$node" "installing the Python environment and jars" "$python"
