"""Command recognition with pocketsphinx's built-in English model (the no-download fallback).

Keyword spotting and closed grammars were measured first and rejected: on real
recordings they turn "up", "off" or plain noise into "stop" far too often,
because their only competitor is a phone loop. Here every command phrase is a
pseudo-word in pocketsphinx's general English language model, with its own
prior, so ordinary words compete with the commands and usually win when they
were what was said. Audio is cut into utterances by pocketsphinx's endpointer;
an utterance counts as a command only when it is (nearly) nothing but the
command, which keeps commands inside ordinary sentences from triggering.

Priors and decision rules live in `assistant/data/pocketsphinx_thresholds.toml`.
"""

from __future__ import annotations

import itertools
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pocketsphinx

from assistant.errors import AssistantError, DataFileError, ModelMissing
from assistant.listening.endpointer import (
    EndpointerSettings,
    SpeechProbability,
    VadEndpointer,
    level_db,
)
from assistant.ports import Heard
from assistant.session.vocabulary import load_vocabulary, normalize

TUNING_FILE = "data/pocketsphinx_thresholds.toml"
_TOKEN_PREFIX = "cmd_"
_SEARCH = "commands"
_BARGE_IN_SEARCH = "commands_over_speech"
_MAX_PRONUNCIATIONS = 4
"""Alternative pronunciations per phrase, to keep the dictionary small."""
_SUFFIXES = ("", "(2)", "(3)", "(4)")
"""How the dictionary marks a word's alternative pronunciations (the first four)."""


class PocketsphinxError(AssistantError):
    """The pocketsphinx engine failed or was given something it cannot use."""


@dataclass(frozen=True)
class PocketsphinxTuning:
    """Measured settings (see the data file for how each was chosen)."""

    default_prior: float
    priors: Mapping[str, float]
    barge_in_factor: float
    """Priors of the urgent phrases (stop, pause, pain) are multiplied by this for an
    utterance that starts while the user talks over the assistant."""
    barge_in_lookback_seconds: float
    """How much of an open utterance is decoded again when a barge-in restarts it."""
    barge_in_intents: tuple[str, ...]
    """Whose phrases `barge_in_factor` favours."""
    max_other_words: int
    max_utterance_words: int
    """A command counts only in an utterance of at most this many words in all (the
    command counting as one), with an utterance cut for length counting on from the
    one before it: people say commands on their own, and ordinary talk runs on."""
    min_pause_seconds: float
    max_utterance_seconds: float
    partial_stable_seconds: float
    vad_window_seconds: float
    vad_ratio: float
    vad_mode: int
    lead_in_seconds: float
    vad_start_ratio: float = 0.5
    """With the neural speech detector: the share of the window that must be speech to
    start an utterance (`vad_ratio` is the share that must not be, to end one)."""
    vad_threshold: float = 0.5
    """The neural detector's probability from which a frame counts as speech."""
    vad_background_seconds: float = 0.0
    vad_background_share: float = 0.5
    vad_background_margin_db: float = 6.0
    """With the neural detector: talk in the background (see `EndpointerSettings`)."""
    vad_webrtc_mode: int | None = None
    """With the neural detector, a frame is speech also when pocketsphinx's own WebRTC
    detector, in this mode (0 loose .. 3 strict), says so; None: the neural one alone."""
    """Audio from before the endpointer's speech start decoded with each utterance: the
    decoder needs a few frames before the first sound to hear it."""
    faint_word_db: float = 0.0
    """A word whose loudest moment is this much fainter than the loudest command of its
    utterance is background (a TV, the echo's leftovers), not the user: it counts as
    noise, neither against the command standing alone nor as a command. 0: off."""
    cmn_initial: tuple[float, ...] = ()
    decoder: Mapping[str, Any] = field(default_factory=dict)

    def prior_for(self, phrase: str) -> float:
        return self.priors.get(phrase, self.default_prior)


