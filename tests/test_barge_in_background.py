"""Barge-in with talk in the background (a TV next door), on real speech.

The TV's words pass the echo canceller (they are no echo), and while the assistant's
line is held the room holds nothing else: taken for the user, the TV kept the line held.
Real speech here (espeak-ng sentences as the TV, another voice's "stop" as the user),
fed to the detector frame by frame as the canceller does when the assistant is silent.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assistant.listening.barge_in import BargeInSettings, SpeechOverEcho
from tests.harness.speech_samples import (
    RATE,
    SENTENCES,
    at_level,
    require_espeak,
    synthesize,
)

FRAME = RATE // 100
TV_DBFS = -38.0
USER_DBFS = -26.0


def onsets(detector: SpeechOverEcho, audio: npt.NDArray[np.float64]) -> list[float]:
    """Seconds at which the detector starts to report the user speaking."""
    found, before = [], False
    for i in range(len(audio) // FRAME):
        frame = audio[i * FRAME : (i + 1) * FRAME]
        energy = float(frame @ frame)
        now = detector.frame(energy, energy, FRAME, echo=False, trusted=True)
        if now and not before:
            found.append(i * FRAME / RATE)
        before = now
    return found


def tv() -> npt.NDArray[np.float64]:
    require_espeak()
    talk = np.concatenate([synthesize(s, voice="en-us", rate=170) for s in SENTENCES[:12]])
    return at_level(talk, TV_DBFS)


def test_a_tv_talking_on_is_not_taken_for_the_user() -> None:
    audio = tv()
    minutes = len(audio) / RATE / 60
    ungated = onsets(SpeechOverEcho(BargeInSettings(background_share=2.0)), audio)
    gated = onsets(SpeechOverEcho(), audio)
    settle = BargeInSettings().background_from_s
    late = [t for t in gated if t >= settle]
    assert len(ungated) / minutes > 30, "without the gate the TV is the user (the control)"
    assert len(late) / minutes <= 0.2 * len(ungated) / minutes, (len(late), len(ungated))


def test_the_user_over_the_tv_is_still_noticed() -> None:
    audio = tv()
    stop = at_level(synthesize("stop", voice="en-gb+m3", rate=150), USER_DBFS)
    rng = np.random.default_rng(3)
    places = sorted(rng.choice(np.arange(4 * RATE, len(audio) - RATE, FRAME), 8, replace=False))
    mixed = audio.copy()
    for at in places:
        mixed[at : at + len(stop)] += stop
    found = onsets(SpeechOverEcho(), mixed)
    noticed = [at for at in places
               if any(at / RATE <= t <= (at + len(stop)) / RATE + 0.1 for t in found)]
    assert len(noticed) == len(places), (len(noticed), len(places))
