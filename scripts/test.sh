#!/usr/bin/env bash
# Runs every check and test: types, lint and format, the TypeScript suite (Pulumi mocks, config,
# Lambda code against moto) and the Python suite (Glue job on local Spark, against moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side-by-side.sh

bash scripts/install.sh

# Two lanes side by side, each line marked with its lane: the Python suite, the longest, starts at
# once; the other lane runs the type and lint checks and then the TypeScript suite. Much of each
# lane's time is waiting (on moto, on Spark's scheduler, on child processes), so together they take
# little more than the Python suite alone.
echo "== Python tests [py], and checks then TypeScript tests [ts], side by side" >&2
(.venv/bin/python -m pytest -q --durations=15 tests-py 2>&1 | sed -u 's/^/[py] /') &
python=$!
( (
  set -euo pipefail
  echo "== typecheck"
  npx tsc --noEmit -p .
  echo "== lint"
  npx eslint .
  npx prettier --check . >/dev/null
  .venv/bin/ruff check glue-scripts tests-py scripts local
  .venv/bin/ruff format --check glue-scripts tests-py scripts local
  echo "== TypeScript tests"
  npx mocha
) 2>&1 | sed -u 's/^/[ts] /') &
typescript=$!
wait_for_all "checks or TypeScript tests" "$typescript" "Python tests" "$python"
echo "== all checks and tests passed" >&2
