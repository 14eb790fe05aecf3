#!/usr/bin/env bash
# Set up everything the tests need, then run lint, type checks and the whole test suite.
# Safe to run again. Pytest's "no tests collected" (exit 5) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev || exit 1
.venv/bin/ruff check assistant scripts tests || exit 1
.venv/bin/mypy || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "No tests were collected: failing." >&2
  exit 1
fi
exit "$status"
