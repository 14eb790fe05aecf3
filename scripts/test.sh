#!/usr/bin/env bash
# Set up everything the tests need, then run lint, type checks and the whole test suite.
# Safe to run again. Pytest's "no tests collected" (exit 5) counts as a failure.
#
# With no arguments the suite runs as two pytest runs side by side: the real-time tests
# (marker `realtime`: the virtual room, the benchmark's and the soak's smoke runs) at
# full priority, and everything else at nice 10 in the CPU time the room leaves idle.
# The room tests wait on the clock most of the time, so together they take about as
# long as the room alone. With arguments: one ordinary pytest run with them.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev || exit 1
.venv/bin/ruff check assistant scripts tests || exit 1
.venv/bin/mypy || exit 1

verdict() {  # the exit status of one pytest run; "no tests collected" fails
  if [ "$1" -eq 5 ]; then
    echo "No tests were collected ($2): failing." >&2
    return 1
  fi
  return "$1"
}

if [ "$#" -gt 0 ]; then
  .venv/bin/python -m pytest "$@"
  verdict $? "pytest $*"
  exit $?
fi

kill_tree() {  # a process and everything it started (a test's programs, the early decode)
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill -KILL "$1" 2>/dev/null
}

log=$(mktemp)
nice -n 10 .venv/bin/python -m pytest -m "not realtime" -p no:cacheprovider >"$log" 2>&1 &
others=$!
echo "The tests that do not need real time run alongside, at nice 10; their report follows."
.venv/bin/python -m pytest -m realtime &
first=$!
# Stopped (Ctrl-C, SIGTERM): both runs end, with everything they started.
trap 'kill_tree "$first"; kill_tree "$others"; rm -f "$log"' EXIT
trap 'exit 130' INT TERM
wait "$first"
realtime=$?
wait "$others"
rest=$?
echo
echo "=== the other tests (not real-time) ==="
cat "$log"
status=0
verdict "$realtime" "real-time tests" || status=1
verdict "$rest" "the other tests" || status=1
exit "$status"
