"""microWakeWord's "stop" model (PyPI `pymicro-wakeword` with `pymicro-features`).

The only module that imports them. It hands back the model's raw output, one value per
30 ms step; the rule that turns those into a spotted "stop" is ours
(`listening/stop_spotter.py`), so it can look at a longer stretch than the library's
own sliding mean.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from assistant.errors import ModelMissing


class StopModel:
    """Features and model for one stream: feed 16 kHz mono int16 PCM, get outputs."""

    def __init__(self, config: Path) -> None:
        if not config.is_file():
            raise ModelMissing(
                f"the stop spotter's model {config} is missing: it ships in the repository's "
                "models/microwakeword-stop/ (git checkout -- models/microwakeword-stop)")
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures
        except ImportError as exc:
            raise ModelMissing(
                f"the stop spotter's runtime is not installed ({exc}): "
                "run `bash scripts/setup.sh`") from exc
        try:
            self._model = MicroWakeWord.from_config(config)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelMissing(
                f"the stop spotter's model {config} cannot be loaded: {exc}") from exc
        # Raw outputs: the library's own averaging is replaced by ours.
        self._model.sliding_window_size = 1
        self._model._probabilities = deque(maxlen=1)
        self._features = MicroWakeWordFeatures()
        self._steps = 0
        self.stride = int(self._model.stride)
        """Feature frames (10 ms) per model output."""

    def outputs(self, pcm: bytes) -> list[float]:
        """The model's output for every 30 ms step that this audio completes."""
        out = []
        for feature in self._features.process_streaming(pcm):
            prob = self._model.process_streaming_prob(feature)
            self._steps += 1
            if self._steps % self.stride == 0 and prob is not None:
                out.append(float(prob))
        return out

    def close(self) -> None:
        self._model.close()
