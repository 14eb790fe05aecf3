"""Settings, one frozen dataclass per subsystem; only the CLI builds them from flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["self", "partner"]
Pressure = Literal["light", "medium", "firm"]
PRESSURES: tuple[Pressure, ...] = ("light", "medium", "firm")
PACES: dict[str, float] = {"slow": 1.25, "normal": 1.0, "fast": 0.8}


@dataclass(frozen=True)
class SessionSettings:
    routine: str = "full"
    mode: Mode | None = "self"
    """None: ask at the start, by voice or keyboard (myself or partner)."""
    pressure: Pressure = "medium"
    pace_factor: float = 1.0
    """Multiplies step durations and the speaking pace; 1.25 is slower."""
    min_pace_factor: float = 0.6
    max_pace_factor: float = 1.6
    pace_step: float = 0.2
    time_scale: float = 1.0
    """Multiplies every duration, so tests and demos run a routine in seconds."""
    answer_timeout_s: float = 20.0
    """A question before the session (resume? myself or partner? a safety question? end or
    go on gently?) with no answer this long is asked again, then its safe default is
    taken. Scaled by `time_scale` like every duration."""
    disclaimer_heard: bool = False
    """The not-medical-advice line is said every session: in its short form once heard."""
    checkin_interval_s: float = 50.0
    """Partner mode: a pressure check-in when nothing has been said for this long."""
    pressure_remembered: bool = False
    """The starting pressure was learned last time: say so."""
    pace_remembered: Literal["slower", "faster"] | None = None
    """The starting pace was learned last time (slower or faster than the routine's): say so."""
    routine_remembered: bool = False
    """No routine was asked for, so it is the one from last time: say so."""


@dataclass(frozen=True)
class MemorySettings:
    folder: Path
    """Where the SQLite memory lives (the user's data directory unless overridden)."""
    resume: bool = False
    """Pick up the last unfinished session from the step it was on."""
    use_last_routine: bool = False
    """No routine was asked for (flag or config file): use last time's, and say so."""
    busy_timeout_s: float = 5.0
    """How long to wait for another program's lock on the memory file before going on
    without memory."""


@dataclass(frozen=True)
class SpeechSettings:
    voice: str | None = None
    """`piper:joe`, `espeak:ID` or a bare system voice id, name or language; None: the
    natural voice when it loads, else the system default (`speech/renderers.py`)."""
    rate_wpm: int = 150
    volume: float = 0.8
    """0..1 linear gain on rendered speech and chimes."""
    volume_step: float = 0.15
    chimes: bool = True
    output_device: str | int | None = None
    blocksize_frames: int = 256
    """Output block: small, so a cut-off takes effect within a few milliseconds."""
    output_latency_s: float = 0.02
    """Audio buffered ahead of the speakers. Less makes a cut-off quicker (20 ms: p95 36 ms
    in the room, target 50), more makes underruns rarer; each one moves the echo the
    canceller learnt (a few per 3 minutes here, now that the recognizer has its own
    process; in-process it starved the output twice a second)."""
    cache_dir: Path | None = None
    """Rendered lines are kept here (keyed by voice, rate and text) so the next session
    starts speaking at once; None keeps nothing on disk."""
    cache_max_bytes: int = 50_000_000
    """The disk cache's bound: about 19 minutes of speech; least recently used goes first."""


@dataclass(frozen=True)
class ListenSettings:
    engine: Literal["auto", "vosk", "pocketsphinx"] = "auto"
    model_path: Path | None = None
    input_device: str | int | None = None
    sample_rate_hertz: int = 16000
    block_seconds: float = 0.05
    search_dirs: tuple[Path, ...] = field(default_factory=tuple)
    echo_cancel: bool = True
    """Take the assistant's own voice out of the microphone before recognizing."""
    echo_tail_seconds: float = 0.2
    """Echo canceller filter length: room reverb plus timestamp error."""
    barge_in: bool = True
    """Hold the assistant's line the moment the user talks over it (needs echo_cancel)."""
    stop_model: Path | None = None
    """The streaming "stop" spotter's model settings (its .json, the .tflite beside it);
    None listens with the recognizer alone."""
    word_model: Path | None = None
    """The short-word classifier's weights (`listening/short_words.py`); None listens
    without it."""
    save_audio_dir: Path | None = None
    """Keep microphone.wav and heard.wav (what the recognizer got) here, for debugging."""


@dataclass(frozen=True)
class CheckSettings:
    """`massage-assistant check`: how long it waits for each answer and for "stop"."""

    listen_s: float = 8.0
    """How long to listen for "stop" on each try."""
    tries: int = 2
    answer_timeout_s: float = 30.0
    """A yes/no answer (typed or spoken) not given in this long counts as no answer."""
    after_prompt_s: float = 0.3
    """Audio from this soon after the assistant stops talking is ignored: its own voice."""
    heard_wait_s: float = 1.5
    """After an early (partial) "stop", how long to wait for the final result."""
    low_level_dbfs: float = -45.0
    """A loudest block quieter than this: the microphone hardly hears the user."""
    high_level_dbfs: float = -4.0
    """A loudest block louder than this (RMS): the input is overloaded."""
