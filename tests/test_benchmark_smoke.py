"""`scripts/benchmark.py --quick` runs end to end and reports every metric sanely.

Not a pass/fail gate on the targets (those are for people to read): it catches a
benchmark that crashes, leaves a metric out, or measures nonsense (NaN, negative or
absurd latencies, zero trials), and checks it leaves no sound server behind.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.speech_samples import require_espeak

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"

pytestmark = pytest.mark.realtime
"""It plays and listens in a sound server of its own as time passes."""

RANGES: dict[str, tuple[float, float]] = {
    "accuracy_stop_real": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "false_accept_rate": (0.0, 1.0),
    "false_activations_per_hour": (0.0, 100_000.0),
    "self_triggers": (0.0, 1000.0),
    "false_holds": (0.0, 1000.0),
    "stop_latency_p50_ms": (0.0, 10_000.0),
    "stop_latency_p95_ms": (0.0, 10_000.0),
    "stop_chime_p95_ms": (0.0, 10_000.0),
    "stop_decided_p95_ms": (0.0, 10_000.0),
    "stop_missed": (0.0, 1000.0),
    "cutoff_p50_ms": (0.0, 1000.0),
    "cutoff_p95_ms": (0.0, 1000.0),
    "ack_latency_p50_ms": (0.0, 10_000.0),
    "ack_latency_p95_ms": (0.0, 10_000.0),
    "first_word_s": (0.0, 30.0),
    "first_word_cold_s": (0.0, 30.0),
    "first_word_warm_s": (0.0, 30.0),
    "cpu_percent": (0.0, 200.0),
    "cpu_speaking_percent": (0.5, 200.0),
    "rss_mb": (1.0, 4000.0),
}
"""Every metric the benchmark must report, and the widest range that is not nonsense."""

NEED_REAL_CLIPS = {"accuracy_stop_real"}
"""Metrics that may be None, with a note, when ../shared is absent."""

NEED_RECOGNITION = {
    "stop_latency_p50_ms": "stop_missed",
    "stop_latency_p95_ms": "stop_missed",
    "stop_chime_p95_ms": "stop_missed",
    "stop_decided_p95_ms": "stop_missed",
    "ack_latency_p50_ms": "ack_latency_p50_ms",
    "ack_latency_p95_ms": "ack_latency_p50_ms",
}
"""Latencies exist only for commands the engine heard. When it heard none, the value
may be None, but only with the misses reported (accuracy is issue 4's business and is
measured, not gated, here)."""


def _misses_reported(metrics: dict[str, Any], source: str) -> bool:
    m = metrics[source]
    if source == "stop_missed":
        return isinstance(m["value"], int | float) and m["value"] > 0
    return bool(m.get("details", {}).get("missed"))


def _room_processes() -> set[tuple[int, str]]:
    """Live processes belonging to some private room or benchmark run (by their paths)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(m in cmdline or m in environ for m in ("massage-room-", "massage-bench-")):
            found.add((int(proc.name), cmdline))
    return found


def test_quick_benchmark_reports_every_metric_sanely(tmp_path: Path) -> None:
    require_espeak()
    for tool in ("pulseaudio", "parec", "paplay", "pactl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: the benchmark's live half needs PulseAudio")
    out = tmp_path / "bench.json"
    before = _room_processes()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    leftovers = _room_processes() - before
    assert not leftovers, f"the benchmark left processes behind: {leftovers}"
    report: dict[str, Any] = json.loads(out.read_text())
    check_report(report, done.stdout)


def check_report(report: dict[str, Any], printed: str) -> None:
    """Every metric present, a finite number in its sane range, from at least one trial."""
    metrics = report["metrics"]
    assert report["quick"] is True
    assert set(RANGES) <= set(metrics), f"missing: {sorted(set(RANGES) - set(metrics))}"
    for name, (low, high) in RANGES.items():
        m = metrics[name]
        value = m["value"]
        if value is None and name in NEED_REAL_CLIPS and not report["shared_audio"]:
            assert m["note"], f"{name} skipped without saying why"
            continue
        if value is None and name in NEED_RECOGNITION:
            assert _misses_reported(metrics, NEED_RECOGNITION[name]), f"{name} is None: {m}"
            continue
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)
        assert math.isfinite(value), (name, value)
        assert low <= value <= high, f"{name} = {value} is outside {low}..{high}"
        assert isinstance(m["n"], int) and m["n"] > 0, f"{name} has no trials: {m}"
        assert m["pass"] in (True, False, None), (name, m["pass"])
        assert name in printed, f"{name} is missing from the printed table"
    for kind in ("stop", "ack"):
        p50, p95 = (metrics[f"{kind}_latency_{p}_ms"]["value"] for p in ("p50", "p95"))
        assert (p50 is None) == (p95 is None)
        assert p50 is None or p50 <= p95
    assert metrics["accuracy"]["details"]["per_intent"], "per-intent accuracy is reported"
    if report["shared_audio"]:
        check_streams(report["streams"])
    assert report["elapsed_s"] < 300, f"--quick took {report['elapsed_s']:.0f} s"


def check_streams(streams: dict[str, Any] | None) -> None:
    """The quick stream phase scored each of its words on the same few first clips, and
    heard the commands in them (on the first dozen clips it acts on nearly all)."""
    assert streams is not None, "the stream phase failed"
    quiet = streams["quiet"]
    counts = {word: quiet[word]["n"] for word in ("stop", "yes", "no", "go", "down")}
    assert len(set(counts.values())) == 1 and 5 <= counts["stop"] <= 30, counts
    for word in ("stop", "yes", "no"):
        acted = quiet[word]["acted"]
        assert isinstance(acted, float) and 0.5 <= acted <= 1.0, (word, quiet[word])
