"""Keep what the microphone caught and what the recognizer heard, as WAV files, and
the echo canceller's inputs.

Why: when a command is missed or the assistant obeys itself, these files show why
(`massage-assistant recognize heard.wav` replays the recognizer's side,
`scripts/replay_echo.py echo_inputs.bin` the canceller's). The gaps between blocks are
not filled: the WAV files are the streams as processed, back to back.
"""

from __future__ import annotations

import wave
from pathlib import Path

from assistant.errors import AssistantError
from assistant.listening.echo_capture import CaptureHeader, EchoCaptureWriter


class InputRecording:
    """Two 16-bit mono WAV files in `folder`; used on the listener thread only."""

    def __init__(self, folder: Path, sample_rate: int) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._files = [wave.open(str(folder / name), "wb")  # noqa: SIM115 (open all session)
                           for name in ("microphone.wav", "heard.wav")]
        except OSError as exc:
            raise AssistantError(f"cannot save audio in {folder}: {exc}") from exc
        for f in self._files:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(sample_rate)
        self._folder = folder
        self._echo: EchoCaptureWriter | None = None

    def echo_inputs(self, header: CaptureHeader) -> EchoCaptureWriter:
        """A capture of the echo canceller's inputs beside the WAV files."""
        self._echo = EchoCaptureWriter(self._folder / "echo_inputs.bin", header)
        return self._echo

    def add(self, microphone: bytes, heard: bytes) -> None:
        self._files[0].writeframes(microphone)
        self._files[1].writeframes(heard)

    def close(self) -> None:
        for f in self._files:
            f.close()
        if self._echo is not None:
            self._echo.close()
