"""`scripts/benchmark.py --soak 0.75`: a real soak run in the room, cut to 45 s.

Not a gate on the soak's targets (those are for people to read, from a 20-minute run):
it catches a soak that crashes, leaves a figure out, says no stop, or measures nonsense,
and checks it leaves no sound server behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from tests.harness.speech_samples import require_espeak, require_shared

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"
MINUTES = 0.75

pytestmark = pytest.mark.realtime
"""It plays and listens in a sound server of its own as time passes."""

KEYS = (
    "soak_minutes", "ran_s", "ended", "finished", "stops_said", "stops_missed",
    "resumes_said", "resumes_missed", "false_activations", "self_triggers", "false_holds",
    "rss_start_mb", "rss_end_mb", "rss_growth_mb", "cpu_percent", "underruns",
    "echo_reduction_db", "tv", "trials", "targets",
)


def test_a_short_soak_says_stop_and_reports_every_figure(tmp_path: Path) -> None:
    require_espeak()
    require_shared()  # the real people's "stop" clips
    for tool in ("pulseaudio", "parec", "paplay", "pactl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: the soak runs in the room")
    out = tmp_path / "soak.json"
    mark = f"soak-smoke-{uuid4().hex}"  # inherited by all it starts: the room, the program
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--soak", str(MINUTES), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "SOAK_SMOKE_RUN": mark},
    )
    printed = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    print(printed)
    assert done.returncode == 0, printed
    assert not processes_marked(mark), "the soak left processes behind"
    report: dict[str, Any] = json.loads(out.read_text())
    check_report(report, printed)


def processes_marked(mark: str) -> list[str]:
    """Live processes whose environment holds `mark` (only this run's, on a machine where
    other tests start rooms of their own)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mark.encode() in (proc / "environ").read_bytes():
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return found


def check_report(report: dict[str, Any], printed: str) -> None:
    missing = [k for k in KEYS if k not in report]
    assert not missing, f"missing {missing}\n{printed}"
    assert report["soak_minutes"] == MINUTES
    assert report["finished"] is True, printed
    assert report["ended"] in ("time up", "routine finished")
    assert MINUTES * 60 - 1 <= report["ran_s"] <= MINUTES * 60 + 60, report["ran_s"]
    assert report["stops_said"] >= 1, printed
    assert 0 <= report["stops_missed"] <= report["stops_said"]
    assert report["resumes_said"] == report["stops_said"] - report["stops_missed"]
    assert 0 <= report["resumes_missed"] <= report["resumes_said"]
    assert 0 <= report["self_triggers"] <= report["false_activations"] < 100
    assert 0 <= report["false_holds"] < 1000
    for trial in report["trials"]:
        assert trial["kind"] in ("over_speech", "quiet")
        assert 0 <= trial["started"] <= report["ran_s"] + 30
    assert len({t["speaker"] for t in report["trials"]}) == report["stops_said"], (
        "a different speaker each time")
    assert 100 <= report["rss_start_mb"] <= 2000 and 100 <= report["rss_end_mb"] <= 2000
    assert report["rss_growth_mb"] == pytest.approx(
        report["rss_end_mb"] - report["rss_start_mb"], abs=0.11)
    assert 0.5 <= report["cpu_percent"] <= 200, "the program and its recognizer, one core = 100"
    assert isinstance(report["underruns"], int) and report["underruns"] >= 0
    final = [e for e in report["echo_reduction_db"] if e["final"]]
    assert len(final) == 1, "the session reports its echo canceller as listening ends"
    assert any(e["reduction_db"] is not None and 0 < e["reduction_db"] < 80
               for e in report["echo_reduction_db"]), "its own voice was taken down"
    assert -40 <= report["tv"]["dbfs"] <= -35 and report["tv"]["plays"] >= 1
    assert set(report["targets"]) >= {"stops_missed", "self_triggers", "false_activations",
                                      "rss_growth_mb", "cpu_percent", "finished"}
    for key in ("stops_said", "stops_missed", "false_activations", "rss_growth_mb",
                "cpu_percent", "finished"):
        assert key in printed, f"{key} is missing from the printed report"


def scripts_on_path() -> None:
    """The benchmark's `bench` package importable, as scripts/benchmark.py has it."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))


def test_memory_growth_is_read_over_minutes_not_from_two_samples() -> None:
    """A render in flight lifts RSS for a moment: one low first sample made a flat run
    look like it grew 30 MB. The ends are medians over three minutes each."""
    scripts_on_path()
    from bench.soak_score import rss_ends

    flat = [(60.0 + 10 * i, 15.0, 400.0 + (25.0 if i % 4 == 1 else 0.0)) for i in range(114)]
    flat[0] = (60.0, 15.0, 380.0)
    start, end = rss_ends(flat)
    assert start == end == 400.0
    growing = [(t, cpu, rss + 0.02 * (t - 60.0)) for t, cpu, rss in flat]
    start, end = rss_ends(growing)
    assert start is not None and end is not None and 18.0 <= end - start <= 22.0
    assert rss_ends([]) == (None, None)


def test_a_command_in_a_hold_ends_it_for_the_scheduler() -> None:
    """A command said in a barge-in hold ends the hold without a `barge_in_end`: taken for
    held ever after, a soak once found no moment for a stop for the rest of its run."""
    scripts_on_path()
    from bench.soak_run import held

    def scene(*types: str, released_s_ago: float) -> tuple[Any, Any]:
        events = [{"type": kind, "t": float(i)} for i, kind in enumerate(types)]
        clock = SimpleNamespace(monotonic=lambda t: time.monotonic() - released_s_ago)
        return SimpleNamespace(clock=clock), SimpleNamespace(update=lambda: events)

    assert held(*scene("barge_in", released_s_ago=60.0), within_s=2.5)
    for end in ("barge_in_end", "command"):
        assert not held(*scene("barge_in", end, released_s_ago=60.0), within_s=2.5), end
        assert held(*scene("barge_in", end, released_s_ago=1.0), within_s=2.5), end
    assert not held(*scene("say", released_s_ago=0.0), within_s=2.5)


def test_a_command_is_not_counted_a_self_trigger_for_its_own_answer() -> None:
    """The answer to a command begins just after its decision, and a 20-minute room
    recording's times can be 0.5 s late: a TV's "skip" in quiet was scored a self-trigger
    for its own "Skipping ahead.". The assistant's voice while the word was said counts."""
    scripts_on_path()
    from bench.soak_score import assistant_talking

    from tests.harness.room import Recording

    rate, decided = 16000, 20.0
    tone = 0.3 * np.sin(np.arange(rate * 2) * 2 * np.pi * 300 / rate).astype(np.float32)

    def room_with_voice(from_s: float) -> Recording:
        x = np.zeros(rate * 30, np.float32)
        x[int(from_s * rate) : int(from_s * rate) + tone.size] = tone
        return Recording(x, rate, start_time=0.0, delivery_spread_s=0.0)

    assert not assistant_talking(room_with_voice(decided + 0.05 - 0.5), decided)
    assert assistant_talking(room_with_voice(decided - 2.2), decided)
    assert not assistant_talking(room_with_voice(decided - 6.0), decided)
