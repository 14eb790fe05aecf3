"""Speakers and microphone through sounddevice (PortAudio); the only module importing it.

Both callbacks stay trivial so the audio thread never waits: the speaker callback asks a
FrameSource (the player) for frames, the microphone callback hands bytes and a
timestamp to a caller-supplied function (a queue put). Timestamps are converted from
PortAudio's clock to time.monotonic() by their offset from the callback's own "now",
so they are right whatever clock the host API uses.

The callbacks run Python, so they need the GIL within a block period (~6 ms). With the
default 5 ms switch interval one busy Python thread can starve them (measured: a dozen
underruns in 8 s); opening a speaker stream lowers the interval to 1 ms (none).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from assistant.errors import AudioUnavailable
from assistant.speech.audio_out import FrameSource

Direction = Literal["input", "output"]
DeviceSpec = str | int | None
GIL_SWITCH_S = 0.001
OnAudio = Callable[[bytes, float], None]
"""Receives 16-bit mono PCM and the time.monotonic() its first sample was captured."""


class NoAudioDevice(AudioUnavailable):
    """The sound system lists no device at all for this direction (no card, no server)."""

    def __init__(self, direction: Direction) -> None:
        super().__init__(f"no audio {direction} device found")
        self.direction = direction


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate_hertz: int
    is_default_input: bool
    is_default_output: bool


def _sd() -> Any:
    try:
        import sounddevice
    except OSError:
        raise AudioUnavailable(
            "PortAudio library not found: install it with `sudo apt-get install libportaudio2`"
        ) from None
    return sounddevice


def rescan_devices() -> None:
    """Re-initialise PortAudio so devices (or a sound server) that appeared since show up."""
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[DeviceInfo]:
    sd = _sd()
    try:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as error:
        raise AudioUnavailable(f"cannot list audio devices: {_first_line(error)}") from None
    return [
        DeviceInfo(
            index=i,
            name=str(d["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_rate_hertz=round(float(d["default_samplerate"])),
            is_default_input=i == default_in,
            is_default_output=i == default_out,
        )
        for i, d in enumerate(devices)
    ]


def find_device(spec: DeviceSpec, direction: Direction) -> DeviceInfo:
    """The device named (exactly, then by substring, any case) or numbered by `spec`;
    None means the system default."""
    devices = list_devices()
    usable = [d for d in devices if (d.inputs if direction == "input" else d.outputs) > 0]
    if not usable:
        raise NoAudioDevice(direction)
    if spec is None:
        default = [
            d for d in usable
            if (d.is_default_input if direction == "input" else d.is_default_output)
        ]
        return (default or usable)[0]
    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        found = [d for d in usable if d.index == int(text)]
    else:
        found = [d for d in usable if d.name.lower() == text.lower()] or [
            d for d in usable if text.lower() in d.name.lower()
        ]
    if not found:
        names = ", ".join(f"{d.index}: {d.name}" for d in usable)
        raise AudioUnavailable(f"no audio {direction} device matches {spec!r} (have {names})")
    return found[0]


class SpeakerStream:
    """A running mono float32 output stream that pulls every block from a FrameSource."""

    def __init__(
        self,
        source: FrameSource,
        sample_rate: int | None,
        blocksize: int,
        device: DeviceSpec,
        *,
        latency: float | str = "low",
    ) -> None:
        """`latency` is PortAudio's: "low" (two blocks here) or seconds. Every block of
        it adds to the time `silence()` takes to be heard."""
        sd = _sd()
        info = find_device(device, "output")
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._source = source
        self._sample_rate = sample_rate or info.default_rate_hertz
        self._blocksize = max(blocksize, 1)
        self.underflows = 0
        self.blocks = 0
        """Callbacks so far; `wait_running` watches it."""
        self.latency_s = 0.0
        """Output latency the stream reports; the fallback when a callback's times are 0."""
        self.error: Exception | None = None
        """The first exception the source raised in the callback (the block was silenced)."""
        try:
            self._stream = sd.OutputStream(
                samplerate=self._sample_rate,
                blocksize=blocksize,
                device=info.index,
                channels=1,
                dtype="float32",
                latency=latency,
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError, OSError) as error:
            raise AudioUnavailable(_open_failed("output", info.name, error)) from None
        self.latency_s = float(self._stream.latency)
        self.device_name = info.name

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def close(self) -> None:
        self._stream.close(ignore_errors=True)

    def wait_running(self, seconds: float = 0.1, timeout_s: float = 1.0) -> bool:
        """Wait until the stream has pulled `seconds` of audio at its steady pace.

        A sound server may take a few hundred ms after opening to start consuming
        (PulseAudio prebuffers); waiting here keeps that out of the first line.
        """
        deadline = time.monotonic() + timeout_s
        frames = seconds * self._sample_rate
        while self.blocks * self._blocksize < frames:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        self.blocks += 1
        if status.output_underflow:
            self.underflows += 1
            self._source.underflowed()
        ahead = time_info.outputBufferDacTime - time_info.currentTime
        if not 0.0 < ahead < 1.0:
            ahead = self.latency_s
        try:
            self._source.fill(outdata[:, 0], now + ahead)
        except Exception as error:
            outdata.fill(0)
            if self.error is None:
                self.error = error


class MicrophoneStream:
    """16 kHz (by default) mono 16-bit capture; the callback only calls `on_audio`."""

    def __init__(
        self,
        on_audio: OnAudio,
        *,
        sample_rate_hertz: int = 16000,
        block_seconds: float = 0.05,
        device: DeviceSpec = None,
    ) -> None:
        sd = _sd()
        info = find_device(device, "input")
        self._on_audio = on_audio
        self.overflows = 0
        try:
            self._stream = sd.RawInputStream(
                samplerate=sample_rate_hertz,
                blocksize=max(1, round(sample_rate_hertz * block_seconds)),
                device=info.index,
                channels=1,
                dtype="int16",
                latency="low",
                callback=self._callback,
            )
        except (sd.PortAudioError, ValueError, OSError) as error:
            raise AudioUnavailable(_open_failed("input", info.name, error)) from None
        self.latency_s = float(self._stream.latency)
        self.device_name = info.name

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.close(ignore_errors=True)

    def __enter__(self) -> MicrophoneStream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        if status.input_overflow:
            self.overflows += 1
        behind = time_info.currentTime - time_info.inputBufferAdcTime
        if not 0.0 < behind < 1.0:
            behind = self.latency_s + frames / self._stream.samplerate
        self._on_audio(bytes(indata), now - behind)


def _open_failed(direction: Direction, name: str, error: BaseException) -> str:
    reason = _first_line(error)
    hint = ""
    if "permission" in reason.lower() or "busy" in reason.lower():
        hint = "; check that no other program holds it and that you are in the 'audio' group"
    return f"cannot open audio {direction} {name!r}: {reason}{hint}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
