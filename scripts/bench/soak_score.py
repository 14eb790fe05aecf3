"""The soak run's report (the scoring is described in bench/soak.py): every voice command
explained by what the user said, or counted against the program; its figures beside
their targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assistant.listening.recognize_file import read_wav
from bench.room_bench import Event, Floats, Launch
from bench.soak_run import TALKING_DBFS, EventTail, Soak, UsageSampler
from tests.harness.speech_samples import RATE as SR

if TYPE_CHECKING:
    from tests.harness.room import Recording


TARGETS: dict[str, tuple[str, float]] = {
    "stops_missed": ("==", 0), "self_triggers": ("==", 0), "false_activations": ("<=", 1),
    "rss_growth_mb": ("<=", 10.0), "cpu_percent": ("<=", 25.0), "finished": ("==", 1),
}


def in_window(at: float | None, windows: list[tuple[float, float, str]]) -> str | None:
    if at is None:
        return None
    return next((what for t0, t1, what in windows if t0 - 0.3 <= at <= t1), None)


TALKING_BEFORE_S = 3.0
ANSWER_MARGIN_S = 0.6
"""The last moments before a command's decision are not looked at for the assistant's
voice: the answer to the command itself begins about 50 ms after the decision, and over
twenty minutes the room's timebase (one anchor, tests/harness/room.py) drifts up to
0.5 s. In the 2026-12-07 soak a "skip" the TV said 27 s after the assistant's last line
counted as a self-trigger: its own answer, "Skipping ahead.", fell in the window. The
word itself ends at least 0.25 s before its decision, so the voice it could have been
heard from is still in view."""


def assistant_talking(recording: Recording | None, at: float | None) -> bool:
    """The room held the assistant's voice in the 3 s before the decision at `at`
    (0.3 s windows), ANSWER_MARGIN_S left out."""
    if recording is None or at is None:
        return False
    x = recording.window(at - TALKING_BEFORE_S, at - ANSWER_MARGIN_S).astype(np.float64)
    levels = window_dbfs(x, recording.sample_rate)
    return bool(levels.size and levels.max() > TALKING_DBFS)


def window_dbfs(x: npt.NDArray[np.float64], rate: int, seconds: float = 0.3) -> Floats:
    """Levels of consecutive `seconds` windows (dBFS)."""
    n = int(seconds * rate)
    frames = x[: x.size // n * n].reshape(-1, n)
    levels: Floats = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    return levels


def room_levels(recording: Recording | None) -> dict[str, float]:
    """What the microphone heard over the run (0.3 s windows): its spread, and the
    median of the windows above TALKING_DBFS (the assistant's voice, or the user's)."""
    if recording is None or recording.samples.size == 0:
        return {}
    levels = window_dbfs(recording.samples.astype(np.float64), recording.sample_rate)
    loud = levels[levels > TALKING_DBFS]
    out = {f"p{q}": round(float(np.percentile(levels, q)), 1) for q in (10, 50, 90, 99)}
    if loud.size:
        out["talking_median"] = round(float(np.median(loud)), 1)
    return out


def tv_dbfs_before(soak: Soak, tv: npt.NDArray[np.float64] | None, at: float | None,
                   ) -> float | None:
    """The TV's loudest 0.3 s in the 2 s before `at` (dBFS): was it talking then?"""
    starts = [t for t in soak.tv_starts if at is not None and t <= at]
    if tv is None or at is None or not starts:
        return None
    end = int((at - starts[-1]) * SR)
    if not 0 < end <= tv.size:
        return None
    return round(float(window_dbfs(tv[max(0, end - 2 * SR) : end], SR).max()), 1)


