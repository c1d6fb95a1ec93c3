#!/usr/bin/env bash
# Runs every check and test: types, lint and format, the TypeScript suite (Pulumi mocks, config,
# Lambda code against moto) and the Python suite (Glue job on local Spark, against moto).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh

echo "== typecheck" >&2
npx tsc --noEmit -p .
echo "== lint" >&2
npx eslint .
npx prettier --check . >/dev/null
.venv/bin/ruff check glue-scripts tests-py scripts local
.venv/bin/ruff format --check glue-scripts tests-py scripts local
echo "== TypeScript tests" >&2
npx mocha
echo "== Python tests" >&2
.venv/bin/python -m pytest -q --durations=15 tests-py
