"""Short words heard on every 80 ms step: "stop", "yes", "no", "go", or something else.

A small classifier (`models/word-classifier/`, trained by
`scripts/train_word_classifier.py`) reads the general speech embedding
(`adapters/speech_embedding.py`) of the last second and a half. It was trained to say a
word only once that word has ended and lies whole in its view, so the most it says over
the steps just after a stretch of speech is its reading of that stretch. The embedding
was learnt from a great deal of speech, so it hears real voices that pocketsphinx's
acoustic model misses; the classifier knows four words only, so it judges
the commands that matter most and leaves the rest to the recognizer
(`listening/hearing.py`).
"""

from __future__ import annotations

import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from assistant.errors import ModelMissing

STEP_S = 0.08
"""Audio per embedding step."""
OTHER = "other"
TAUGHT: dict[str, tuple[str, ...]] = {
    "stop": ("stop", "stop it", "stop stop"),
    "yes": ("yes", "yeah", "yes i have"),
    "no": ("no", "nope", "no i haven't"),
    "go": ("go on", "go back", "go"),
}
"""The phrases each word was taught with (real voices said the first one only). What
the classifier says about any other phrase ("i do", "enough") means nothing."""

Floats = npt.NDArray[np.float32]
EmbedSteps = Callable[[bytes], Floats]
"""PCM in (16 kHz mono int16); one 96-value embedding per 80 ms step it completes
(NaN while the embedding's view is still filling)."""


RECENT_STEPS = 3
"""The newest steps the classifier also sees apart: where a word that has just ended is."""


def pooled(embeddings: Floats) -> Floats:
    """The classifier's input for a run of steps: their maximum and their mean, so a
    word counts wherever it sits in the view; and, so that it also knows what came in
    what order ("stop" against "top" after a breath, a word whole or cut by the view's
    edge), the mean of the newest steps and the maximum of each half of the view.
    With the varied training streams (`scripts/train_word_classifier.py`), speakers kept
    apart, it read 1-10 points more of the real "stop", "yes" and "no" at a bar of 0.8
    (models/word-classifier/README.md)."""
    half = len(embeddings) // 2
    out: Floats = np.concatenate([
        embeddings.max(axis=0), embeddings.mean(axis=0),
        embeddings[-RECENT_STEPS:].mean(axis=0),
        embeddings[:half].max(axis=0), embeddings[half:].max(axis=0)])
    return out


class WordModel:
    """A two-layer network over pooled embeddings, its weights in one .npz file."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ModelMissing(
                f"the short-word classifier {path} is missing: it ships in the repository's "
                "models/word-classifier/ (git checkout -- models/word-classifier)")
        try:
            with np.load(path) as data:
                self.classes: tuple[str, ...] = tuple(str(c) for c in data["classes"])
                self.window = int(data["window"])
                self._mean = data["mean"].astype(np.float32)
                self._scale = data["scale"].astype(np.float32)
                self._layers = [(data[f"w{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32))
                                for i in range(int(data["layers"]))]
                self.train_speakers = frozenset(str(s) for s in data["train_speakers"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelMissing(f"the short-word classifier {path} cannot be loaded: {exc}") from exc

    def probabilities(self, features: Floats) -> Floats:
        """Rows of pooled embeddings in, a probability per class out."""
        x = (features - self._mean) / self._scale
        for i, (w, b) in enumerate(self._layers):
            x = x @ w + b
            if i < len(self._layers) - 1:
                x = np.maximum(x, 0.0)
        x = np.exp(x - x.max(axis=-1, keepdims=True))
        out: Floats = x / x.sum(axis=-1, keepdims=True)
        return out


@dataclass(frozen=True)
class WordReading:
    """What the classifier made of a stretch: the word it says most strongly, and how
    strongly (`OTHER` when no word reaches the bar); `scores`, the most each word got;
    `steps` read; `at_s`, the step where the word scored most (about when it ended)."""

    word: str
    probability: float
    scores: dict[str, float]
    steps: int
    at_s: float = 0.0


class WordReader(Protocol):
    """What hearing needs of the classifier (a stand-in in logic tests)."""

    @property
    def heard_to_s(self) -> float: ...
    def feed(self, pcm: bytes) -> None: ...
    def reading(self, start_s: float, end_s: float, bar: float) -> WordReading: ...


@dataclass(frozen=True)
class ShortWordsSettings:
    memory_s: float = 12.0
    """How far back readings are kept."""


class ShortWords:
    """Feed the echo-cancelled microphone; ask what was said between two moments."""

    def __init__(self, embed: EmbedSteps, model: WordModel,
                 settings: ShortWordsSettings | None = None, quiet: Floats | None = None,
                 ) -> None:
        """`quiet`: embeddings of room hiss to fill the view with at the start, so the
        first steps of a stream are read too."""
        self._embed = embed
        self.model = model
        self.settings = settings or ShortWordsSettings()
        self._steps = 0
        self._view: deque[Floats] = deque(maxlen=model.window)
        self._probs: deque[tuple[float, Floats]] = deque(
            maxlen=round(self.settings.memory_s / STEP_S))
        if quiet is not None and len(quiet):
            self._view.extend(quiet[-model.window :])

    @property
    def heard_to_s(self) -> float:
        """Stream seconds up to which every step has been read."""
        return self._steps * STEP_S

    def feed(self, pcm: bytes) -> None:
        for vector in self._embed(pcm):
            self._steps += 1
            if np.isnan(vector).any():
                continue
            self._view.append(vector)
            if len(self._view) == self._view.maxlen:
                features = pooled(np.stack(self._view))[None, :]
                self._probs.append((self.heard_to_s, self.model.probabilities(features)[0]))

    def reading(self, start_s: float, end_s: float, bar: float) -> WordReading:
        """The strongest word over the steps that end in [start_s, end_s]."""
        times = [t for t, _ in self._probs if start_s <= t <= end_s]
        rows = [p for t, p in self._probs if start_s <= t <= end_s]
        classes = self.model.classes
        if not rows:
            return WordReading(OTHER, 0.0, dict.fromkeys(classes, 0.0), 0, end_s)
        table = np.stack(rows)
        best = table.max(axis=0)
        scores = {c: float(best[i]) for i, c in enumerate(classes)}
        top = max((c for c in classes if c != OTHER), key=scores.__getitem__)
        at = times[int(np.argmax(table[:, classes.index(top)]))]
        if scores[top] >= bar:
            return WordReading(top, scores[top], scores, len(rows), at)
        return WordReading(OTHER, 1.0 - scores[top], scores, len(rows), at)
