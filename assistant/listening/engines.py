"""Which speech recognizer to run: vosk when a model can be found, else pocketsphinx.

Order: an explicit model path, then the environment's model path, then the first
folder under the search directories that looks like a vosk model, then the
pocketsphinx model that ships inside its Python package. Engines are imported
only once chosen, so choosing costs nothing: importing vosk (with the requests,
ssl and tqdm it brings) took 19.5 MB in each process that only asked whether a
folder holds a model, the program's and the recognizer's. What a model folder looks
like is `vosk_model`'s, which the vosk adapter imports too (not this module).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.errors import ModelMissing
from assistant.listening.stop_spotter import StopSpotter
from assistant.listening.vosk_model import find_vosk_model
from assistant.ports import Recognizer
from assistant.session.dialog import load_dialog
from assistant.settings import ListenSettings

if TYPE_CHECKING:  # numpy: never in the recognizer's own process, which imports this
    from assistant.listening.short_words import ShortWords

EngineName = Literal["vosk", "pocketsphinx"]


@dataclass(frozen=True)
class EngineChoice:
    """What the startup line reports: engine, model folder, and whether a better one exists."""

    name: EngineName
    model_path: Path | None
    better_available: bool
    """True when running pocketsphinx although vosk could do better (with a model)."""
    spotter: str = "none"
    """The streaming stop spotter that listens beside the recognizer."""
    words: str = "none"
    """The short-word classifier that listens beside them."""
    detector: str = "the recognizer's own"
    """What cuts the stream into utterances."""


def choose_engine(settings: ListenSettings, env_model: Path | None) -> EngineChoice:
    """Decide without loading anything; raises ModelMissing when vosk is required but absent."""
    if settings.engine == "pocketsphinx":
        better = find_vosk_model(settings.search_dirs) is not None or bool(
            settings.model_path or env_model)
        return EngineChoice("pocketsphinx", None, better)
    explicit = settings.model_path or env_model
    if explicit is not None:
        return EngineChoice("vosk", explicit.expanduser(), False)
    found = find_vosk_model(settings.search_dirs)
    if found is not None:
        return EngineChoice("vosk", found, False)
    if settings.engine == "vosk":
        where = ", ".join(str(d) for d in settings.search_dirs) or "no search folders"
        raise ModelMissing(
            f"no vosk model found ({where}): run `massage-assistant download-model` "
            "or give its folder with --model"
        )
    return EngineChoice("pocketsphinx", None, True)


def describe_engine(settings: ListenSettings, env_model: Path | None) -> EngineChoice:
    """The engine `open_recognizer` would open, and what listens beside it, for the
    startup line and `check` (from what is installed, without loading anything)."""
    from assistant.adapters.micro_vad import speech_detector_available

    choice = choose_engine(settings, env_model)
    model = settings.stop_model
    spotter = ('microWakeWord "stop"' if model is not None and model.is_file()
               and importlib.util.find_spec("pymicro_wakeword") is not None else "none")
    words = settings.word_model
    classifier = ("stop / yes / no / go, on openWakeWord's speech embedding"
                  if words is not None and words.is_file()
                  and importlib.util.find_spec("openwakeword") is not None
                  and importlib.util.find_spec("onnxruntime") is not None else "none")
    detector = ("microVAD or pocketsphinx's WebRTC detector"
                if choice.name == "pocketsphinx" and speech_detector_available()
                else "the recognizer's own")
    return replace(choice, spotter=spotter, words=classifier, detector=detector)


def open_recognizer(settings: ListenSettings, env_model: Path | None) -> Recognizer:
    """The recognizer to listen with; ModelMissing says how to fetch a missing model."""
    choice = choose_engine(settings, env_model)
    if choice.name == "vosk" and choice.model_path is not None:
        from assistant.adapters.vosk_asr import VoskRecognizer

        return VoskRecognizer(choice.model_path, report_utterances=True)
    from assistant.adapters.micro_vad import open_speech_detector, speech_detector_available
    from assistant.adapters.pocketsphinx_asr import PocketsphinxRecognizer

    detector = open_speech_detector if speech_detector_available() else None
    return PocketsphinxRecognizer(speech_detector=detector, report_utterances=True)


def open_stop_spotter(settings: ListenSettings) -> StopSpotter | None:
    """The streaming "stop" spotter, or None when it is turned off; ModelMissing when its
    model or runtime is not there (the caller says so and listens without it)."""
    if settings.stop_model is None:
        return None
    from assistant.adapters.micro_wakeword import StopModel

    return StopSpotter(StopModel(settings.stop_model).outputs)


def open_short_words(settings: ListenSettings) -> ShortWords | None:
    """The short-word classifier, or None when it is turned off; ModelMissing when its
    weights, the speech embedding or onnxruntime are not there."""
    if settings.word_model is None:
        return None
    from assistant.adapters.speech_embedding import SpeechEmbedding
    from assistant.listening.short_words import ShortWords, WordModel

    model = WordModel(settings.word_model)
    embedding = SpeechEmbedding()
    return ShortWords(embedding.feed, model, quiet=embedding.quiet)


def short_words_or_notice(settings: ListenSettings, notice: Callable[[str], None],
                          ) -> ShortWords | None:
    """The short-word classifier; without it, one line through `notice`, and listening
    goes on without it."""
    try:
        return open_short_words(settings)
    except ModelMissing as exc:
        notice(load_dialog().line("notice.no_short_words", reason=str(exc).rstrip(".")))
        return None


def stop_spotter_or_notice(settings: ListenSettings, notice: Callable[[str], None],
                           ) -> StopSpotter | None:
    """The stop spotter; without its model or runtime, one line through `notice`, and
    listening goes on with the recognizer alone."""
    try:
        return open_stop_spotter(settings)
    except ModelMissing as exc:
        notice(load_dialog().line("notice.no_stop_spotter", reason=str(exc).rstrip(".")))
        return None
