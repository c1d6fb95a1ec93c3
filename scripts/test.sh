#!/usr/bin/env bash
# Runs every check and test: types, lint and format, the TypeScript suite (Pulumi mocks, config,
# Lambda code against moto) and the Python suite (Glue job on local Spark, against moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side-by-side.sh

bash scripts/install.sh

# Two lanes side by side, each line marked with what it runs. Much of each lane's time is waiting
# (on moto, on Spark's scheduler, on child processes), so together they take little more than the
# longer one. The Python suite, the longest, starts at once; the other lane runs the type and lint
# checks, the TypeScript suite, and then the lake's Spark tests (test_lake.py), which ends the two
# lanes at about the same time. Each pytest run starts its own moto server and Spark session.
echo "== Python tests [py]; beside them checks, TypeScript tests [ts] and the lake tests [py-lake]" >&2
lake_tests=tests-py/test_lake.py
(.venv/bin/python -m pytest -q --durations=15 --ignore="$lake_tests" tests-py 2>&1 | sed -u 's/^/[py] /') &
python_lane=$!
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
) 2>&1 | sed -u 's/^/[ts] /' &&
  .venv/bin/python -m pytest -q -p no:cacheprovider --durations=5 "$lake_tests" 2>&1 | sed -u 's/^/[py-lake] /') &
checks_lane=$!
wait_for_all "checks, TypeScript tests or lake tests" "$checks_lane" "Python tests" "$python_lane"
echo "== all checks and tests passed" >&2
