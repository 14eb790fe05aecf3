"""A private PulseAudio "room" for tests: a null sink is the speakers, its monitor the mic.

Everything the program plays lands in the sink; anything a test plays (a simulated user
saying "stop") goes to the same sink, so the program's microphone (the default source,
the monitor) hears both, as in a real room.

Isolation: the server gets its own runtime dir, HOME and an anonymous-auth socket;
clients get PULSE_SERVER, PULSE_COOKIE and a client.conf with autospawn off, so nothing
touches the user's own sound setup.

Timebase: a `parec` tap on the monitor runs for the room's whole life, asking for 2 ms
fragments. That also keeps the null sink rendering in 2 ms blocks, like a low-latency
card; with nobody asking, it renders in 2 s blocks and a new stream can stall for over
a second. Each chunk read is stamped with time.monotonic() on arrival. A chunk cannot
arrive before the sink rendered it, so the earliest arrival relative to its sample
count (the lower envelope over the recording) maps sample indices to monotonic time.
Limits: the sink renders a block at the block's start, so a sample may be mapped up to
one block (`Room.block_s`) early; `Recording.delivery_spread_s` is how much later than
the envelope chunks typically arrived. Measured here: the player's own timestamps agree
with this timebase to about 3.5 ms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pytest

PULSE_HINT = "sudo apt-get install pulseaudio pulseaudio-utils libasound2-plugins"
SINK = "room"
SOURCE = "room.monitor"
RATE = 44100
"""The sink's own rate: recording at it avoids a resampler's delay in the timebase."""
SOUND = 0.002
"""A sample above this (about -54 dBFS) is sound, not the null sink's silence."""


@dataclass(frozen=True)
class Recording:
    """Mono samples of the sink monitor, with the monotonic time of sample 0."""

    samples: npt.NDArray[np.float32]
    sample_rate: int
    start_time: float
    delivery_spread_s: float
    """Median lateness of chunk arrivals beyond the earliest one (timebase jitter)."""

    def time_at(self, index: int) -> float:
        return self.start_time + index / self.sample_rate

    def index_at(self, t: float) -> int:
        return min(max(0, round((t - self.start_time) * self.sample_rate)), len(self.samples))

    def window(self, t0: float | None = None, t1: float | None = None) -> npt.NDArray[np.float32]:
        lo = 0 if t0 is None else self.index_at(t0)
        hi = len(self.samples) if t1 is None else self.index_at(t1)
        return self.samples[lo:hi]

    def rms(self, t0: float | None = None, t1: float | None = None) -> float:
        part = self.window(t0, t1)
        return float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) if len(part) else 0.0

    def first_sound(self, after: float | None = None, threshold: float = SOUND) -> float | None:
        lo = 0 if after is None else self.index_at(after)
        loud = np.flatnonzero(np.abs(self.samples[lo:]) > threshold)
        return self.time_at(lo + int(loud[0])) if len(loud) else None

    def last_sound(self, after: float | None = None, threshold: float = SOUND) -> float | None:
        """End time of the last sample above `threshold` (about -54 dBFS by default)."""
        lo = 0 if after is None else self.index_at(after)
        loud = np.flatnonzero(np.abs(self.samples[lo:]) > threshold)
        return self.time_at(lo + int(loud[-1]) + 1) if len(loud) else None

    def save(self, path: Path) -> None:
        _write_wav(path, self.samples, self.sample_rate)


