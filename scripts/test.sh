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
# The two suites run side by side: much of each one's time is waiting (on moto, on Spark's scheduler,
# on child processes), so together they take little more than the longer one. Each line says whose it is.
echo "== TypeScript tests [ts] and Python tests [py], side by side" >&2
(npx mocha 2>&1 | sed -u 's/^/[ts] /') &
typescript=$!
(.venv/bin/python -m pytest -q --durations=15 tests-py 2>&1 | sed -u 's/^/[py] /') &
python=$!
failed=()
wait "$typescript" || failed+=("TypeScript")
wait "$python" || failed+=("Python")
if ((${#failed[@]})); then
    echo "== failed: ${failed[*]} tests" >&2
    exit 1
fi
echo "== all tests passed" >&2
