"""The live run: one long session for the latencies (bench/latencies.py) and the CPU and
memory (bench/resources.py), then the self-trigger runs and the first-word launches.

- self_triggers: `command` events while the assistant speaks the quick routine by itself.
- first_word_s: launch of the program to its first sound in the room (the worst of
  every launch, each with an empty speech cache). first_word_cold_s / first_word_warm_s:
  the quick routine launched with an empty render cache, then again with the cache the
  first launch left (copied into a fresh home folder, so the first line is the same, not
  the offer to resume the interrupted first launch): the worst of each kind.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from collections.abc import Callable

from bench.interrupt import interrupted
from bench.latencies import (
    ack_latency_metrics,
    cutoff_metrics,
    quiet_stop_metrics,
    stop_latency_metrics,
)
from bench.metric import Metric
from bench.resources import CpuMeter, usage_metrics
from bench.room_bench import (
    Event,
    Launch,
    RoomBench,
    _running,
    room_bench,
    seeded_home,
    state_of,
)


def read_alone(bench: RoomBench, run: Launch, cap_s: float, meter: CpuMeter) -> str:
    """Let the program read on by itself until it exits, hits the cap, or sits halted
    (a self-trigger stopped or paused it: nothing but a user would ever resume it).
    `meter` is sampled from its first word on, while it reads."""
    deadline = time.monotonic() + cap_s
    bench.wait_talking(run, 20.0)
    while time.monotonic() < deadline:
        meter.sample()
        if run.live.proc.poll() is not None:
            return "finished"
        if state_of(run) in ("stopped", "paused") and bench.wait_quiet(run, 3.0, 10.0):
            return f"halted ({state_of(run)})"
        time.sleep(0.2)
    return f"cut at {cap_s:.0f} s"


def first_word_metrics(bench: RoomBench, quick: bool) -> list[Metric]:
    """Launch to first sound with an empty speech cache, then again with the cache the
    first launch filled. The second launch gets a fresh memory folder holding only that
    cache, so it has the same first line: in the first launch's own folder it would open
    with "your last session stopped at step 1..." (the first launch was interrupted), a
    line never rendered before."""
    cold: list[float] = []
    warm: list[float] = []
    for attempt in range(2 if quick else 4):
        cold_home = seeded_home(bench.folder / f"first-word-{attempt}")
        warm_home = seeded_home(bench.folder / f"first-word-{attempt}-warm")
        for into, home in ((cold, cold_home), (warm, warm_home)):
            if into is warm and (cold_home / "speech-cache").is_dir():
                shutil.copytree(cold_home / "speech-cache", warm_home / "speech-cache")
            run = bench.launch("--routine", "quick", "--mode", "self", home=home)
            try:
                bench.wait_talking(run, 20.0)
                time.sleep(1.5)  # let the first line be rendered whole, and cached
            finally:
                heard = len(bench.first_words)
                bench.end(run)
            if len(bench.first_words) > heard:
                into.append(bench.first_words[-1])
    return [
        Metric("first_word_cold_s", max(cold) if cold else None, "s", ("<=", 2.0), len(cold),
               "empty speech cache", {"launches": cold}),
        Metric("first_word_warm_s", max(warm) if warm else None, "s", ("<=", 1.0), len(warm),
               "the cache of the launch before", {"launches": warm}),
    ]


def self_trigger_metric(bench: RoomBench, quick: bool) -> list[Metric]:
    """The assistant reads the quick routine into the room by itself: nothing may fire."""
    modes = ("self",) if quick else ("self", "partner")
    cap_s = 20.0 if quick else 300.0
    commands: list[Event] = []
    holds: list[Event] = []
    decisions: dict[str, int] = {}
    runs: list[str] = []
    spoken_s = 0.0
    speaking: list[float] = []
    for mode in modes:
        run = bench.launch("--routine", "quick", "--mode", mode, "--time-scale", "0.05")
        try:
            meter = CpuMeter(run.live.proc.pid)
            how = read_alone(bench, run, cap_s, meter)
            cpu = meter.percent()
            if cpu is not None:
                speaking.append(cpu)
            spoken_s += time.monotonic() - run.launched_at
            runs.append(f"{mode}: {how} after {time.monotonic() - run.launched_at:.0f} s")
            for e in run.live.events():
                if e["type"] == "command":
                    commands.append({**e, "mode": mode})
                elif e["type"] == "barge_in":
                    holds.append({**e, "mode": mode})
                elif e["type"] == "heard":
                    decisions[e["decision"]] = decisions.get(e["decision"], 0) + 1
        finally:
            bench.end(run)
    return [
        Metric("self_triggers", float(len(commands)), "count", ("==", 0.0), len(modes),
               f"{spoken_s:.0f} s of the quick routine; " + "; ".join(runs),
               {"commands": commands, "heard_decisions": decisions, "runs": runs,
                "spoken_s": spoken_s}),
        Metric("false_holds", float(len(holds)), "count", None, len(modes),
               "times its own voice was taken for the user talking over it (the line "
               "pauses about a second)", {"holds": holds}),
        Metric("cpu_speaking_percent", max(speaking) if speaking else None, "%",
               ("<=", 50.0), len(speaking),
               "one core = 100 %; reading the quick routine aloud, first word to end, "
               "worst mode", {"modes": speaking}),
    ]


def pause(bench: RoomBench, run: Launch) -> bool:
    """Paused by voice (resumed first if stopped: only a running session pauses)."""
    if state_of(run) == "stopped" and not bench.say_until(run, "resume", _running):
        return False
    bench.wait_talking(run, 3.0)
    return bench.say_until(run, "pause", lambda e: e["type"] == "state" and e["to"] == "paused",
                           wait_quiet=False, timeout_s=8.0)


def live_metrics(args: argparse.Namespace, rng: random.Random, notes: list[str]) -> list[Metric]:
    """Stop and acknowledgement latency, CPU and memory, self-triggers, first word."""
    import pytest

    try:
        with room_bench(args, rng) as bench:
            return live_phases(bench, notes)
    except pytest.skip.Exception as exc:  # Room.start: PulseAudio missing or not starting
        notes.append(f"no room, so no live metrics: {exc}")
        return []


def live_phases(bench: RoomBench, notes: list[str]) -> list[Metric]:
    """One long session for the latencies and usage, then the self-trigger runs. A phase
    that fails is noted and its metrics left empty; the others still run."""
    out: list[Metric] = []
    quick = bench.args.quick
    trials = bench.args.trials or (2 if quick else 20)

    def phase(name: str, work: Callable[[], list[Metric]]) -> None:
        t0 = time.monotonic()
        try:
            out.extend(work())
        except Exception as exc:
            if interrupted():  # e.g. paplay killed by the same Ctrl-C
                raise
            notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
        print(f"  {name} in {time.monotonic() - t0:.0f} s", flush=True)

    def paused_then_acks(run: Launch) -> list[Metric]:
        if not pause(bench, run):
            if state_of(run) != "running":
                raise RuntimeError(f"could not pause the session by voice ({state_of(run)})")
            notes.append("could not pause the session by voice: acknowledgement trials "
                         "ran while it was running (quiet between lines)")
        return ack_latency_metrics(bench, run, trials)

    def usage(run: Launch) -> list[Metric]:
        bench.wait_quiet(run)
        return usage_metrics(run, quick, state_of(run), bench.args.voice)

    run = bench.launch("--routine", "full", "--mode", "self", "--time-scale", "10")
    try:
        if bench.reach_running(run):
            # The first word before any trial: the first cut-off trial, finding it quiet,
            # typed "repeat" while the welcome was still rendering; the welcome was
            # dropped and this launch's first word came at 2.2-2.4 s instead of 1.1.
            bench.wait_talking(run, 20.0)
            phase("cut-off trials", lambda: cutoff_metrics(bench, run, max(trials // 2, 3)))
            phase("stop trials", lambda: stop_latency_metrics(bench, run, trials, notes))
            phase("quiet stop trials",
                  lambda: quiet_stop_metrics(bench, run, 2 if quick else max(trials // 2, 3)))
            phase("acknowledgement trials", lambda: paused_then_acks(run))
            phase("cpu and memory", lambda: usage(run))
        else:
            notes.append(f"the program never reached the routine: {run.live.stderr()[-400:]}")
    finally:
        bench.end(run)
    phase("self-trigger runs", lambda: self_trigger_metric(bench, quick))
    phase("first word, cold and warm cache", lambda: first_word_metrics(bench, quick))
    words = bench.first_words
    out.append(Metric("first_word_s", max(words) if words else None, "s", ("<=", 2.0),
                      len(words), "worst of the launches", {"launches": words}))
    return out
