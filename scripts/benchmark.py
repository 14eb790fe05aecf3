#!/usr/bin/env python3
"""Benchmark the assistant's ears and mouth: one command, a table, and a JSON file.

    .venv/bin/python scripts/benchmark.py [--engine auto|pocketsphinx|vosk] [--model PATH]
                                          [--quick] [--json FILE] [--trials N] [--seed N]
                                          [--keep DIR] [--offline-only] [--streams-only]
                                          [--user-voice SPEC] [--voice NAME]

--voice chooses the assistant's voice for every launch in the room (piper:joe, the
default, or a system voice such as espeak:en-us), so the room figures of both voices
can be set side by side.

--quick (a smoke test, about 2 minutes) uses small subsets; the full run takes about
15-20 minutes on two cores. --keep DIR keeps each launch's events.jsonl, stderr and what its
microphone heard (audio/, for `massage-assistant recognize` and scripts/replay_echo.py).

What it measures, and how, is described where it is measured (scripts/bench/):
- offline clips, the recognizer alone: accuracy, false accepts, false activations in
  ordinary speech (bench/clips.py);
- continuous streams of real clips (scripts/stream_metrics.py, through bench/streams.py;
  --streams-only runs them alone);
- the live program in a private PulseAudio room with a simulated user: stop, cut-off and
  acknowledgement latencies (bench/latencies.py), CPU and memory (bench/resources.py),
  self-triggers and the first word (bench/live.py);
- --soak MINUTES, instead of all that: a whole session with a TV talking (bench/soak.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "scripts"):  # the project, and bench/ and stream_metrics beside this
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench.clips import CONDITIONS, FAMILIES, offline_metrics  # noqa: E402
from bench.interrupt import catch_signals, interrupted  # noqa: E402
from bench.live import live_metrics  # noqa: E402
from bench.metric import Metric, fmt, json_default  # noqa: E402
from bench.streams import stream_phase, stream_table  # noqa: E402
from stream_metrics import StreamReport  # noqa: E402

from tests.harness import speech_samples as ss  # noqa: E402

# ----- putting it together ---------------------------------------------------------------

METRIC_ORDER = (
    "accuracy_stop_real", "accuracy", "accuracy_espeak", "accuracy_piper", "false_accept_rate",
    "false_activations_per_hour", "self_triggers", "false_holds", "stop_latency_p50_ms",
    "stop_latency_p95_ms", "stop_decided_p95_ms", "stop_chime_p95_ms", "stop_missed",
    "quiet_stop_p50_ms", "quiet_stop_p95_ms", "quiet_stop_missed", "cutoff_p50_ms", "cutoff_p95_ms",
    "ack_latency_p50_ms", "ack_latency_p95_ms",
    "first_word_s", "first_word_cold_s", "first_word_warm_s", "cpu_percent",
    "cpu_speaking_percent", "rss_mb",
)


def print_table(metrics: list[Metric], streams: Sequence[Metric] = ()) -> None:
    """The metrics, then the continuous-stream rows, then accuracy per intent."""
    print(f"\n{'metric':<28} {'value':>10} {'target':>10}  result   n  note")

    def line(m: Metric) -> None:
        verdict = {True: "pass", False: "FAIL", None: "-"}[m.passed]
        print(f"{m.name:<28} {fmt(m.value, m.unit):>10} {m.target_text():>10}  {verdict:<6} "
              f"{m.n:>4}  {m.note}")

    for m in metrics:
        line(m)
    if streams:
        print("continuous streams (scripts/stream_metrics.py):")
        for m in streams:
            line(m)
    accuracy = next((m for m in metrics if m.name == "accuracy"), None)
    if accuracy is None or "per_intent" not in accuracy.details:  # --room-only: not measured
        return
    table: dict[str, dict[str, dict[str, float]]] = accuracy.details["per_intent"]
    columns = [c for c, _ in CONDITIONS] + list(FAMILIES) + ["real"]
    print(f"\n{'intent':<16}" + "".join(f"{c:>9}" for c in columns))
    families = {f: {"share": v} for f, v in accuracy.details["per_family"].items()
                if v is not None}
    overall: dict[str, dict[str, float]] = {**accuracy.details["per_condition"], **families}
    for intent, row in [*table.items(), ("(all clips)", overall)]:
        cells = [f"{100 * row[c]['share']:8.0f}%" if c in row else f"{'':>9}" for c in columns]
        print(f"{intent:<16}" + "".join(cells))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["auto", "pocketsphinx", "vosk"], default="auto")
    parser.add_argument("--model", type=Path, default=None, help="a vosk model folder")
    parser.add_argument("--quick", action="store_true", help="small subsets (about 2 minutes)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--trials", type=int, default=0,
                        help="stop / acknowledgement trials (default 20, quick 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--offline-only", action="store_true", help="skip the room")
    parser.add_argument("--room-only", action="store_true",
                        help="only the live metrics in the room (no recognition of clips)")
    parser.add_argument("--streams-only", action="store_true",
                        help="only the continuous-stream recognition (scripts/stream_metrics.py)")
    parser.add_argument("--user-voice", default=None, type=_speaker, metavar="SPEC",
                        help="the simulated user's voice: 'piper:1.0' (Piper at a length "
                        "scale; 'piper:joe:0.9' names the voice) or an espeak-ng "
                        "'VOICE[:WPM]' such as 'en-us+m3:150' (default: the tests', Piper)")
    parser.add_argument("--voice", default=None, metavar="NAME",
                        help="the assistant's voice in the room: piper:joe (the program's "
                        "default) or a system voice such as espeak:en-us")
    parser.add_argument("--soak", type=float, nargs="?", const=20.0, default=None,
                        metavar="MINUTES", help="only the soak run: the full routine at real "
                        "speed in the room with a TV talking and a real 'stop' every 2-3 "
                        "minutes (scripts/bench/soak.py; default 20 minutes, fractions allowed)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy each launch's events.jsonl, stderr and microphone audio here "
                             "(evidence)")
    return parser.parse_args(argv)


def _speaker(spec: str) -> ss.Speaker:
    try:
        return ss.Speaker.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    catch_signals()
    started = time.monotonic()
    rng = random.Random(args.seed)
    notes: list[str] = []
    load_before = os.getloadavg()[0]
    if load_before > 0.8:
        notes.append(f"the machine was busy at the start (load average {load_before:.1f}): "
                     "latencies and CPU figures are pessimistic")
    metrics: list[Metric] = []
    streams: StreamReport | None = None
    if shutil.which("espeak-ng") is None and not args.streams_only:
        print("espeak-ng is needed to synthesize voices (apt-get install espeak-ng)",
              file=sys.stderr)
        return 2
    from tests.harness.live_session import ESPEAK_USER_VOICE, USER_VOICE

    args.user_voice = args.user_voice or USER_VOICE
    if args.user_voice.engine == "piper" and (missing := ss.piper_missing(args.user_voice.voice)):
        notes.append(f"the simulated user speaks espeak-ng ({ESPEAK_USER_VOICE}): {missing}")
        args.user_voice = ESPEAK_USER_VOICE
    if args.soak is not None:
        from bench.soak import main as soak

        return soak(args)
    if not args.room_only and not args.streams_only:
        print("offline recognition...", flush=True)
        metrics += offline_metrics(args.engine, args.model, args.quick, notes)
    if not args.room_only:
        print("continuous streams...", flush=True)
        streams = stream_phase(args, notes)
    if not args.offline_only and not args.streams_only:
        print("live session in the room...", flush=True)
        metrics += live_metrics(args, rng, notes)
    if not args.streams_only:
        have = {m.name for m in metrics}
        metrics += [Metric(name, None, "", note="not measured (see the notes)")
                    for name in METRIC_ORDER if name not in have]
    metrics.sort(key=lambda m: METRIC_ORDER.index(m.name) if m.name in METRIC_ORDER else 99)
    elapsed = time.monotonic() - started
    print_table(metrics, stream_table(streams))
    for note in notes:
        print(f"note: {note}")
    print(f"\n{'quick' if args.quick else 'full'} run took {elapsed:.0f} s")
    if args.json is not None:
        report = {
            "engine": args.engine, "quick": args.quick, "seed": args.seed,
            "user_voice": args.user_voice.spec, "voice": args.voice or "default",
            "elapsed_s": elapsed, "shared_audio": ss.SPEECH_COMMANDS.is_dir(), "notes": notes,
            "load_average": {"start": load_before, "end": os.getloadavg()[0]},
            "metrics": {m.name: m.as_json() for m in metrics},
            "streams": streams.as_json() if streams is not None else None,
        }
        args.json.write_text(json.dumps(report, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        if not interrupted():
            raise
    except KeyboardInterrupt:
        pass
    print("\ninterrupted; the room and its programs were stopped", file=sys.stderr)
    sys.exit(130)
