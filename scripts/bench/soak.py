"""The soak run (`scripts/benchmark.py --soak MINUTES`): a whole evening's session in the room.

The full routine at real speed (`--time-scale 1`) in the benchmark's private PulseAudio
room, for MINUTES (default 20) or until the routine ends, whichever comes first.

- A TV next door: ordinary speech plays all along as a second paplay stream, looped: the
  LibriVox read speech of pocketsphinx-testdata, then the tests' ordinary sentences (Piper
  joe and two espeak-ng voices; scripts/stream_metrics.py's "synthetic sentences"), 1 s
  apart, scaled to TV_DBFS RMS over its speech (the room's null sink passes it as is,
  so that is its level at the microphone).
- Every 2-3 minutes (seeded; runs under 10 minutes shrink the gaps in proportion, at
  least MIN_GAP_S) a real person says "stop": a dev clip, a different speaker each time,
  at its recorded level (-31 to -7 dBFS over the word, median -21), preferring speakers
  the short-word classifier never heard. In turn over the assistant's speech (once the
  room has held its voice for TALK_FOR_S, then 0-0.5 s more) and in quiet (its voice
  gone for QUIET_S, the TV talking on), never while a line is held. Once the session's
  `stopped` state shows within STOP_WAIT_S, "resume" follows 3-5 s later, when the
  assistant has finished its answer, in the simulated user's voice (Piper joe, about
  -15 dBFS: there is no "resume" among the dev clips). No retries: a missed stop is
  counted and nothing more is said; a missed resume is counted, then typed so the
  session goes on (typing is no recognition).
- RSS and CPU of the program and its recognizer's process (`bench.resources.proc_usage`)
  every USAGE_EVERY_S; "start" is the first sample from one minute in (a third of the
  run when that is shorter), CPU the mean from there on.
- The echo canceller's figures from the session's `echo_stats` events (every minute and
  at the end): its reduction per minute, and the output underruns.

Scoring. A voice `command` event is explained when it falls in a user window (a stop clip
from its start to STOP_WAIT_S after its end, a "resume" likewise); in a window but not
what was said, it is `misheard`. Every other voice command is a false activation; those
within 3 s after the room held the assistant's voice (above TALKING_DBFS) are also
self_triggers (the benchmark's name for commands heard in its own voice). A `barge_in`
outside every user window is a false hold. A session halted by something nobody said is
resumed by typing after HALT_GRACE_S, so one false activation costs one, not the rest of
the run.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from bench.metric import json_default
from bench.room_bench import room_bench
from bench.soak_run import run_soak
from bench.soak_score import print_report, report


def main(args: argparse.Namespace) -> int:
    """`benchmark.py --soak MINUTES`: run, print, and write --json if asked."""
    import pytest

    rng = random.Random(args.seed)
    started = time.monotonic()
    print(f"soak: {args.soak:g} minutes of the full routine in the room...", flush=True)
    try:
        with room_bench(args, rng) as bench:
            soak, run, usage, tail = run_soak(bench, args.soak)
            out = report(soak, run, usage, tail)
    except pytest.skip.Exception as exc:  # Room.start: PulseAudio missing or not starting
        print(f"no room, so no soak: {exc}")
        return 2
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    out["seed"] = args.seed
    out["user_voice"] = args.user_voice.spec
    print_report(out)
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2, default=json_default))
    return 0
