"""Rendered lines kept on disk, so a second session speaks its first line at once.

A `CachedRenderer` wraps any renderer. Each line is a small 16-bit mono WAV file named
by a hash of the engine, voice, rate and text. The folder is bounded in size: when it
grows past the bound, the least recently used files go. A file that cannot be read
back whole (a crash mid-write on another machine, a full disk, a stray edit) is simply
rendered again and replaced: the cache can make speech faster, never break it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import threading
import wave
from concurrent.futures import Future, InvalidStateError
from pathlib import Path

import numpy as np

from assistant.speech.audio_out import ClosableRenderer, Prefetching, Rendered, write_wav

SUFFIX = ".wav"
FORMAT = 1
"""Bumped when the files' meaning changes (trimming, pauses): old files stop matching."""
EVICT_TO = 0.8
"""When over the bound, evict down to this share of it, so eviction scans are rare."""



class CachedRenderer:
    """`submit` answers from the folder when it can, else from the wrapped renderer
    (storing what it returns). Futures still complete in the order submitted: a line
    found on disk waits for the lines submitted before it."""

    def __init__(self, inner: ClosableRenderer, engine: str, folder: Path, max_bytes: int) -> None:
        self.inner = inner
        self.engine = engine
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.RLock()
        """Re-entrant: a line the engine already has (prefetched) completes inside
        `submit`, and storing it takes the lock again on the same thread."""
        self._last: Future[Rendered] | None = None
        self._serial = itertools.count()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._total = sum(p.stat().st_size for p in folder.glob(f"*{SUFFIX}"))
            self.enabled = True
        except OSError:
            self._total = 0
            self.enabled = False
        self.hits = 0
        self.misses = 0

    def path_for(self, text: str, rate_wpm: int, voice: str | None) -> Path:
        key = f"{FORMAT}|{self.engine}|{voice or ''}|{rate_wpm}|{text}"
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}{SUFFIX}"

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        path = self.path_for(text, rate_wpm, voice)
        stored = _read(path) if self.enabled else None
        with self._lock:
            if stored is not None:
                self.hits += 1
                _touch(path)
                future = self._after_last(stored)
            else:
                self.misses += 1
                future = self._rendered(self.inner.submit(text, rate_wpm, voice), path)
            self._last = future
        return future

    def prefetch(self, text: str, rate_wpm: int, voice: str | None = None) -> None:
        """A line already on disk is answered at once anyway; otherwise the engine
        renders it when idle (if it can), and `submit` stores it here."""
        if self.enabled and self.path_for(text, rate_wpm, voice).exists():
            return
        if isinstance(self.inner, Prefetching):
            self.inner.prefetch(text, rate_wpm, voice)

    def close(self) -> None:
        self.inner.close()

    # -- internals -------------------------------------------------------------

    def _after_last(self, rendered: Rendered) -> Future[Rendered]:
        """A finished line, held back until everything submitted before it is done."""
        future: Future[Rendered] = Future()
        last = self._last
        if last is None or last.done():
            future.set_result(rendered)
        else:
            last.add_done_callback(lambda _: _settle(future, rendered))
        return future

    def _rendered(self, inner: Future[Rendered], path: Path) -> Future[Rendered]:
        """The wrapped renderer's future, stored on disk then passed on."""
        outer: Future[Rendered] = Future()

        def done(finished: Future[Rendered]) -> None:
            if finished.cancelled():
                outer.cancel()
                return
            error = finished.exception()
            if error is not None:
                with contextlib.suppress(InvalidStateError):
                    outer.set_exception(error)
                return
            rendered = finished.result()
            if self.enabled and len(rendered.audio):
                self._store(path, rendered)  # first: a finished line is on disk (~1 ms)
            _settle(outer, rendered)

        outer.add_done_callback(lambda f: inner.cancel() if f.cancelled() else None)
        inner.add_done_callback(done)
        return outer

    def _store(self, path: Path, rendered: Rendered) -> None:
        """Write atomically (a temp file renamed over), then keep within the bound."""
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{next(self._serial)}.tmp")
        try:
            write_wav(tmp, rendered)
            os.replace(tmp, path)
            size = path.stat().st_size
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        with self._lock:
            self._total += size
            over = self._total > self.max_bytes
        if over:
            self._evict()

    def _evict(self) -> None:
        files = []
        for file in self.folder.glob(f"*{SUFFIX}"):
            try:
                stat = file.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, stat.st_size, file))
        files.sort()
        total = sum(size for _, size, _ in files)
        for _, size, file in files:
            if total <= EVICT_TO * self.max_bytes:
                break
            try:
                file.unlink()
            except OSError:
                continue
            total -= size
        with self._lock:
            self._total = total


def _settle(future: Future[Rendered], rendered: Rendered) -> None:
    """Complete `future` unless it was cancelled meanwhile (silenced)."""
    with contextlib.suppress(InvalidStateError):
        future.set_result(rendered)


def _read(path: Path) -> Rendered | None:
    """The stored line, or None when there is none or it is not whole (then it is
    removed, and rendering afresh replaces it)."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.getnframes()
            shape_ok = wav.getnchannels() == 1 and wav.getsampwidth() == 2 and frames > 0
            rate = wav.getframerate()
            pcm = wav.readframes(frames)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, wave.Error):
        path.unlink(missing_ok=True)
        return None
    if not shape_ok or len(pcm) != 2 * frames or rate <= 0:
        path.unlink(missing_ok=True)
        return None
    return Rendered(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0, rate)


def _touch(path: Path) -> None:
    """Mark as recently used, so eviction takes the lines not heard for longest."""
    with contextlib.suppress(OSError):
        os.utime(path)