def report(soak: Soak, run: Launch, usage: UsageSampler, tail: EventTail) -> dict[str, Any]:
    events = tail.events
    recording = run.monitor.recording
    tv = (read_wav(soak.tv_wav, SR).astype(np.float64) / 32768
          if soak.tv_wav is not None else None)
    activations: list[Event] = []
    misheard: list[Event] = []
    for e in events:
        if e["type"] != "command" or e.get("source") != "voice" or not e.get("intent"):
            continue
        at = run.clock.monotonic(float(e["t"]))
        what = in_window(at, soak.windows)
        row = {"t": e["t"], "intent": e["intent"], "phrase": e.get("phrase"),
               "accepted": e.get("accepted")}
        if what is None:
            activations.append({**row, "self_trigger": assistant_talking(recording, at),
                                "tv_dbfs": tv_dbfs_before(soak, tv, at)})
        elif what != e["intent"]:
            misheard.append({**row, "said": what})
    holds = [e for e in events if e["type"] == "barge_in"
             and in_window(run.clock.monotonic(float(e["t"])), soak.windows) is None]
    start_after = min(60.0, soak.ran_s / 3)
    steady = [s for s in usage.samples if s[0] >= start_after] or usage.samples[-1:]
    echo = [e for e in events if e["type"] == "echo_stats"]
    underruns = echo[-1]["underruns"] if echo else None
    session_log = run.live.events_path.parent / "home" / "session.log"
    log_lines = (session_log.read_text(errors="replace").lower().count("underrun")
                 if session_log.exists() else None)
    said = soak.trials
    finished_ok = not soak.traceback and (
        (soak.ended == "routine finished" and soak.exit_code == 0)
        or (soak.ended == "time up" and soak.exit_code in (0, 130)))
    rss_start, rss_end = rss_ends(steady)
    out: dict[str, Any] = {
        "soak_minutes": soak.minutes,
        "ran_s": round(soak.ran_s, 1),
        "ended": soak.ended,
        "exit_code": soak.exit_code,
        "finished": finished_ok,
        "stops_said": len(said),
        "stops_over_speech": sum(1 for t in said if t.kind == "over_speech"),
        "stops_in_quiet": sum(1 for t in said if t.kind == "quiet"),
        "stops_missed": sum(1 for t in said if not t.stopped),
        "resumes_said": sum(1 for t in said if t.stopped),
        "resumes_missed": sum(1 for t in said if t.stopped and not t.resume.get("heard")),
        "false_activations": len(activations),
        "self_triggers": sum(1 for a in activations if a["self_trigger"]),
        "false_holds": len(holds),
        "misheard": len(misheard),
        "halts_resumed_by_typing": len(soak.typed_resumes),
        "rss_start_mb": None if rss_start is None else round(rss_start, 1),
        "rss_end_mb": None if rss_end is None else round(rss_end, 1),
        "rss_peak_mb": round(max(s[2] for s in steady), 1) if steady else None,
        "rss_growth_mb": (None if rss_start is None or rss_end is None
                          else round(rss_end - rss_start, 1)),
        "cpu_percent": (round(float(np.mean([s[1] for s in steady])), 1) if steady else None),
        "cpu_percent_whole_run": (round(float(np.mean([s[1] for s in usage.samples])), 1)
                                  if usage.samples else None),
        "underruns": underruns,
        "underrun_lines_in_session_log": log_lines,
        "echo_reduction_db": [
            {"minute": round(float(e["t"]) / 60, 1), "reduction_db": e["reduction_db"],
             "echo_s": e["echo_s"], "final": e["final"]} for e in echo],
        "echo_resets": echo[-1]["resets"] if echo else None,
        "tv": soak.tv,
        "room_dbfs": room_levels(recording),
        "trials": [{**t.__dict__, "started": round(t.started - run.launched_at, 1),
                    "ended": round(t.ended - run.launched_at, 1),
                    "resume": {**t.resume, "started": round(t.resume["started"]
                                                             - run.launched_at, 1)}
                    if t.resume else {}} for t in said],
        "false_activation_events": activations,
        "misheard_events": misheard,
        "usage_samples": [[round(a, 1), round(c, 1), round(r, 1)] for a, c, r in usage.samples],
        "usage_steady_from_s": round(start_after, 1),
        "notes": soak.notes,
    }
    out["targets"] = {k: {"target": f"{op} {bound:g}", "pass": _passes(out[k], op, bound)}
                      for k, (op, bound) in TARGETS.items()}
    return out


def _passes(value: float | None, op: str, bound: float) -> bool | None:
    """`value` may be a bool (finished: 1 is true)."""
    if value is None:
        return None
    v = float(value)
    return {"==": v == bound, "<=": v <= bound, ">=": v >= bound}[op]


def print_report(out: dict[str, Any]) -> None:
    print(f"\nsoak: {out['soak_minutes']:g} min asked, ran {out['ran_s']:.0f} s, "
          f"{out['ended']} (exit {out['exit_code']})")
    for key in ("finished", "stops_said", "stops_over_speech", "stops_in_quiet", "stops_missed",
                "resumes_said", "resumes_missed", "false_activations", "self_triggers",
                "false_holds", "misheard", "halts_resumed_by_typing", "rss_start_mb",
                "rss_end_mb", "rss_growth_mb", "rss_peak_mb", "cpu_percent",
                "cpu_percent_whole_run", "underruns", "underrun_lines_in_session_log",
                "echo_resets"):
        target = out["targets"].get(key)
        verdict = ""
        if target is not None:
            result = {None: "-", True: "pass", False: "FAIL"}[target["pass"]]
            verdict = f"  target {target['target']}: {result}"
        print(f"  {key:<30} {out[key]!s:>10}{verdict}")
    minutes = ", ".join(
        f"{e['minute']:g}: {'-' if e['reduction_db'] is None else e['reduction_db']}"
        for e in out["echo_reduction_db"])
    print(f"  echo reduction dB by minute     {minutes or 'none reported'}")
    tv = out["tv"]
    print(f"  TV: {tv['dbfs']:g} dBFS RMS over its speech, a {tv['loop_s']:.0f} s loop played "
          f"{tv.get('plays', 0)} times (from the start): {'; '.join(tv['sources'])}")
    for e in out["false_activation_events"]:
        print(f"  false activation at {e['t']:.0f} s: {e['intent']} ('{e['phrase']}')"
              f"{', the assistant talking' if e['self_trigger'] else ''}; the TV's loudest "
              f"in the 2 s before: {e['tv_dbfs']} dBFS")
    print(f"  room (0.3 s windows, dBFS): {out['room_dbfs']}")
    for note in out["notes"]:
        print(f"  note: {note}")


RSS_SPAN_S = 180.0
"""`rss_ends` takes the median over this much of the run at each end (or a third of it)."""


def rss_ends(steady: list[tuple[float, float, float]]) -> tuple[float | None, float | None]:
    """Resident memory at the start and at the end of the steady part: each the median
    of the samples over its first and its last three minutes. One sample each was
    noise: a render or a decode in flight moves RSS by 10-40 MB for a moment (in one
    20-minute run, 391 MB at the first sample, 392-434 over the next three minutes)."""
    if not steady:
        return None, None
    span = min(RSS_SPAN_S, (steady[-1][0] - steady[0][0]) / 3)
    first = [s[2] for s in steady if s[0] <= steady[0][0] + span]
    last = [s[2] for s in steady if s[0] >= steady[-1][0] - span]
    return float(np.median(first)), float(np.median(last))
