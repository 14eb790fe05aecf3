"""Command recognition with vosk (Kaldi) and a downloaded model: the accurate engine.

The grammar is the current phrases plus "[unk]": without "[unk]" vosk forces any
speech into a command. Models load only from an explicit folder; `Model(lang=...)`
would download behind the user's back. One thread owns an instance.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import vosk

from assistant.errors import AssistantError, ModelMissing
from assistant.listening.vosk_model import looks_like_model
from assistant.ports import Heard
from assistant.session.vocabulary import normalize

UNKNOWN = "[unk]"
FETCH_HINT = "run `massage-assistant download-model` to fetch the small English model"


class VoskError(AssistantError):
    """vosk failed on something other than a missing model."""


def grammar_json(phrases: Sequence[str]) -> str:
    """The grammar vosk gets: each phrase once, then "[unk]" to absorb everything else."""
    unique = [p for p in dict.fromkeys(normalize(p) for p in phrases) if p]
    return json.dumps([*unique, UNKNOWN])


def split_phrases(words: Sequence[str], phrases: Sequence[str]) -> list[tuple[str, int, int]]:
    """Longest phrases first, left to right: (phrase, first word, last word + 1)."""
    token_lists = sorted({tuple(p.split()) for p in phrases}, key=len, reverse=True)
    found: list[tuple[str, int, int]] = []
    i = 0
    while i < len(words):
        for tokens in token_lists:
            if tuple(words[i : i + len(tokens)]) == tokens:
                found.append((" ".join(tokens), i, i + len(tokens)))
                i += len(tokens)
                break
        else:
            i += 1
    return found


class VoskRecognizer:
    """Streaming recognizer: partials as final=False (each phrase once per utterance),
    then the utterance's phrases as final=True."""

    name = "vosk"
    sample_rate = 16000

    def __init__(self, model_path: Path, phrases: Sequence[str] = (),
                 report_utterances: bool = False) -> None:
        """`report_utterances`: an utterance report (`Heard.words`) after each final."""
        self._report_utterances = report_utterances
        path = Path(model_path).expanduser()
        if not path.exists():
            raise ModelMissing(f"no vosk model at {path}: {FETCH_HINT}")
        if not looks_like_model(path):
            raise ModelMissing(
                f"{path} is not a vosk model folder (no am/final.mdl): {FETCH_HINT}")
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(model_path=str(path))
        except Exception as exc:
            raise ModelMissing(
                f"the vosk model at {path} could not be loaded: {FETCH_HINT}") from exc
        self.model_path = path
        self._phrases: list[str] = []
        self._running = False
        self._samples = 0
        self._utt_start_samples = 0
        self._reported: set[str] = set()
        self._held: list[Heard] = []
        self._rec = self._new_recognizer(phrases)

    def _new_recognizer(self, phrases: Sequence[str]) -> Any:
        self._phrases = self._known(phrases)
        try:
            rec = vosk.KaldiRecognizer(self._model, self.sample_rate, grammar_json(self._phrases))
        except Exception as exc:
            raise VoskError(f"vosk could not start a recognizer: {exc}") from exc
        rec.SetWords(True)
        rec.SetPartialWords(True)
        return rec

    def _known(self, phrases: Sequence[str]) -> list[str]:
        """Phrases whose every word the model knows (vosk would silently drop the others)."""
        normal = [normalize(p) for p in phrases]
        return [p for p in normal if p and all(
            self._model.vosk_model_find_word(w) >= 0 for w in p.split())]

    def set_phrases(self, phrases: Sequence[str]) -> None:
        """Swap the grammar; an utterance in progress is closed first (vosk requires it)."""
        if self._running:
            self._held.extend(self._final(json.loads(self._rec.Result())))
        self._phrases = self._known(phrases)
        self._rec.SetGrammar(grammar_json(self._phrases))

    def accept(self, pcm: bytes) -> list[Heard]:
        out, self._held = self._held, []
        if not pcm:
            return out
        self._samples += len(pcm) // 2
        try:
            done = self._rec.AcceptWaveform(pcm)
        except Exception as exc:
            raise VoskError(f"vosk failed on audio: {exc}") from exc
        self._running = True
        if done:
            out.extend(self._final(json.loads(self._rec.Result())))
        else:
            out.extend(self._partial(json.loads(self._rec.PartialResult())))
        return out

    def flush(self) -> list[Heard]:
        out, self._held = self._held, []
        if self._running:
            out.extend(self._final(json.loads(self._rec.FinalResult())))
        return out

    def expect_command(self, likely: bool) -> None:
        """Nothing to do: vosk listens with a closed grammar, which has no priors to
        shift, and its acoustic model copes with speech that starts over the echo."""

    def _now(self) -> float:
        return self._samples / self.sample_rate

    def _heard(self, words: list[dict[str, Any]], final: bool) -> list[Heard]:
        texts = [str(w.get("word", "")) for w in words]
        out = []
        for phrase, first, last in split_phrases(texts, self._phrases):
            timed = words[first:last]
            start = float(timed[0].get("start", self._utt_start_samples / self.sample_rate))
            end = float(timed[-1].get("end", self._now()))
            confs = [float(w["conf"]) for w in timed if "conf" in w]
            out.append(Heard(phrase, final, start, end, min(confs) if confs else None))
        return out

    def _words(self, result: dict[str, Any], key: str, text_key: str) -> list[dict[str, Any]]:
        words = result.get(key)
        if isinstance(words, list) and words:
            return [w for w in words if w.get("word") != UNKNOWN]
        text = str(result.get(text_key, ""))
        return [{"word": w} for w in text.split() if w != UNKNOWN]

    def _partial(self, result: dict[str, Any]) -> list[Heard]:
        fresh = []
        for heard in self._heard(self._words(result, "partial_result", "partial"), final=False):
            if heard.text not in self._reported:
                self._reported.add(heard.text)
                fresh.append(heard)
        return fresh

    def _final(self, result: dict[str, Any]) -> list[Heard]:
        self._running = False
        heard = self._heard(self._words(result, "result", "text"), final=True)
        said = [str(w.get("word", "")) for w in result.get("result") or []]
        said = said or str(result.get("text", "")).split()
        # vosk also ends "utterances" of silence; those say nothing
        if said and self._report_utterances:
            heard.append(Heard("", True, self._utt_start_samples / self.sample_rate, self._now(),
                               words=tuple(said)))
        self._reported = set()
        self._utt_start_samples = self._samples
        return heard

    def transcribe(self, pcm: bytes) -> tuple[str, ...] | None:
        """Not offered: vosk's utterance reports give the second opinion instead."""
        return None
