"""The assistant's own voice (espeak-ng through pyttsx3, as played) heard back by pocketsphinx.

Speech is rendered with the real Pyttsx3Renderer at the three pace rates (slow, normal,
fast: 120, 150 and 188 words a minute), resampled to the recognizer's 16 kHz and streamed
in 0.1 s blocks with gaps between phrases, like a microphone.

pocketsphinx hears espeak's default English voice poorly: over all 71 command phrases it
heard 17-24 (measured 6 passes); so these are phrases it does hear. espeak renders a line
a little differently each time, so the share varies from run to run.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from assistant.adapters.pocketsphinx_asr import PocketsphinxRecognizer
from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer
from assistant.session.vocabulary import load_vocabulary
from assistant.speech.audio_out import resample
from tests.harness import speech_samples as ss
from tests.test_pocketsphinx_asr import hits_and_wrong, stream

PACE_RATES = (120, 150, 188)
HEARD_PHRASES = ("stop", "stop it", "ouch", "next step", "repeat", "wait", "softer",
                 "speak up", "stronger")
HEARD_MIN = 0.7
"""Measured 0.85-0.93 of these 27 renders heard as their command (9 passes); less a margin."""
NOT_COMMANDS = (
    "Make small thumb circles on your sole, from the bottom of the heel up to the toes.",
    "Press and hold the centre of your arch for about thirty seconds, breathing out slowly.",
    "Take your time getting up.",
)
"""Measured: nothing heard in any of 12 renders each at 150 words a minute, one per stream.
Other instructions do trip it now and then ("grip the arch..." heard as stop, 1 in 6), as
do these at 120 or 188 (2 in 48), which is why the spotter also checks its own voice."""


@pytest.fixture(scope="module")
def renderer() -> Iterator[Pyttsx3Renderer]:
    engine = Pyttsx3Renderer()
    yield engine
    engine.close()


def fresh_recognizer() -> PocketsphinxRecognizer:
    rec = PocketsphinxRecognizer()
    rec.set_phrases(load_vocabulary().all_phrases())
    return rec


def rendered(renderer: Pyttsx3Renderer, text: str, rate_wpm: int) -> ss.Samples:
    """The line as the assistant would play it, as 16 kHz 16-bit samples."""
    line = renderer.render(text, rate_wpm)
    audio = resample(line.audio, line.sample_rate, ss.RATE)
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


def test_command_phrases_in_the_assistants_voice_are_heard_back(
    renderer: Pyttsx3Renderer,
) -> None:
    pieces = [(p, rendered(renderer, p, rate)) for rate in PACE_RATES for p in HEARD_PHRASES]
    hits, missed, wrong = hits_and_wrong(fresh_recognizer(), pieces)
    assert len(hits) / len(pieces) >= HEARD_MIN, f"missed: {missed}"
    # Measured: 3 wrong, all this voice's "softer" heard as "stop stop" at every rate
    # since the recognizer decodes a word's first sound (its lead-in); before, "softer"
    # came out "thought op", "softer ah" or "what a". A Piper voice's "softer" is
    # "softer" 3 of 3.
    assert len(wrong) <= 3, wrong


@pytest.mark.parametrize("sentence", NOT_COMMANDS)
def test_a_sentence_without_a_command_is_not_heard_as_one(
    renderer: Pyttsx3Renderer, sentence: str
) -> None:
    _, heard = stream(fresh_recognizer(), [(sentence, rendered(renderer, sentence, 150))])
    assert not [h.text for h in heard]