class Recorder:
    """Collects the tap's chunks from `start` until `stop()`; a context manager too."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._arrivals: list[tuple[float, int]] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._open = True
        self.sounded = False
        """Whether any sound has been heard since recording began."""
        self.recording: Recording | None = None

    def _add(self, chunk: bytes, arrived: float) -> None:
        loud = self.sounded  # once sound is heard, no need to look again
        if not loud:
            samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], "<i2").astype(np.int32)
            loud = bool(np.abs(samples).max(initial=0) > SOUND * 32768)
        with self._lock:
            if self._open:
                self._chunks.append(chunk)
                self._bytes += len(chunk)
                self._arrivals.append((arrived, self._bytes // 2))
                self.sounded = self.sounded or loud

    def tail_rms(self, seconds: float) -> float:
        """Level of the last `seconds` heard so far, while still recording."""
        need = int(seconds * RATE) * 2
        with self._lock:
            tail, size = [], 0
            for chunk in reversed(self._chunks):
                tail.append(chunk)
                size += len(chunk)
                if size >= need:
                    break
        data = b"".join(reversed(tail))[-need:]
        if len(data) < need:
            return 0.0
        samples = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
        return float(np.sqrt(np.mean(samples**2)))

    def stop(self) -> Recording:
        with self._lock:
            self._open = False
        data = b"".join(self._chunks)
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
        if not self._arrivals:
            raise RuntimeError("the room recorded nothing: is its parec tap running?")
        offsets = np.array([t - n / RATE for t, n in self._arrivals])
        start = float(offsets.min())
        self.recording = Recording(
            samples / 32768.0, RATE, start, float(np.median(offsets) - start)
        )
        return self.recording

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Room:
    """One private PulseAudio server; `start()`/`stop()` own its processes."""

    def __init__(self, tap_latency_ms: int = 2) -> None:
        self.tap_latency_ms = tap_latency_ms
        self.base = Path(tempfile.mkdtemp(prefix="massage-room-"))
        runtime = self.base / "runtime"
        runtime.mkdir(mode=0o700)
        (self.base / "client.conf").write_text("autospawn = no\n")
        self.socket = runtime / "native"
        self.pulse_env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_COOKIE": str(self.base / "cookie"),
            "PULSE_CLIENTCONFIG": str(self.base / "client.conf"),
            "XDG_RUNTIME_DIR": str(runtime),
        }
        """What a client needs to reach this room (and only this room)."""
        self.env = {**os.environ, **self.pulse_env}
        """A full environment for subprocesses: the test's own plus `pulse_env`."""
        self._server: subprocess.Popen[bytes] | None = None
        self._tap: subprocess.Popen[bytes] | None = None
        self._recorders: list[Recorder] = []
        self._lock = threading.Lock()
        self._tap_started = threading.Event()

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and the monitor tap; pytest.skip if PulseAudio can't run."""
        for tool in ("pulseaudio", "pactl", "parec", "paplay"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} not found; install PulseAudio with `{PULSE_HINT}`")
        log = (self.base / "server.log").open("wb")
        server_env = {
            **self.env,
            "HOME": str(self.base),
            "XDG_CONFIG_HOME": str(self.base / "config"),
        }
        self._server = subprocess.Popen(
            [
                "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                "--disallow-exit", "--use-pid-file=no", "--log-target=stderr",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
                "-L", f"module-null-sink sink_name={SINK} rate={RATE}",
                "-L", "module-always-sink",
            ],
            env=server_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self._server.poll() is not None or time.monotonic() > deadline:
                reason = self.server_log()[-600:]
                self.stop()
                pytest.skip(f"PulseAudio could not start ({PULSE_HINT}?): {reason}")
            time.sleep(0.05)
        self.reset()
        self._start_tap()

    def stop(self) -> None:
        """End the tap and the server, then remove the room's files."""
        for proc in (self._tap, self._server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._tap = self._server = None
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def block_s(self) -> float:
        """Upper bound on the null sink's rendering block: the tap asks for this latency,
        and the sink serves the smallest latency any client asks for."""
        return self.tap_latency_ms / 1000

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in (self._server, self._tap) if p is not None]

    def reset(self) -> None:
        """Defaults back to the room, sink at 100 % and unmuted."""
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", SOURCE)
        self.pactl("set-sink-volume", SINK, "100%")
        self.pactl("set-sink-mute", SINK, "0")

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def server_log(self) -> str:
        path = self.base / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _answers(self) -> bool:
        done = subprocess.run(
            ["pactl", "info"], env=self.env, capture_output=True, timeout=10, check=False
        )
        return done.returncode == 0

    # -- hearing and speaking in the room ----------------------------------------

    def record(self) -> Recorder:
        """Start collecting what the room hears; `with room.record() as rec:` then
        `rec.recording`, or `rec.stop()`."""
        if self._tap is None or self._tap.poll() is not None:
            raise RuntimeError("the room's monitor tap is not running")
        recorder = Recorder()
        with self._lock:
            self._recorders = [r for r in self._recorders if r._open] + [recorder]
        return recorder

    def play(self, sound: Path | npt.NDArray[np.float32], sample_rate: int = RATE) -> float:
        """Play a WAV file or mono float samples into the room (as the user speaking);
        returns when done, with the time.monotonic() at which paplay was started."""
        path = sound if isinstance(sound, Path) else self.base / f"say-{time.monotonic_ns()}.wav"
        if not isinstance(sound, Path):
            _write_wav(path, sound, sample_rate)
        started = time.monotonic()
        subprocess.run(
            ["paplay", f"--device={SINK}", "--latency-msec=20", str(path)],
            env=self.env, check=True, timeout=120,
        )
        return started

    def _start_tap(self) -> None:
        self._tap = subprocess.Popen(
            [
                "parec", f"--device={SOURCE}", "--format=s16le", f"--rate={RATE}",
                "--channels=1", f"--latency-msec={self.tap_latency_ms}", "--raw",
            ],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read_tap, name="room-tap", daemon=True).start()
        if not self._tap_started.wait(timeout=10):
            raise RuntimeError("the room's monitor tap produced no audio")

    def _read_tap(self) -> None:
        assert self._tap is not None and self._tap.stdout is not None
        fd = self._tap.stdout.fileno()
        while chunk := os.read(fd, 65536):
            arrived = time.monotonic()
            self._tap_started.set()
            with self._lock:
                recorders = list(self._recorders)
            for recorder in recorders:
                recorder._add(chunk, arrived)


def _write_wav(path: Path, samples: npt.NDArray[np.float32], sample_rate: int) -> None:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())


@pytest.fixture(scope="session")
def _room_server() -> Iterator[Room]:
    room = Room()
    try:
        room.start()
        yield room
    finally:
        room.stop()


@pytest.fixture
def room(_room_server: Room) -> Iterator[Room]:
    """The shared private room, reset, with this process's audio pointed at it.

    PortAudio lists devices once at initialisation, so it is re-initialised here (and
    again afterwards, with the environment restored).
    """
    from assistant.adapters.sounddevice_io import rescan_devices

    _room_server.reset()
    saved = {key: os.environ.get(key) for key in _room_server.pulse_env}
    os.environ.update(_room_server.pulse_env)
    rescan_devices()
    try:
        yield _room_server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        rescan_devices()
