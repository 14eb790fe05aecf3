"""The benchmark's continuous-stream phase: scripts/stream_metrics.py does the work.

Continuous streams (scripts/stream_metrics.py, after the offline clips; --streams-only
runs it alone): each word folder of ../shared's clips laid end to end as one microphone
signal (../shared/audio/make_stream.py, clips 1.2 s apart) and heard by the session's own
path (`recognize_file`: recognizer, streaming stop spotter, its second opinion), quiet
(-60 dBFS hiss) and with the _silence_ recordings as a noise bed at -45 and -35 dBFS.
Per condition and word: `acted` (stop/yes/no heard as themselves), `wrong` (any other
command), `to_stop` (a non-stop word acted on as "stop"); which path acted on the stops;
and commands per minute in LibriVox read speech. JSON: `streams`; rows `stream_*` and
`speech_false_per_min` in the table. Quick: the quiet condition and the words stop, yes,
no, go, down, _unknown_, each stream cut after its first 6 clips. Skipped, with the
reason printed, without ../shared (or, for the speech figure, without LibriVox).
"""

from __future__ import annotations

import argparse
import os
import time

from stream_metrics import StreamReport, run_streams, table_rows

from bench.interrupt import interrupted
from bench.metric import Metric


def stream_phase(args: argparse.Namespace, notes: list[str]) -> StreamReport | None:
    """scripts/stream_metrics.py's streams; what it skipped goes to the notes (and is
    printed now). A failure is noted and the other phases go on."""
    t0 = time.monotonic()
    try:
        report = run_streams(args.engine, args.model, args.quick,
                             workers=max(1, min(2, os.cpu_count() or 1)))
    except Exception as exc:
        if interrupted():
            raise
        notes.append(f"the stream phase failed: {type(exc).__name__}: {exc}")
        print(f"  the stream phase failed: {exc}", flush=True)
        return None
    for note in report.notes:
        print(f"  {note}", flush=True)
        notes.append(f"streams: {note}")
    print(f"  streams in {time.monotonic() - t0:.0f} s", flush=True)
    return report


def stream_table(report: StreamReport | None) -> list[Metric]:
    """The stream phase's rows as table rows (not in the JSON's `metrics`: its `streams`)."""
    if report is None:
        return []
    return [Metric(r.name, r.value, r.unit, r.target, r.n, r.note) for r in table_rows(report)]
