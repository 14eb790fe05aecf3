"""Ordinary sentences must not stop a session: the short-word classifier, which may spot
a "stop" on its own, read three stops surely in these sentences (in one espeak-ng voice,
with nothing else in the room) where the stop spotter saw none. Real models, real speech;
no recognizer, so only the two stop models and their rules are judged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.listening.engines import open_short_words, open_stop_spotter
from assistant.listening.hearing import Hearing, WordRules
from assistant.listening.spotter import CommandSpotter
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import ListenSettings
from tests.fakes import QuietRecognizer
from tests.harness import speech_samples as ss

MODELS = Path(__file__).resolve().parents[1] / "models"
SETTINGS = ListenSettings(stop_model=MODELS / "microwakeword-stop" / "stop.json",
                          word_model=MODELS / "word-classifier" / "weights.npz")
RATE = 16000
HISS_DBFS = -60.0


def sentences() -> np.ndarray:
    """The tests' ordinary sentences in the voice that gave those stops, 1 s of hiss
    before and after each, as `scripts/stream_metrics.py` lays them out."""
    ss.require_espeak()
    speaker = ss.Speaker.espeak("en-us+m3", 160, 45)
    rng = np.random.default_rng(2)
    amplitude = 32768 * 10 ** (HISS_DBFS / 20) * 3**0.5
    parts = [rng.uniform(-amplitude, amplitude, RATE)]
    for text in ss.SENTENCES:
        parts += [ss.speak(text, speaker).astype(np.float64),
                  rng.uniform(-amplitude, amplitude, RATE)]
    return np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)


def stops_in(audio: np.ndarray, rules: WordRules) -> list[float]:
    vocabulary = load_vocabulary()
    hearing = Hearing(QuietRecognizer(), CommandSpotter(vocabulary, None), vocabulary,
                      open_stop_spotter(SETTINGS), words=open_short_words(SETTINGS),
                      rules=rules)
    events = []
    for at in range(0, audio.size, 1600):
        events += hearing.feed(audio[at : at + 1600].tobytes(), 0.0)
    events += hearing.flush(0.0)
    return [e.end_s for e in events if e.kind == "acted" and e.command is not None
            and e.command.intent == "stop"]


def test_ordinary_sentences_stop_nothing() -> None:
    audio = sentences()
    assert stops_in(audio, WordRules()) == []
    alone = stops_in(audio, WordRules(word_spot_spotter_floor=0.0))
    assert alone, "control: without the stop spotter's say, the classifier alone stops"
