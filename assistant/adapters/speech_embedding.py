"""A general speech embedding, streamed: openWakeWord's log-mel front end and Google's
speech embedding model (both ONNX, shipped inside the PyPI `openwakeword` wheel, run by
`onnxruntime`).

The only module that imports onnxruntime for listening. Every 80 ms of audio gives one
96-value embedding of the last 775 ms; the embedding was trained by Google on a large
amount of speech, so a small classifier on it hears voices our dev clips never held
(`listening/short_words.py`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.errors import ModelMissing

STEP_SAMPLES = 1280
"""80 ms at 16 kHz: one embedding per step."""
_MEL_CONTEXT = 480
"""Samples before a step the log-mel front end needs to give the step's 8 frames."""
_WINDOW_FRAMES = 76
"""Log-mel frames (10 ms) one embedding looks at."""
_FRAMES_PER_STEP = 8
_PRIME_S = 2.0
"""Room hiss fed before the stream, so the very first steps of a stream are read (a
"stop" half a second into `recognize FILE` would otherwise fall in the warm-up)."""
_PRIME_LEVEL = 57.0
"""Its peak, in int16 steps: uniform noise at about -60 dBFS, as in training."""

Embeddings = npt.NDArray[np.float32]


def models_folder() -> Path:
    """Where the openwakeword wheel keeps its models, found without importing it (its
    own import pulls in runtimes we do not use)."""
    spec = importlib.util.find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            "the speech embedding is not installed (PyPI package openwakeword): "
            "run `bash scripts/setup.sh`")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "models"


class SpeechEmbedding:
    """Feed 16 kHz mono int16 PCM, get the embeddings of the steps it completes."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or models_folder()
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelMissing(
                f"onnxruntime is not installed ({exc}): run `bash scripts/setup.sh`") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # tiny inputs: the arena only costs memory
        sessions = []
        for name in ("melspectrogram.onnx", "embedding_model.onnx"):
            path = folder / name
            if not path.is_file():
                raise ModelMissing(
                    f"the speech embedding's model {path} is missing: "
                    "run `bash scripts/setup.sh` (it installs the openwakeword package)")
            try:
                sessions.append(ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]))
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise ModelMissing(f"the speech embedding's model {path} cannot be loaded: "
                                   f"{exc}") from exc
        self._mel, self._embed = sessions
        self._audio = np.zeros(_MEL_CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._frames = np.zeros((0, 32), np.float32)
        hiss = np.random.default_rng(0).uniform(-_PRIME_LEVEL, _PRIME_LEVEL,
                                                round(_PRIME_S * 16000))
        primed = self.feed(hiss.astype(np.int16).tobytes())
        self.quiet: Embeddings = primed[~np.isnan(primed).any(axis=1)]
        """Embeddings of that hiss: what came "before" the stream."""

    def feed(self, pcm: bytes) -> Embeddings:
        """Shape (steps completed, 96)."""
        self._pending = np.concatenate(
            [self._pending, np.frombuffer(pcm, np.int16).astype(np.float32)])
        out = []
        while len(self._pending) >= STEP_SAMPLES:
            step, self._pending = self._pending[:STEP_SAMPLES], self._pending[STEP_SAMPLES:]
            audio = np.concatenate([self._audio[-_MEL_CONTEXT:], step])
            self._audio = audio
            mel = self._mel.run(None, {"input": audio[None, :]})[0]
            frames = np.asarray(mel, np.float32).reshape(-1, 32)[-_FRAMES_PER_STEP:] / 10 + 2
            self._frames = np.concatenate([self._frames, frames])[-_WINDOW_FRAMES:]
            if len(self._frames) < _WINDOW_FRAMES:
                out.append(np.full(96, np.nan, np.float32))
                continue
            window = self._frames[None, :, :, None]
            vector = self._embed.run(None, {"input_1": window})[0]
            out.append(np.asarray(vector, np.float32).reshape(96))
        return np.stack(out) if out else np.zeros((0, 96), np.float32)
