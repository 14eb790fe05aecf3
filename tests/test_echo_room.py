"""The echo canceller with real timestamps: the player's output through PulseAudio into a
real microphone stream, in the virtual room (tests/harness/room.py).

The room is a digital loop (the sink monitor is the microphone), so all the echo is the
assistant's own voice: what is left after cancelling is the residual echo. This proves the
player's DAC times and the microphone's ADC times line up well enough for the filter.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from assistant.adapters.sounddevice_io import MicrophoneStream
from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.settings import SpeechSettings
from assistant.speech.spoken_voice import SpokenVoice, open_spoken_voice
from tests.harness.room import Room
from tests.harness.speech_samples import require_espeak

LINES = (
    "Now slide both thumbs slowly along the arch of the foot, from the heel toward the "
    "toes, pressing gently and breathing out as you go.",
    "If it hurts, use less pressure, and say stop whenever you want to stop. Then rest "
    "your hands for a moment and breathe in slowly.",
)
CONVERGED_AFTER_S = 4.0
MIN_ROOM_ERLE_DB = 8.0
"""Over the whole stretch: each output underrun (several a minute on a busy machine) moves
the echo, and the first half second after it is barely cancelled."""
MIN_MEDIAN_ERLE_DB = 20.0


@pytest.fixture
def voice(room: Room) -> Iterator[SpokenVoice]:
    require_espeak()
    spoken = open_spoken_voice(SpeechSettings())
    yield spoken
    spoken.close()


def test_the_assistants_voice_is_cancelled_from_the_room_microphone(voice: SpokenVoice) -> None:
    reference = EchoReference()
    voice.player.add_tap(reference.write)
    canceller = EchoCanceller(reference, comfort_noise_dbfs=None, quiet_comfort_noise_dbfs=None)
    blocks: queue.Queue[tuple[bytes, float] | None] = queue.Queue()
    raw: list[bytes] = []
    cleaned: list[bytes] = []
    cost = [0.0]

    def consume() -> None:  # the listener thread's part
        while (block := blocks.get()) is not None:
            started = time.thread_time()
            cleaned.append(canceller.process(*block))
            cost[0] += time.thread_time() - started
            raw.append(block[0])

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    with MicrophoneStream(lambda pcm, at: blocks.put((pcm, at))):
        time.sleep(0.3)
        for line in LINES:
            voice.say(line)
        assert voice.wait_idle(timeout_s=60.0)
        time.sleep(0.3)
    blocks.put(None)
    worker.join(timeout=10)

    mic = np.frombuffer(b"".join(raw), dtype="<i2").astype(np.float64)
    out = np.frombuffer(b"".join(cleaned), dtype="<i2").astype(np.float64)
    settled = int(CONVERGED_AFTER_S * 16000)
    loud = np.flatnonzero(np.abs(mic) > 300)
    assert len(loud) and loud[-1] > settled + 32000, "the lines should be longer than that"
    start = loud[0] + settled
    mic_db = 10 * np.log10(np.mean(mic[start:] ** 2) + 1e-9)
    out_db = 10 * np.log10(np.mean(out[start:] ** 2) + 1e-9)
    seconds = len(mic) / 16000
    half_s = [
        10 * np.log10(np.mean(mic[i : i + 8000] ** 2) / (np.mean(out[i : i + 8000] ** 2) + 1e-9))
        for i in range(start, loud[-1] - 8000, 8000)
        if np.mean(mic[i : i + 8000] ** 2) > 300**2
    ]
    median, worst = np.median(half_s), np.min(half_s)
    print(
        f"\nroom ERLE after {CONVERGED_AFTER_S:.0f} s of speech: {mic_db - out_db:.1f} dB "
        f"(mic {mic_db - 90.3:.1f} dBFS, out {out_db - 90.3:.1f} dBFS); per half second: "
        f"median {median:.1f} dB, worst {worst:.1f} dB; "
        f"{canceller.reference.glitches} output glitches, "
        f"filter peak at {1000 * canceller.path_peak_s():.1f} ms; "
        f"{1000 * cost[0] / seconds:.1f} ms CPU per s; stats {canceller.stats}"
    )
    assert mic_db - out_db >= MIN_ROOM_ERLE_DB
    assert median >= MIN_MEDIAN_ERLE_DB