def load_tuning(path: Path | None = None) -> PocketsphinxTuning:
    """Read the tuning file (the packaged one unless a path is given)."""
    if path is None:
        name = f"assistant/{TUNING_FILE}"
        text = resources.files("assistant").joinpath(TUNING_FILE).read_text(encoding="utf-8")
    else:
        name, text = str(path), path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
        prior = raw["prior"]
        decision = raw["decision"]
        vad = raw["endpointer"]
        priors = {normalize(k): float(v) for k, v in prior.get("phrases", {}).items()}
        tuning = PocketsphinxTuning(
            default_prior=float(prior["default"]),
            priors=priors,
            barge_in_factor=float(prior.get("barge_in_factor", 1.0)),
            barge_in_lookback_seconds=float(prior.get("barge_in_lookback_seconds", 0.0)),
            barge_in_intents=tuple(str(i) for i in prior.get("barge_in_intents", ())),
            max_other_words=int(decision["max_other_words"]),
            max_utterance_words=int(decision["max_utterance_words"]),
            min_pause_seconds=float(decision["min_pause_seconds"]),
            max_utterance_seconds=float(decision["max_utterance_seconds"]),
            partial_stable_seconds=float(decision["partial_stable_seconds"]),
            faint_word_db=float(decision.get("faint_word_db", 0.0)),
            vad_window_seconds=float(vad["window_seconds"]),
            vad_ratio=float(vad["ratio"]),
            vad_mode=int(vad["mode"]),
            lead_in_seconds=float(vad["lead_in_seconds"]),
            vad_start_ratio=float(vad.get("start_ratio", 0.5)),
            vad_threshold=float(vad.get("threshold", 0.5)),
            vad_webrtc_mode=(int(vad["webrtc_mode"]) if "webrtc_mode" in vad else None),
            vad_background_seconds=float(vad.get("background_seconds", 0.0)),
            vad_background_share=float(vad.get("background_share", 0.5)),
            vad_background_margin_db=float(vad.get("background_margin_db", 6.0)),
            cmn_initial=tuple(float(v) for v in raw.get("cmn", {}).get("initial", ())),
            decoder=dict(raw.get("decoder", {})),
        )
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{name}: not valid TOML: {exc}") from exc
    except KeyError as exc:
        raise DataFileError(f"{name}: missing field {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise DataFileError(f"{name}: a field has the wrong type: {exc}") from exc
    if tuning.default_prior <= 0 or any(v <= 0 for v in tuning.priors.values()):
        raise DataFileError(f"{name}: [prior] values must be above 0")
    if tuning.barge_in_factor < 1:
        raise DataFileError(f"{name}: [prior] barge_in_factor must be 1 or more")
    if tuning.cmn_initial and len(tuning.cmn_initial) != 13:
        raise DataFileError(f"{name}: [cmn] initial needs 13 numbers")
    return tuning


def _token(phrase: str) -> str:
    return _TOKEN_PREFIX + phrase.replace(" ", "_").replace("'", "")


class PocketsphinxRecognizer:
    """Streaming command recognizer; one instance per audio stream, one thread at a time."""

    name = "pocketsphinx"
    sample_rate = 16000
    _FRAMES_PER_SECOND = 100
    _MIN_RESTART_FRAMES = 10
    """An utterance shorter than this is not restarted (pocketsphinx cannot end one that
    has no path yet, and logs an error)."""
    _BLOCK_SAMPLES = 320
    """20 ms: the loudness of a word is its loudest block (`faint_word_db`)."""
    _SAME_PARTIAL_SECONDS = 0.5
    """A partial for a phrase starting this close to one already reported is the same one."""

    def __init__(
        self,
        tuning: PocketsphinxTuning | None = None,
        known_phrases: Iterable[str] | None = None,
        model_dir: Path | None = None,
        urgent_phrases: Iterable[str] | None = None,
        speech_detector: Callable[[], SpeechProbability] | None = None,
        report_utterances: bool = False,
    ) -> None:
        """Builds the language model once with every phrase it may be asked for.

        `known_phrases` defaults to the packaged vocabulary; a phrase outside it
        passed to `set_phrases` later still works, at the cost of a rebuild.
        `urgent_phrases` (default: the phrases of the tuning's `barge_in_intents`) are the ones
        favoured while the user talks over the assistant (`expect_command`).
        `speech_detector` makes a neural speech detector for the endpointer (one per
        stream); without it, pocketsphinx's own energy-based one cuts utterances.
        `report_utterances` adds an utterance report (`Heard.words`) after each one's
        commands, for the stop spotter's second opinion.
        """
        self._speech_detector = speech_detector
        self._report_utterances = report_utterances
        self.tuning = tuning or load_tuning()
        base = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path())
        self._hmm = base / "en-us" / "en-us"
        self._lm_path = base / "en-us" / "en-us.lm.bin"
        self._dict_path = base / "en-us" / "cmudict-en-us.dict"
        for needed in (self._hmm, self._lm_path, self._dict_path):
            if not needed.exists():
                raise ModelMissing(
                    f"pocketsphinx model file {needed} is missing: reinstall pocketsphinx "
                    "(pip install --force-reinstall pocketsphinx)"
                )
        with tempfile.TemporaryDirectory() as folder:
            words = Path(folder) / "words.dict"
            self._write_known_words(words)
            self._decoder = self._engine(
                lambda: pocketsphinx.Decoder(
                    hmm=str(self._hmm),
                    dict=str(words),
                    lm=None,
                    mmap=False,
                    loglevel="ERROR",
                    **self.tuning.decoder,
                ),
                "could not start the decoder",
            )
        if self.tuning.cmn_initial:
            self._set_cmn(self.tuning.cmn_initial)
        self._cmn_before: tuple[float, ...] = ()
        self._tokens: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        """One-word answers as plain words, and their phrase words."""
        self._active: frozenset[str] = frozenset()
        self._endpointer = self._new_endpointer()
        self._frame_bytes: int = self._endpointer.frame_bytes
        self._pending = b""
        self._stream_offset_s = 0.0
        """Seconds fed before the current endpointer was created (it restarts on flush)."""
        self._fed_samples = 0
        self._history = b""
        """The last audio fed (newest last), long enough to find an utterance's lead-in
        behind the endpointer's delay."""
        self._history_bytes = 2 * round(
            (self.tuning.vad_window_seconds + self.tuning.lead_in_seconds + 0.1) * self.sample_rate)
        self._lead_in_samples = round(self.tuning.lead_in_seconds * self.sample_rate)
        self._free_from = 0
        """The first sample (of this endpointer's stream) not in an utterance yet."""
        self._in_utt = False
        self._utt_start_s = 0.0
        self._utt_frames = 0
        self._utt_blocks: list[float] = []
        """The level (dBFS) of each 20 ms this utterance's decoder was fed, for the loudness
        of its words (no numpy: this process is the recognizer alone, kept small)."""
        self._utt_rest = b""
        self._partial_text = ""
        self._partial_since = 0
        self._utt_end_s = 0.0
        self._reported: list[tuple[str, int]] = []
        """(phrase, start frame) of partials already reported in this utterance."""
        self._held: list[Heard] = []
        self._carried_words = 0
        """Words of the utterances before this one, when they were cut for length."""
        fps = self._FRAMES_PER_SECOND
        self._pause_frames = max(1, round(self.tuning.min_pause_seconds * fps))
        self._max_utt_frames = round(self.tuning.max_utterance_seconds * fps)
        self._same_frames = round(self._SAME_PARTIAL_SECONDS * fps)
        vocabulary = load_vocabulary()
        phrases = vocabulary.all_phrases() if known_phrases is None else known_phrases
        self._answers = frozenset(normalize(p) for i in vocabulary.intents if i.whole
                                  for p in i.phrases if " " not in p)
        if urgent_phrases is None:
            urgent_phrases = vocabulary.phrases_for(frozenset(self.tuning.barge_in_intents))
        self._urgent = frozenset(normalize(p) for p in urgent_phrases)
        self._expecting = False
        self._favours_urgent = False
        self._recent = b""
        """The last moments of speech decoded, to decode again when a barge-in restarts."""
        self._lookback_bytes = 2 * round(self.tuning.barge_in_lookback_seconds * self.sample_rate)
        self._search = _SEARCH
        self._register([normalize(p) for p in phrases])
        self._active = frozenset(self._tokens.values())

    @staticmethod
    def _engine(call: Any, what: str) -> Any:
        try:
            return call()
        except (RuntimeError, ValueError, OSError) as exc:
            raise PocketsphinxError(f"pocketsphinx {what}: {exc}") from exc

    def _new_endpointer(self) -> Any:
        if self._speech_detector is not None:
            tuning = self.tuning
            settings = EndpointerSettings(
                window_seconds=tuning.vad_window_seconds,
                start_ratio=tuning.vad_start_ratio,
                end_ratio=tuning.vad_ratio,
                threshold=tuning.vad_threshold,
                background_seconds=tuning.vad_background_seconds,
                background_share=tuning.vad_background_share,
                background_margin_db=tuning.vad_background_margin_db,
            )
            mode = self.tuning.vad_webrtc_mode
            return VadEndpointer(self._speech_detector(), settings, self.sample_rate,
                                 None if mode is None else self._webrtc(mode))
        return self._engine(
            lambda: pocketsphinx.Endpointer(
                window=self.tuning.vad_window_seconds,
                ratio=self.tuning.vad_ratio,
                vad_mode=self.tuning.vad_mode,
                sample_rate=self.sample_rate,
            ),
            "could not start voice activity detection",
        )

    def _webrtc(self, mode: int) -> Callable[[bytes], bool]:
        """pocketsphinx's WebRTC detector in its strictest mode found words that the neural
        one missed, and the neural one words that it missed (see the tuning file)."""
        vad = self._engine(
            lambda: pocketsphinx.Vad(mode, self.sample_rate, 0.01),
            "could not start voice activity detection",
        )

        def is_speech(chunk: bytes) -> bool:
            return len(chunk) == vad.frame_bytes and bool(vad.is_speech(chunk))

        return is_speech

    def _write_known_words(self, path: Path) -> None:
        """The pronouncing dictionary cut down to the words the language model knows
        (79k of 134k entries): the others can never be decoded, yet each search keeps
        tables for every dictionary word. Measured: 16 MB less, and the decoder starts
        in 0.35 s instead of 0.8 s (the cut itself takes 0.3 s)."""
        lm = self._engine(
            lambda: pocketsphinx.NGramModel(
                pocketsphinx.Config(), pocketsphinx.LogMath(), str(self._lm_path)
            ),
            "could not load its language model",
        )
        zero = pocketsphinx.LogMath().get_zero()
        with self._dict_path.open(encoding="utf-8") as full:
            known = [line for line in full if lm.prob([line.split(" ", 1)[0].split("(")[0]]) > zero]
        path.write_text("".join(known), encoding="utf-8")

    def _full_dictionary(self, word: str) -> list[str]:
        """A word's pronunciations from the whole dictionary, for a phrase word the
        language model does not know (so it was left out of the decoder's)."""
        with self._dict_path.open(encoding="utf-8") as full:
            entries = [line.split(" ", 1) for line in full]
        return [pron.strip() for name, pron in entries
                if name == word or name.startswith(f"{word}(")]

    def _pronunciations(self, phrase: str) -> list[str]:
        variants: list[list[str]] = []
        for word in phrase.split():
            found = []
            for suffix in _SUFFIXES:
                pron = self._decoder.lookup_word(word + suffix)
                if pron is None:
                    break
                found.append(pron)
            found = found or self._full_dictionary(word)[: len(_SUFFIXES)]
            if not found:
                raise PocketsphinxError(
                    f"pocketsphinx does not know the word '{word}' (in the phrase '{phrase}'); "
                    "use another wording in the vocabulary"
                )
            variants.append(found)
        combos = itertools.islice(itertools.product(*variants), _MAX_PRONUNCIATIONS)
        return [" ".join(c) for c in combos]

    def _register(self, phrases: Sequence[str]) -> None:
        """Add phrases as pseudo-words and (re)build the search; ~0.3 s, so done rarely."""
        new = [p for p in dict.fromkeys(phrases) if p and _token(p) not in self._tokens]
        if not new and self._tokens:
            return
        if self._in_utt:
            self._held.extend(self._finish_utterance())
        prons = {p: self._pronunciations(p) for p in new}
        for phrase, variants in prons.items():
            token = _token(phrase)
            for i, pron in enumerate(variants):
                word = token if i == 0 else f"{token}({i + 1})"
                self._engine(
                    lambda w=word, p=pron: self._decoder.add_word(w, p, False),
                    "could not add a phrase",
                )
            self._tokens[token] = phrase
            if phrase in self._answers:
                self._plain[phrase] = token
        self._add_search(_SEARCH, 1.0)
        self._favours_urgent = self.tuning.barge_in_factor > 1 and bool(self._urgent)
        if self._favours_urgent:
            self._add_search(_BARGE_IN_SEARCH, self.tuning.barge_in_factor)
        self._engine(lambda: self._decoder.activate_search(_SEARCH), "could not start search")
        self._search = _SEARCH

    def _add_search(self, name: str, urgent_factor: float) -> None:
        """The general English model plus every phrase as a word with its prior."""
        lm = self._engine(
            lambda: pocketsphinx.NGramModel(
                self._decoder.config, self._decoder.logmath, str(self._lm_path)
            ),
            "could not load its language model",
        )
        for token, phrase in self._tokens.items():
            factor = urgent_factor if phrase in self._urgent else 1.0
            lm.add_word(token, self.tuning.prior_for(phrase) * factor)
        self._engine(lambda: self._decoder.add_lm(name, lm), "could not build its search")

    def expect_command(self, likely: bool) -> None:
        """Measured in the room: a "stop" said over the assistant is decoded as "about"
        or "god" about a third of the time (its first ~100 ms overlap the echo), and the
        same clip alone is "stop". The user talking over the assistant makes a command
        likely, so an utterance that starts meanwhile favours the urgent phrases."""
        self._expecting = likely
        open_utterance = self._in_utt and self._utt_frames >= self._MIN_RESTART_FRAMES
        if likely and open_utterance:
            self._restart_with_lookback()

    def _restart_with_lookback(self) -> None:
        """An utterance already open (the echo's leftovers started it) would take the
        user's word as one more word in it: end it here and decode its last moments again
        as the start of a new, command-favouring one. Also when that utterance began at an
        earlier barge-in: in the room, a false hold opened one, the leftovers kept it
        going, and the user's "stop" 5 s later was its fifth word (not a command)."""
        replay = self._recent
        self._held.extend(self._finish_utterance())
        self._start_utterance(self._utt_end_s - len(replay) / 2 / self.sample_rate)
        self._decode(replay)

    def transcribe(self, pcm: bytes) -> tuple[str, ...] | None:
        """Decode this stretch on its own, between utterances, with the channel estimate
        put back afterwards (the stretch may be only noise)."""
        if self._in_utt or not pcm:
            return None
        search = self._search
        if search != _SEARCH:
            self._engine(lambda: self._decoder.activate_search(_SEARCH), "could not switch search")
        mean = self.cepstral_mean()
        self._engine(self._decoder.start_utt, "could not start an utterance")
        self._engine(lambda: self._decoder.process_raw(pcm, full_utt=True), "failed on audio")
        self._engine(self._decoder.end_utt, "could not finish an utterance")
        words = tuple(self._tokens.get(w, w) for w, _, _ in self._words(self._segments()))
        self._set_cmn(mean)
        if search != _SEARCH:
            self._engine(lambda: self._decoder.activate_search(search), "could not switch search")
        return words

    def set_phrases(self, phrases: Sequence[str]) -> None:
        """Report only these phrases; the others stay in the model as competitors."""
        wanted = [normalize(p) for p in phrases]
        self._register(wanted)
        self._active = frozenset(wanted)

    def accept(self, pcm: bytes) -> list[Heard]:
        out, self._held = self._held, []
        self._pending += pcm
        usable = len(self._pending) - len(self._pending) % self._frame_bytes
        for at in range(0, usable, self._frame_bytes):
            out.extend(self._step(self._pending[at : at + self._frame_bytes], last=False))
        self._pending = self._pending[usable:]
        return out

    def flush(self) -> list[Heard]:
        """End of stream: close the open utterance. The clock keeps counting if fed again."""
        out, self._held = self._held, []
        tail = self._pending or b"\0" * self._frame_bytes
        tail += b"\0" * (len(tail) % 2)
        self._pending = b""
        out.extend(self._step(tail, last=True))
        if self._in_utt:
            out.extend(self._finish_utterance())
        self._stream_offset_s += self._fed_samples / self.sample_rate
        self._fed_samples = 0
        self._history = b""
        self._free_from = 0
        self._endpointer = self._new_endpointer()
        return out

    def _step(self, frame: bytes, last: bool) -> list[Heard]:
        self._fed_samples += len(frame) // 2
        self._history = (self._history + frame)[-self._history_bytes :]
        ep = self._endpointer
        speech = ep.end_stream(frame) if last else ep.process(frame)
        if speech is None:
            return []
        out: list[Heard] = []
        if self._in_utt and self._utt_frames >= self._max_utt_frames:
            out.extend(self._finish_utterance())
            carried = self._carried_words + len(self._words(self._segments()))
            self._start_utterance(self._utt_end_s)
            self._carried_words = carried
        elif not self._in_utt:
            lead_in = self._lead_in(ep.speech_start)
            self._start_utterance(
                self._stream_offset_s + ep.speech_start - len(lead_in) / 2 / self.sample_rate)
            self._decode(lead_in)
        self._decode(speech)
        if not ep.in_speech:
            self._free_from = round(ep.speech_end * self.sample_rate)
            return [*out, *self._finish_utterance()]
        return [*out, *self._partial()]

    def _lead_in(self, speech_start_s: float) -> bytes:
        """The audio just before an utterance's start, not already part of the one before.
        Measured on Piper-voiced commands with the utterance starting at the first sound:
        11 of 30 heard; with 30 ms before it 24, with 60-200 ms 28."""
        start = round(speech_start_s * self.sample_rate)
        kept_from = self._fed_samples - len(self._history) // 2
        first = max(start - self._lead_in_samples, self._free_from, kept_from)
        if first >= start:
            return b""
        return self._history[2 * (first - kept_from) : 2 * (start - kept_from)]

    def _decode(self, speech: bytes) -> None:
        if speech:  # the endpointer may hand back an empty tail; the decoder raises
            self._engine(lambda: self._decoder.process_raw(speech), "failed on audio")
        self._utt_frames += len(speech) // 2 * self._FRAMES_PER_SECOND // self.sample_rate
        if self.tuning.faint_word_db > 0:
            self._measure_blocks(speech)
        if self._lookback_bytes:
            self._recent = (self._recent + speech)[-self._lookback_bytes :]

    def _set_cmn(self, mean: Sequence[float]) -> None:
        text = ",".join(f"{v:.3f}" for v in mean)
        self._engine(lambda: self._decoder.set_cmn(text), "could not set the cepstral mean")

    def cepstral_mean(self) -> tuple[float, ...]:
        """The channel estimate the next utterance is normalised by."""
        return tuple(float(v) for v in str(self._decoder.get_cmn()).split(","))

    def _update_cmn(self, segments: list[tuple[str, int, int]]) -> None:
        """The decoder re-estimates the cepstral mean (the channel) from each utterance.
        Noise would tune it to the noise and garble the next words, so an utterance
        counts only when it looks like speech: a command, or at least two words
        (noise often decodes as one short word)."""
        words = [w for w, _, _ in self._words(segments)]
        speech = len(words) >= 2 or any(w in self._tokens for w in words)
        if self._cmn_before and not speech:
            self._set_cmn(self._cmn_before)

    def _start_utterance(self, start_s: float) -> None:
        search = _BARGE_IN_SEARCH if self._expecting and self._favours_urgent else _SEARCH
        if search != self._search:
            self._engine(lambda: self._decoder.activate_search(search), "could not switch search")
            self._search = search
        if self.tuning.cmn_initial:
            self._cmn_before = self.cepstral_mean()
        self._engine(self._decoder.start_utt, "could not start an utterance")
        self._in_utt = True
        self._utt_start_s = start_s
        self._utt_frames = 0
        self._utt_blocks = []
        self._utt_rest = b""
        self._partial_text = ""
        self._partial_since = 0
        self._reported = []
        self._recent = b""
        self._carried_words = 0

    def _segments(self) -> list[tuple[str, int, int]]:
        """The decoded words, a one-word answer heard as the plain English word counting
        as the answer: the language model's own "yes" and "no" outscore their phrase
        words, and real "yes" clips were heard 0 times in 25 (decoded "yes" 34 of 38).
        Answers only: they are listened for only while a question waits, whereas the
        commands' priors were tuned against their plain words (counting those too gave
        2.5 times the false accepts on real non-command clips)."""
        segments = []
        for s in self._decoder.seg() or []:
            word = s.word.split("(")[0]
            segments.append((self._plain.get(word, word), s.start_frame, s.end_frame))
        return segments

    @staticmethod
    def _is_filler(word: str) -> bool:
        """Silence, noise and sentence marks: <sil>, [NOISE], +breath+, <s>."""
        return word.startswith(("<", "[", "+"))

    @classmethod
    def _words(cls, segments: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        return [seg for seg in segments if not cls._is_filler(seg[0])]

    def _isolated_commands(
        self, segments: list[tuple[str, int, int]], closed: bool
    ) -> list[tuple[str, int, int]]:
        """Active commands standing (nearly) alone between pauses, in a short utterance.

        Words are grouped by the silences and noises between them; a command counts
        when its group holds at most `max_other_words` other words, and the utterance
        at most `max_utterance_words` words (an open one: up to the command). While
        the utterance is open (`closed` False) the last group may still grow, so a
        command there counts only as its last word.
        """
        faint = self._faint_words(segments)
        words = [seg for seg in self._words(segments) if seg not in faint]
        limit = self.tuning.max_utterance_words - self._carried_words
        if closed and len(words) > limit:
            return []
        groups: list[list[tuple[str, int, int]]] = [[]]
        for seg in segments:
            word, sf, ef = seg
            if self._is_filler(word) or seg in faint:
                if ef - sf + 1 >= self._pause_frames:
                    groups.append([])
                continue
            groups[-1].append(seg)
        found = []
        for i, group in enumerate(groups):
            others = sum(1 for w, _, _ in group if w not in self._tokens)
            if not group or others > self.tuning.max_other_words:
                continue
            still_open = not closed and i == len(groups) - 1
            for j, seg in enumerate(group):
                if self._tokens.get(seg[0]) not in self._active:
                    continue
                if still_open and (j != len(group) - 1 or words.index(seg) >= limit):
                    continue
                found.append(seg)
        return found

    def _faint_words(self, segments: list[tuple[str, int, int]],
                     ) -> list[tuple[str, int, int]]:
        """The words `faint_word_db` fainter than the loudest active command here: the TV
        or the echo's leftovers around it ("that resume why", a "resume" 30 dB over a
        TV's "that" in a 20-minute soak, was not alone). They count as noise: neither
        against the command nor as commands of their own (a TV's "pain")."""
        margin = self.tuning.faint_word_db
        commands = [seg for seg in segments if self._tokens.get(seg[0]) in self._active]
        if margin <= 0 or not commands:
            return []
        levels = {seg: self._loudest_db(seg) for seg in self._words(segments)}
        loudest = max(levels[seg] for seg in commands)
        return [seg for seg, level in levels.items() if level < loudest - margin]

    def _measure_blocks(self, speech: bytes) -> None:
        data = self._utt_rest + speech
        size = 2 * self._BLOCK_SAMPLES
        whole = len(data) - len(data) % size
        self._utt_blocks += [level_db(data[at : at + size]) for at in range(0, whole, size)]
        self._utt_rest = data[whole:]

    def _loudest_db(self, seg: tuple[str, int, int]) -> float:
        """A word's loudest 20 ms (dBFS; the blocks it overlaps)."""
        per_frame = self.sample_rate // self._FRAMES_PER_SECOND
        first = seg[1] * per_frame // self._BLOCK_SAMPLES
        last = ((seg[2] + 1) * per_frame - 1) // self._BLOCK_SAMPLES
        return max(self._utt_blocks[first : last + 1], default=level_db(b""))

    def _heard(self, seg: tuple[str, int, int], final: bool) -> Heard:
        word, sf, ef = seg
        fps = self._FRAMES_PER_SECOND
        return Heard(self._tokens[word], final, self._utt_start_s + sf / fps,
                     self._utt_start_s + (ef + 1) / fps)

    def _partial(self) -> list[Heard]:
        """Early results: a command reported once it has stood unchanged for a moment."""
        hyp = self._decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        if text != self._partial_text:
            self._partial_text, self._partial_since = text, self._utt_frames
            return []
        stable = (self._utt_frames - self._partial_since) / self._FRAMES_PER_SECOND
        if not text or stable < self.tuning.partial_stable_seconds:
            return []
        out = []
        for seg in self._isolated_commands(self._segments(), closed=False):
            phrase, sf = self._tokens[seg[0]], seg[1]
            if any(p == phrase and abs(sf - f) < self._same_frames for p, f in self._reported):
                continue
            self._reported.append((phrase, sf))
            out.append(self._heard(seg, final=False))
        return out

    def _finish_utterance(self) -> list[Heard]:
        self._in_utt = False
        self._engine(self._decoder.end_utt, "could not finish an utterance")
        self._utt_end_s = self._utt_start_s + self._utt_frames / self._FRAMES_PER_SECOND
        segments = self._segments()
        self._update_cmn(segments)
        commands = [self._heard(seg, final=True)
                    for seg in self._isolated_commands(segments, closed=True)]
        if not self._report_utterances:
            return commands
        words = tuple(self._tokens.get(w, w) for w, _, _ in self._words(segments))
        return [*commands, Heard("", True, self._utt_start_s, self._utt_end_s, words=words)]
