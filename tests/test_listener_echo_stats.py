"""The listener's `echo_stats` event: the canceller's figures every so often and at the end
(what a long session, or the benchmark's soak run, reads the echo's reduction over time
and the output underruns from)."""

from __future__ import annotations

import queue

import numpy as np

from assistant.events import EventLog
from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.listening.listener import Listener
from assistant.listening.recognize_file import resample
from assistant.listening.spotter import CommandSpotter
from assistant.session.guide import Command
from assistant.session.vocabulary import load_vocabulary
from tests.fakes import ManualClock, QuietRecognizer

RATE = 16000
OUT_RATE = 44100
BLOCK_S = 0.05


def test_echo_stats_come_every_interval_of_audio_and_once_at_the_end() -> None:
    vocab = load_vocabulary()
    events = EventLog(ManualClock())
    reference = EchoReference(RATE, keep_seconds=8.0)  # the test feeds faster than real time
    echo = EchoCanceller(reference)
    listener = Listener(QuietRecognizer(), CommandSpotter(vocab, None), vocab,
                        queue.Queue[Command](), events, echo=echo, echo_stats_every_s=2.0)
    rng = np.random.default_rng(4)
    seconds, playing_s = 5.0, 3.0
    played = (0.1 * rng.standard_normal(int(OUT_RATE * seconds))).astype(np.float32)
    played[int(OUT_RATE * playing_s):] = 0.0
    t0 = 100.0
    for i in range(0, played.size, 512):  # the player runs ahead of the microphone
        reference.write(played[i : i + 512], t0 + i / OUT_RATE, OUT_RATE)
    # The room: the echo, at half the level, and some hiss.
    heard = resample(played.astype(np.float64), OUT_RATE, RATE) * 0.5 * 32768
    mic = np.clip(heard + rng.normal(0, 30, heard.size), -32768, 32767).astype("<i2")
    block = int(RATE * BLOCK_S)
    reference.underflowed()  # the player's underrun, counted from then on
    listener.start()
    for i in range(0, mic.size, block):
        listener.feed(mic[i : i + block].tobytes(), t0 + i / RATE)
    listener.stop()
    stats = events.of_type("echo_stats")
    assert [e["final"] for e in stats] == [False, False, True]
    first, second, last = stats
    assert first["echo_s"] > 1.5 and first["reduction_db"] > 3.0, "learning from zero"
    assert second["echo_s"] < first["echo_s"], "the assistant fell silent at 3 s"
    assert second["reduction_db"] > 15.0, "learnt"
    assert last["reduction_db"] is None and last["echo_s"] == 0.0, "nothing played at the end"
    assert [e["underruns"] for e in stats] == [1, 1, 1], "the player's underrun, counted"
    keys = {"reduction_db", "echo_s", "underruns", "shifts", "resets", "moves", "rewinds",
            "final"}
    assert all(keys <= set(e) for e in stats)
