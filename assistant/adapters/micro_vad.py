"""The microVAD speech detector (PyPI `pymicro-vad`, model inside its wheel).

The only module that imports pymicro_vad; the endpointer sees a plain function.
"""

from __future__ import annotations

import importlib.util

from assistant.errors import AudioUnavailable
from assistant.listening.endpointer import SpeechProbability


def speech_detector_available() -> bool:
    """Whether the detector's package is installed (checked without loading it)."""
    return importlib.util.find_spec("pymicro_vad") is not None


def open_speech_detector() -> SpeechProbability:
    """A fresh detector's `process_10ms`; AudioUnavailable when its package is missing."""
    try:
        from pymicro_vad import MicroVad
    except ImportError as exc:
        raise AudioUnavailable(
            f"the speech detector (pymicro-vad) is not installed: {exc}") from exc
    detector = MicroVad()

    def probability(chunk: bytes) -> float:
        return float(detector.process_10ms(chunk))

    return probability
