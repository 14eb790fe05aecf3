"""CPU and memory of the program and its recognizer's process, read from /proc.

- cpu_percent / rss_mb: of the program's process, sampled from /proc while a paused
  session listens.
- cpu_speaking_percent: the same while it reads the quick routine aloud by itself (the
  self-trigger runs), from its first word to its end.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from bench.metric import Metric
from bench.room_bench import Launch


def family(pid: int) -> list[int]:
    """`pid` and its children (the recognizer runs in one)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [pid, *(int(c) for c in kids.read_text().split())]
    return [pid]


def cpu_seconds(of: list[int]) -> dict[int, float]:
    """User and system CPU seconds of each process still there."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in of:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def busy_percent(before: dict[int, float], after: dict[int, float], seconds: float) -> float:
    """CPU % of one core between two `cpu_seconds` readings `seconds` apart."""
    return 100 * sum(after[p] - before[p] for p in after if p in before) / seconds


def proc_usage(pid: int, seconds: float) -> tuple[float, float, int]:
    """CPU % of one core and peak RSS (MB) of `pid` and its children over `seconds`."""

    def rss(of: list[int]) -> float:
        total = 0.0
        for p in of:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        return total

    pids = family(pid)
    c0, t0 = cpu_seconds(pids), time.monotonic()
    peak, samples = rss(pids), 1
    while time.monotonic() - t0 < seconds:
        time.sleep(0.5)
        peak, samples = max(peak, rss(pids)), samples + 1
    return busy_percent(c0, cpu_seconds(pids), time.monotonic() - t0), peak, samples


class CpuMeter:
    """CPU % of one core of a program and its recognizer from the first `sample` to the
    last one taken while it ran (one that has exited keeps its last)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._first: tuple[float, dict[int, float]] | None = None
        self._last: tuple[float, dict[int, float]] | None = None

    def sample(self) -> None:
        now, used = time.monotonic(), cpu_seconds(family(self.pid))
        if self.pid not in used:
            return
        if self._first is None:
            self._first = (now, used)
        elif used.keys() >= self._first[1].keys():  # not once the recognizer has gone
            self._last = (now, used)

    def percent(self) -> float | None:
        if self._first is None or self._last is None or self._last[0] - self._first[0] < 5:
            return None
        (t0, c0), (t1, c1) = self._first, self._last
        return busy_percent(c0, c1, t1 - t0)


def engine_in_use(run: Launch) -> str:
    """The engine the program says it listens with (its startup notice)."""
    match = re.search(r"Listening with (\w+)", run.live.stderr())
    return match.group(1) if match else "unknown"


def usage_metrics(run: Launch, quick: bool, state: str | None, voice: str | None,
                  ) -> list[Metric]:
    """`voice`: the --voice the program was given (None: the default, the natural voice
    where it is installed). Its memory target is the natural voice's issue's, 400 MB;
    300 MB is the listening issue's, for the system voice."""
    seconds = 5.0 if quick else 10.0
    cpu, rss, samples = proc_usage(run.live.proc.pid, seconds)
    engine = engine_in_use(run)
    natural = (voice or "piper").startswith("piper")
    rss_target: tuple[str, float] | None = None
    if engine == "pocketsphinx":
        rss_target = ("<=", 400.0 if natural else 300.0)
    return [
        Metric("cpu_percent", cpu, "%", ("<=", 25.0), samples,
               f"one core = 100 %; {seconds:.0f} s quiet, {state}, listening"),
        Metric("rss_mb", rss, "MB", rss_target, samples,
               f"peak VmRSS, with the recognizer's process ({engine}), "
               f"{'natural' if natural else 'system'} voice"),
    ]
