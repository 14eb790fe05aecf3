"""Every line the assistant can say renders well in both voices: the listen-free
pronunciation check. Each line of every built-in routine, the safety questions and
every dialog variant (placeholders filled with sample values) is rendered by the real
engine and flagged when its audio is empty, clipped, or far too short or long for its
words (a word swallowed, a line cut, a symbol read out letter by letter for minutes).

The Piper pass renders about 25 minutes of speech, a few minutes on one core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import numpy as np
import pytest

from assistant.session.dialog import load_dialog
from assistant.session.routines import builtin_names, load_routine
from assistant.session.safety import load_screening
from assistant.settings import Mode
from assistant.speech.audio_out import ClosableRenderer, Rendered
from tests.harness.speech_samples import require_piper

RATE_WPM = 150
MODES: tuple[Mode, ...] = ("self", "partner")
WORD = re.compile(r"[A-Za-z0-9']+")


class _Sample:
    """A placeholder's sample value: 5 where a number is formatted, else a word."""

    def __format__(self, spec: str) -> str:
        try:
            return format(5, spec)
        except ValueError:
            return format("five", spec)


class _Samples(dict[str, Any]):
    def __missing__(self, key: str) -> _Sample:
        return _Sample()


def all_lines() -> list[tuple[str, str]]:
    """(where, text) for every line, deduplicated by text."""
    lines: dict[str, str] = {}
    for key, variants in load_dialog().lines.items():
        for n, variant in enumerate(variants):
            lines.setdefault(variant.format_map(_Samples()), f"dialog {key}[{n}]")
    for name in builtin_names():
        routine = load_routine(name)
        lines.setdefault(routine.title, f"{name} title")
        lines.setdefault(routine.description, f"{name} description")
        for step in (*routine.steps, routine.switch, routine.finish):
            phrasings = [("instruction", step.instruction)]
            phrasings += [(f"cue {n}", cue.text) for n, cue in enumerate(step.cues)]
            phrasings += [(f"pressure {level}", p) for level, p in step.pressure.items()]
            lines.setdefault(step.title, f"{name} {step.id} title")
            for what, phrasing in phrasings:
                for mode in MODES:
                    lines.setdefault(phrasing.for_mode(mode), f"{name} {step.id} {what} {mode}")
    for question in load_screening().questions:
        for mode in MODES:
            lines.setdefault(question.text.for_mode(mode), f"safety {question.id} {mode}")
    return [(where, text) for text, where in lines.items() if WORD.search(text)]


def problem(text: str, rendered: Rendered) -> str | None:
    """Why this audio is not a plausible reading of `text`, or None."""
    audio = rendered.audio
    if len(audio) == 0 or float(np.max(np.abs(audio))) < 0.05:
        return "silent"
    if float(np.mean(np.abs(audio) >= 0.999)) > 0.001:
        return "clipped"
    words = max(len(WORD.findall(text)), 1)
    expected_s = words / RATE_WPM * 60
    low, high = 0.35 * expected_s, 2.5 * expected_s + 0.5
    if not low <= rendered.duration_s <= high:
        return f"{rendered.duration_s:.2f} s for {words} words (expected {low:.2f}-{high:.2f})"
    return None


def espeak() -> ClosableRenderer:
    from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

    return Pyttsx3Renderer()


class _InTurn:
    """Engines taking lines in turn, one per core: Piper renders on one thread, and its
    pass alone was the suite's slowest test (100 s)."""

    def __init__(self, engines: list[ClosableRenderer]) -> None:
        self.engines = engines
        self._given = 0

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        self._given += 1
        return self.engines[self._given % len(self.engines)].submit(text, rate_wpm, voice)

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def piper() -> ClosableRenderer:
    require_piper()
    from assistant.adapters.piper_tts import PiperRenderer

    return _InTurn([PiperRenderer(), PiperRenderer()])


@pytest.fixture(params=[piper, espeak], ids=["piper", "espeak"])
def renderer(request: pytest.FixtureRequest) -> Iterator[ClosableRenderer]:
    engine: ClosableRenderer = request.param()
    yield engine
    engine.close()


def test_the_lines_cover_routines_dialog_and_safety() -> None:
    lines = all_lines()
    sources = {where.split()[0] for where, _ in lines}
    assert {"dialog", "safety", *builtin_names()} <= sources
    assert len(lines) > 300
    assert not [text for _, text in lines if "{" in text], "every placeholder filled"


def test_every_line_renders_plausibly(renderer: ClosableRenderer) -> None:
    lines = all_lines()
    futures: list[tuple[str, str, Future[Rendered]]] = [
        (where, text, renderer.submit(text, RATE_WPM)) for where, text in lines
    ]
    bad = []
    for where, text, future in futures:
        why = problem(text, future.result(timeout=120))
        if why is not None:
            bad.append(f"{where}: {why}: {text!r}")
    assert not bad, "\n".join(bad)


def test_the_check_flags_bad_audio() -> None:
    """The check itself can fail: silence, clipping and a cut line are each caught."""
    text = "Small thumb circles on your sole, from the heel up to the base of each toe."
    rate = 22050
    speech = (0.5 * np.sin(np.linspace(0, 4000, 5 * rate))).astype(np.float32)
    assert problem(text, Rendered(speech, rate)) is None
    assert problem(text, Rendered(np.zeros(0, np.float32), rate)) == "silent"
    assert problem(text, Rendered(np.sign(speech), rate)) == "clipped"
    assert "words" in (problem(text, Rendered(speech[: rate // 2], rate)) or "")
