#!/usr/bin/env bash
# Set up everything the tests need, then run lint, type checks and the whole test suite.
# Safe to run again. Pytest's "no tests collected" (exit 5) counts as a failure.
#
# With no arguments the suite runs as two pytest runs side by side: the real-time tests
# (marker `realtime`: the virtual room, the benchmark's and the soak's smoke runs) at
# full priority, and everything else in the CPU time the room leaves idle: scheduled
# SCHED_IDLE (`chrt --idle`, nice 19 where that is refused) and at idle I/O priority.
# The room tests wait on the clock most of the time, so together they take about as
# long as the room alone. At nice 10 the others still took enough of two cores for the
# room's output to underrun and its listener to fall 1-2 s behind: a "stop" or "no" said
# over the assistant then went unheard in 3 of 17 runs of two room tests (0 of 17 with
# the others in idle time). With arguments: one ordinary pytest run with them.
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

in_idle_time() {  # run a command only in the CPU and disk time nothing else wants
  if chrt --idle 0 true 2>/dev/null; then
    ionice -c 3 -t chrt --idle 0 "$@"
  else
    ionice -c 3 -t nice -n 19 "$@"
  fi
}

log=$(mktemp)
in_idle_time .venv/bin/python -m pytest -m "not realtime" -p no:cacheprovider >"$log" 2>&1 &
others=$!
echo "The tests that do not need real time run alongside, in idle time; their report follows."
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
