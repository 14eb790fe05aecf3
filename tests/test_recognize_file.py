"""recognize_file: WAV conversion, one command per utterance, a real engine on a long file."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.adapters.pocketsphinx_asr import PocketsphinxRecognizer
from assistant.listening.recognize_file import (
    AudioFileError,
    commands_from,
    read_wav,
    recognize_file,
)
from assistant.ports import Heard
from assistant.session.vocabulary import load_vocabulary
from tests.fakes import QuietRecognizer
from tests.harness import speech_samples as ss


def write(path: Path, frames: np.ndarray, rate: int, width: int, channels: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return path


def tone(rate: int, seconds: float = 1.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 10000 * np.sin(2 * np.pi * hz * t)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / x.size)


def test_16k_mono_is_read_as_is(tmp_path: Path) -> None:
    x = tone(16000).astype("<i2")
    got = read_wav(write(tmp_path / "a.wav", x, 16000, 2, 1))
    assert got.dtype == np.int16
    assert np.array_equal(got, x)


def test_other_rates_and_stereo_become_16k_mono(tmp_path: Path) -> None:
    left, right = tone(44100, hz=440.0), tone(44100, hz=440.0) * 0.5
    stereo = np.stack([left, right], axis=1).astype("<i2")
    got = read_wav(write(tmp_path / "b.wav", stereo, 44100, 2, 2))
    assert abs(got.size - 16000) <= 1
    assert abs(peak_hz(got, 16000) - 440.0) < 2.0
    assert 6000 < np.abs(got).max() < 8000  # the average of the two channels


def test_8_and_24_bit_samples_keep_their_level(tmp_path: Path) -> None:
    x = tone(8000)
    u8 = (np.round(x / 256) + 128).astype(np.uint8)
    got8 = read_wav(write(tmp_path / "c.wav", u8, 8000, 1, 1))
    v = np.round(x * 256).astype(np.int32)
    b24 = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8)
    got24 = read_wav(write(tmp_path / "d.wav", b24, 8000, 3, 1))
    for got in (got8, got24):
        assert got.size == 16000
        assert 9000 < np.abs(got).max() < 11000
        assert abs(peak_hz(got, 16000) - 440.0) < 2.0


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioFileError, match=r"notes\.wav: not a PCM WAV"):
        read_wav(bad)
    with pytest.raises(AudioFileError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def h(text: str, final: bool, start: float, end: float) -> Heard:
    return Heard(text, final, start, end)


def test_partials_and_the_final_of_one_utterance_count_once() -> None:
    vocab = load_vocabulary()
    heard = [
        h("stop", False, 1.0, 1.3), h("stop", False, 1.0, 1.4), h("stop", True, 1.02, 1.41),
        h("less pressure", True, 3.0, 3.8),
        h("slower", False, 5.0, 5.4), h("slower", True, 5.0, 5.5),
        h("slower", True, 7.0, 7.5),
    ]
    assert commands_from(heard, vocab) == [
        {"intent": "stop", "phrase": "stop", "start": 1.02, "end": 1.41},
        {"intent": "less_pressure", "phrase": "less pressure", "start": 3.0, "end": 3.8},
        {"intent": "slower", "phrase": "slower", "start": 5.0, "end": 5.5},
        {"intent": "slower", "phrase": "slower", "start": 7.0, "end": 7.5},
    ]


def test_a_partial_counts_alone_only_for_what_acts_on_it() -> None:
    """A session acts on an early "stop" at once; an early "repeat" waits for the final
    result, which may drop it (the sentence went on)."""
    vocab = load_vocabulary()
    heard = [
        h("stop", False, 1.0, 1.3), h("hello", True, 0.5, 4.0),
        h("repeat", False, 6.0, 6.4), h("hello", True, 5.5, 9.0),
    ]
    assert [c["intent"] for c in commands_from(heard, vocab)] == ["stop"]


class ScriptedRecognizer(QuietRecognizer):
    """Says `text` whenever a chunk holds a loud sample; records what it was fed."""

    def __init__(self) -> None:
        self.phrases: list[str] = []
        self.fed = 0

    def set_phrases(self, phrases: Sequence[str]) -> None:
        self.phrases = list(phrases)

    def accept(self, pcm: bytes) -> list[Heard]:
        x = np.frombuffer(pcm, dtype="<i2")
        start = self.fed / self.sample_rate
        self.fed += x.size
        if np.abs(x).max(initial=0) > 1000:
            return [Heard("stop", True, start, self.fed / self.sample_rate)]
        return []


def test_the_file_is_fed_as_one_stream_in_chunks(tmp_path: Path) -> None:
    x = np.zeros(16000 * 3, dtype="<i2")
    x[16000 * 2 + 100] = 5000
    rec = ScriptedRecognizer()
    vocab = load_vocabulary()
    found = recognize_file(write(tmp_path / "e.wav", x, 16000, 2, 1), rec, vocab)
    assert rec.fed == x.size
    assert rec.phrases == vocab.all_phrases()
    assert found == [
        {"intent": "stop", "phrase": "stop", "start": 2.0, "end": 2.1, "by": "recognizer"}]


COMMANDS = ("stop it", "softer", "repeat", "how much longer")
VOICE = ("en+m3", 175, 40)


def test_a_long_recording_yields_its_commands_in_order_on_time(tmp_path: Path) -> None:
    ss.require_espeak()
    vocab = load_vocabulary()
    pieces: list[tuple[str, ss.Samples]] = []
    for i, command in enumerate(COMMANDS):
        for sentence in ss.SENTENCES[3 * i : 3 * i + 3]:
            pieces.append(("", ss.synthesize(sentence, *VOICE)))
        pieces.append((command, ss.synthesize(command, *VOICE)))
    stream, placed = ss.concatenate(pieces, gap_s=1.5)
    path = tmp_path / "session.wav"
    ss.write_wav(path, stream)
    found = recognize_file(path, PocketsphinxRecognizer(), vocab)
    truth = [p for p in placed if p.label]
    assert [f["intent"] for f in found] == [vocab.intent_for(p.label)[0] for p in truth]  # type: ignore[index]
    for f, p in zip(found, truth, strict=True):
        assert abs(float(f["start"]) - p.start_s) <= 0.7  # type: ignore[arg-type]
        assert abs(float(f["end"]) - p.end_s) <= 0.7  # type: ignore[arg-type]


@pytest.mark.parametrize(("rate", "converted"), [(8000, True), (16000, False)])
def test_the_program_says_what_it_read_and_that_nothing_was_heard(
    tmp_path: Path, rate: int, converted: bool
) -> None:
    """`massage-assistant recognize` on quiet hiss: no JSON line, and stderr says why."""
    import subprocess
    import sys

    from assistant.session.dialog import load_dialog

    dialog = load_dialog()
    hiss = np.random.default_rng(0).normal(0, 30, 2 * rate).astype("<i2")
    path = write(tmp_path / "quiet.wav", hiss, rate, 2, 1)
    proc = subprocess.run([sys.executable, "-m", "assistant", "recognize", str(path),
                           "--engine", "pocketsphinx"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    err = proc.stderr
    assert dialog.line("recognize.read", path=path, seconds=2.0, rate=rate, bits=16,
                       channels=dialog.line("recognize.mono")) in err
    told = dialog.line("recognize.converted" if converted else "recognize.as_is", rate=16000)
    assert told in err
    assert (dialog.line("recognize.low_rate", rate=rate, limit=rate // 2, wanted=16000)
            in err) == (rate < 16000)
    assert dialog.line("recognize.nothing", engine="pocketsphinx") in err


def test_only_the_commands_of_the_moment_act(tmp_path: Path) -> None:
    """Listening as while a step runs (`intents`), "no i haven't" is no command and "next
    step" still is; listening for everything (a question waiting), both act. (A sentence
    before each lets pocketsphinx's cepstral mean settle on this voice.)"""
    from assistant.session.states import State, triggers_from

    ss.require_espeak()
    vocab = load_vocabulary()
    voice = ("en-us", 150, 50)
    pieces = [("", ss.synthesize(ss.SENTENCES[0], *voice)),
              ("no", ss.synthesize("no i haven't", *voice)),
              ("", ss.synthesize(ss.SENTENCES[1], *voice)),
              ("skip", ss.synthesize("next step", *voice))]
    stream, _ = ss.concatenate(pieces, gap_s=1.5)
    path = tmp_path / "two.wav"
    ss.write_wav(path, stream)
    in_step = frozenset(i.name for i in vocab.intents) & triggers_from(State.RUNNING)
    everything = [f["intent"] for f in recognize_file(path, PocketsphinxRecognizer(), vocab)]
    stepping = [f["intent"] for f in recognize_file(path, PocketsphinxRecognizer(), vocab,
                                                    intents=in_step)]
    assert everything == ["no", "skip"]
    assert stepping == ["skip"]
