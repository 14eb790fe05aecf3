"""The pocketsphinx adapter on real recordings and synthesized voices, streamed like a microphone.

Thresholds are what scripts/measure_recognition.py measured on the full sets (noted
in assistant/data/pocketsphinx_thresholds.toml), less a margin for the subsample here.
pocketsphinx is the fallback engine: these are far from vosk's figures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from assistant.adapters.pocketsphinx_asr import (
    PocketsphinxError,
    PocketsphinxRecognizer,
    load_tuning,
)
from assistant.errors import DataFileError, ModelMissing
from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.listening.recognize_file import read_wav
from assistant.ports import Heard
from assistant.session.vocabulary import Vocabulary, load_vocabulary
from tests.harness import speech_samples as ss

STOP_CLIPS = 30
STOP_RECALL_MIN = 0.40
NEGATIVE_CLIPS_PER_FOLDER = 8
FALSE_ACCEPT_MAX = 0.08
NON_COMMAND_FOLDERS = ("go", "up", "down", "left", "right", "on", "off", "_unknown_", "_silence_")


@pytest.fixture
def recognizer() -> PocketsphinxRecognizer:
    """A fresh one per test: its clock counts every sample it was ever fed."""
    rec = PocketsphinxRecognizer()
    rec.set_phrases(load_vocabulary().all_phrases())
    return rec


def stream(rec: PocketsphinxRecognizer, pieces: list[tuple[str, ss.Samples]],
           gap_s: float = 0.0, snr_db: float | None = None, floor_dbfs: float | None = None,
           ) -> tuple[list[ss.Placed], list[Heard]]:
    """The pieces in a row, heard as in a session: through the echo canceller, which with
    nothing playing adds its comfort noise floor (`floor_dbfs`: another level, such as
    the one while the assistant's echo may sound). `snr_db`: room noise all along, that
    far below the pieces' speech (noise starting with each piece is a sound of its own)."""
    x, placed = ss.concatenate(pieces, gap_s=gap_s)
    if snr_db is not None:
        speech = np.concatenate([piece for _, piece in pieces])
        x = ss.mix(x, ss.room_noise(x.size, seed=len(pieces)), snr_db, reference=speech)
    canceller = (EchoCanceller(EchoReference(ss.RATE)) if floor_dbfs is None else
                 EchoCanceller(EchoReference(ss.RATE), quiet_comfort_noise_dbfs=floor_dbfs))
    heard: list[Heard] = []
    for i, block in enumerate(ss.chunks(x, 0.1)):
        heard.extend(rec.accept(canceller.process(block, i * 0.1)))
    heard.extend(rec.flush())
    return placed, heard


def per_piece(placed: list[ss.Placed], heard: list[Heard]) -> list[list[Heard]]:
    out: list[list[Heard]] = [[] for _ in placed]
    for h in heard:
        mid = (h.start_s + h.end_s) / 2
        for i, p in enumerate(placed):
            if p.start_s - 0.5 <= mid <= p.end_s + 0.5:
                out[i].append(h)
                break
    return out


def hits_and_wrong(
    rec: PocketsphinxRecognizer, pieces: list[tuple[str, ss.Samples]],
    snr_db: float | None = None, floor_dbfs: float | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Stream labelled phrases 1.2 s apart: (labels heard as their intent in a final result,
    labels missed, texts heard as another intent)."""
    vocab = load_vocabulary()
    placed, heard = stream(rec, pieces, gap_s=1.2, snr_db=snr_db, floor_dbfs=floor_dbfs)
    found = list(zip(placed, per_piece(placed, heard), strict=True))
    hit = [any(_intent(vocab, h.text) == _intent(vocab, p.label) for h in hs if h.final)
           for p, hs in found]
    wrong = [h.text for p, hs in found for h in hs
             if _intent(vocab, h.text) != _intent(vocab, p.label)]
    return (
        [p.label for p, ok in zip(placed, hit, strict=True) if ok],
        [p.label for p, ok in zip(placed, hit, strict=True) if not ok],
        wrong,
    )


def real_clips(folder: str, limit: int) -> list[tuple[str, ss.Samples]]:
    return [(f.name, ss.padded(read_wav(f), 0.6, 0.6, seed=i))
            for i, f in enumerate(ss.clips(folder, limit))]


def test_stop_is_heard_in_real_recordings(recognizer: PocketsphinxRecognizer) -> None:
    ss.require_shared()
    vocab = load_vocabulary()
    placed, heard = stream(recognizer, real_clips("stop", STOP_CLIPS))
    found = per_piece(placed, heard)
    hits = sum(any(vocab.intent_for(h.text) == ("stop", h.text) for h in hs if h.final)
               for hs in found)
    assert hits / len(placed) >= STOP_RECALL_MIN


def test_other_words_and_noise_rarely_trigger(recognizer: PocketsphinxRecognizer) -> None:
    ss.require_shared()
    vocab = load_vocabulary()
    triggered = total = 0
    for folder in NON_COMMAND_FOLDERS:
        found = vocab.intent_for(folder)
        if found is not None and found[1] == folder:
            continue  # the vocabulary made this word a command
        placed, heard = stream(recognizer, real_clips(folder, NEGATIVE_CLIPS_PER_FOLDER))
        triggered += sum(bool(hs) for hs in per_piece(placed, heard))
        total += len(placed)
    assert triggered / total <= FALSE_ACCEPT_MAX


def test_noise_almost_never_triggers(recognizer: PocketsphinxRecognizer) -> None:
    """Each clip's noise starts abruptly out of the comfort floor; one of these 15 (a
    burst in 2262.wav) is heard as "stop". The benchmark's rate: 0 of 40 noise clips."""
    ss.require_shared()
    _, heard = stream(recognizer, real_clips("_silence_", 15))
    assert len([h for h in heard if h.final]) <= 1, heard


def test_noise_does_not_retune_the_channel_estimate(recognizer: PocketsphinxRecognizer) -> None:
    """Noise-only utterances would drag the cepstral mean away from speech and garble
    the next command; speech does move it."""
    before = recognizer.cepstral_mean()
    noise = ss.room_noise(ss.RATE * 6, seed=3)
    stream(recognizer, [("noise", noise)])
    assert recognizer.cepstral_mean() == before
    ss.require_espeak()
    stream(recognizer, [("stop", ss.synthesize("stop", "en+m3", 175, 40))], gap_s=1.0)
    assert recognizer.cepstral_mean() != before


def test_read_speech_triggers_at_most_one_command(recognizer: PocketsphinxRecognizer) -> None:
    files = ss.require_librivox()
    _, heard = stream(recognizer, [(f.name, read_wav(f)) for f in files], gap_s=1.0)
    assert len([h for h in heard if h.final]) <= 1


SYNTH = ("stop", "stop it", "softer", "repeat", "too much", "wait", "how much longer",
         "next step", "continue", "speak up")
"""Phrases pocketsphinx hears in espeak voices; it misses "pause", "skip" and "less pressure"
in most of them (see the toml), though it does better on real voices than on espeak."""
SYNTH_VOICES = (("en+m3", 175, 40), ("en-gb+m7", 140, 45), ("en-us", 160, 50))
SYNTH_RECALL_MIN = 0.5


def test_synthesized_commands_are_heard(recognizer: PocketsphinxRecognizer) -> None:
    ss.require_espeak()
    pieces = [(p, ss.synthesize(p, *v)) for v in SYNTH_VOICES for p in SYNTH]
    hits, _, wrong = hits_and_wrong(recognizer, pieces)
    assert len(hits) / len(pieces) >= SYNTH_RECALL_MIN
    assert len(wrong) <= 2


def test_times_are_seconds_from_the_start_of_the_stream() -> None:
    ss.require_espeak()
    rec = PocketsphinxRecognizer()
    x = ss.synthesize("stop", "en+m3", 175, 40)
    placed, heard = stream(rec, [("stop", x), ("stop", x)], gap_s=2.0)
    vocab = load_vocabulary()
    finals = [h for h in heard if h.final]
    assert [_intent(vocab, h.text) for h in finals] == ["stop", "stop"]
    for h, p in zip(finals, placed, strict=True):
        assert abs(h.start_s - p.start_s) < 0.3 and abs(h.end_s - p.end_s) < 0.3
    again, heard2 = stream(rec, [("stop", x)], gap_s=1.0)
    offset = placed[-1].end_s + 2.0
    assert [_intent(vocab, h.text) for h in heard2 if h.final] == ["stop"]
    assert abs(heard2[-1].start_s - (offset + again[0].start_s)) < 0.3


def test_each_phrase_is_reported_at_most_once_early_then_once_final() -> None:
    ss.require_espeak()
    rec = PocketsphinxRecognizer()
    _, heard = stream(rec, [("stop", ss.synthesize("stop", "en+m3", 175, 40))], gap_s=1.0)
    assert [h.final for h in heard].count(True) == 1
    assert [h.final for h in heard].count(False) <= 1
    assert heard[-1].final


def test_only_the_current_phrases_are_reported() -> None:
    ss.require_espeak()
    rec = PocketsphinxRecognizer()
    said = [("stop", ss.synthesize("stop", "en+m3", 175, 40)),
            ("repeat", ss.synthesize("repeat", "en+m3", 175, 40))]
    vocab = load_vocabulary()
    _, heard = stream(rec, said, gap_s=1.2)
    assert {_intent(vocab, h.text) for h in heard} == {"stop", "repeat"}
    rec.set_phrases(["repeat", "pause"])
    _, heard = stream(rec, said, gap_s=1.2)
    assert {h.text for h in heard} == {"repeat"}


def test_a_phrase_outside_the_vocabulary_can_be_added() -> None:
    ss.require_espeak()
    rec = PocketsphinxRecognizer(known_phrases=["stop"])
    rec.set_phrases(["stop", "hello computer"])
    said = [("", ss.synthesize("hello computer", *v)) for v in SYNTH_VOICES]
    _, heard = stream(rec, said, gap_s=1.0)
    assert "hello computer" in {h.text for h in heard}


def test_a_word_pocketsphinx_cannot_say_is_a_clear_error() -> None:
    with pytest.raises(PocketsphinxError, match="'zzxqv'"):
        PocketsphinxRecognizer(known_phrases=["stop zzxqv"])


def test_a_missing_model_folder_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="reinstall pocketsphinx"):
        PocketsphinxRecognizer(model_dir=tmp_path)


def test_a_broken_tuning_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "tuning.toml"
    bad.write_text("[prior]\ndefault = 3000.0\n")
    with pytest.raises(DataFileError, match=r"tuning\.toml: missing field"):
        load_tuning(bad)
    bad.write_text("[prior\n")
    with pytest.raises(DataFileError, match="not valid TOML"):
        load_tuning(bad)


def test_the_packaged_tuning_loads() -> None:
    tuning = load_tuning()
    assert tuning.default_prior > 0
    assert tuning.prior_for("stop") >= tuning.default_prior
    assert dataclasses.replace(tuning, max_other_words=0).max_other_words == 0


PIPER_PHRASES = ("stop", "pause", "resume", "skip", "less pressure", "more pressure",
                 "slower", "faster", "repeat", "go back")
PIPER_SCALES = (0.9, 1.0, 1.1)
PIPER_RECALL_MIN = 0.60
"""Measured 0.75 on average over 18 fresh syntheses (0.63-0.87; Piper's noise is not
seedable, each machine keeps its first take in the cache), no wrong intent: less 0.15."""


def test_piper_voiced_commands_are_heard(recognizer: PocketsphinxRecognizer) -> None:
    """A natural (neural) voice, the tests' simulated user, slower and faster."""
    speakers = [ss.require_speaker(ss.Speaker.piper(scale)) for scale in PIPER_SCALES]
    pieces = [(p, ss.speak(p, s)) for s in speakers for p in PIPER_PHRASES]
    hits, missed, wrong = hits_and_wrong(recognizer, pieces)
    assert len(hits) / len(pieces) >= PIPER_RECALL_MIN, f"missed: {missed}"
    assert len(wrong) <= 2, wrong


URGENT = ("stop", "wait", "stop it", "hold on", "pause", "enough")


def test_talking_over_the_assistant_favours_the_urgent_commands() -> None:
    """While a barge-in holds the assistant's line, an utterance is probably a command:
    urgent phrases in noise are heard more often, and ordinary sentences still pass."""
    ss.require_espeak()
    pieces = [(phrase, ss.synthesize(phrase, *voice)) for voice in ss.VOICES for phrase in URGENT]
    # Real background noise from ../shared, else pink noise: steady and broadband, at
    # 10 dB the endpointer finds no pause in it (every utterance is cut at 8 s).
    snr_db = 10.0 if ss.clips("_silence_") else 15.0
    heard, wrong = {}, {}
    for expecting in (False, True):
        rec = PocketsphinxRecognizer()
        rec.expect_command(expecting)
        heard[expecting], _, wrong[expecting] = hits_and_wrong(rec, pieces, snr_db=snr_db)
    # Measured (36 clips, the noise all along the stream): real noise at 10 dB, 4 -> 11
    # heard, 4 -> 4 wrong (without the lead-in: 4 -> 6, 5 -> 5); pink noise at 15 dB,
    # 16 -> 20 heard, 2 -> 2 wrong (at 20 dB: 23 -> 27, 0 -> 0).
    assert len(heard[True]) >= len(heard[False]) + 4, heard
    assert len(wrong[True]) <= len(wrong[False]) + 4, wrong
    rec = PocketsphinxRecognizer()
    rec.expect_command(True)
    said = [(s, ss.synthesize(s, *ss.VOICES[k % 3])) for k, s in enumerate(ss.SENTENCES[:12])]
    _, from_sentences = stream(rec, said, gap_s=1.0)
    assert len([h for h in from_sentences if h.final]) <= 1


def test_no_favour_without_a_barge_in_factor() -> None:
    ss.require_espeak()
    tuning = dataclasses.replace(load_tuning(), barge_in_factor=1.0)
    x = ss.synthesize("stop", "en+m3", 175, 40)
    pieces = [("stop", ss.mix(x, ss.room_noise(len(x), seed=s), 10.0)) for s in range(6)]
    found = []
    for expecting in (False, True):
        rec = PocketsphinxRecognizer(tuning=tuning)
        rec.expect_command(expecting)
        found.append(hits_and_wrong(rec, pieces))
    assert found[0] == found[1]


def test_a_phrase_word_the_language_model_does_not_know_is_still_pronounced() -> None:
    """The decoder's dictionary holds only the words its language model knows; a phrase
    may use another word from the whole dictionary."""
    rec = PocketsphinxRecognizer(known_phrases=["stop"])
    assert rec._decoder.lookup_word("paluzzi") is None, "left out of the decoder's dictionary"
    rec.set_phrases(["stop", "paluzzi"])
    assert rec._decoder.lookup_word("cmd_paluzzi") is not None


RUN_ON = (
    "We walked along the river for an hour, then repeat the whole thing tomorrow morning "
    "before breakfast with the dog.",
    "She said, slower, and then she laughed and went back to the kitchen to make a cup of "
    "tea for everyone.",
    "My brother always says help, help, when he wants the remote control, and then he "
    "watches the news all evening.",
)


def test_a_command_word_inside_talk_that_runs_on_is_not_a_command() -> None:
    """Between commas a word can stand alone (the pause rule passes it), but a command
    is an utterance of its own; without the utterance rule these sentences give one."""
    ss.require_espeak()
    said = [(t, ss.synthesize(t, *v)) for t in RUN_ON for v in ss.VOICES]
    finals = {}
    for limit in (100, load_tuning().max_utterance_words):
        rec = PocketsphinxRecognizer(
            tuning=dataclasses.replace(load_tuning(), max_utterance_words=limit))
        _, heard = stream(rec, said, gap_s=1.0)
        finals[limit] = [h.text for h in heard if h.final]
    assert finals[100], "these sentences should test the rule"
    assert finals[load_tuning().max_utterance_words] == []


ANSWER_RECALL_MIN = 0.5
"""Measured 0.84 for "yes" and 0.6 for "no" on these 25 real clips each (0.68-0.76 and
0.64-0.72 one clip at a time, in the benchmark); was 0: the language model's own "yes"
and "no" won over the answers' phrase words."""


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_real_spoken_answers_are_heard(answer: str) -> None:
    ss.require_shared()
    vocab = load_vocabulary()
    rec = PocketsphinxRecognizer()
    rec.set_phrases(vocab.phrases_for(frozenset({"yes", "no", "stop", "pain"})))
    placed, heard = stream(rec, real_clips(answer, 25))
    found = per_piece(placed, heard)
    hits = sum(any(_intent(vocab, h.text) == answer for h in hs if h.final) for hs in found)
    assert hits / len(placed) >= ANSWER_RECALL_MIN, f"{hits} of {len(placed)}"


def _intent(vocab: Vocabulary, text: str) -> str | None:
    found = vocab.intent_for(text)
    return found[0] if found else None


LEAD_IN_RECALL_MIN = 0.85
"""Measured 48 of 48 Piper takes of these phrases with the lead-in, 31 of 64 without
(a command's first sound went unheard: "pause" -> "wallace", "skip" -> "f")."""


def test_a_command_is_heard_from_its_first_sound() -> None:
    """In a session the recognizer always hears a noise floor (the echo canceller's
    comfort noise), and a word may begin at the very frame the endpointer marks as
    speech. The decoder needs a moment of that floor before the word: the lead-in.
    In the louder floor kept while the assistant's echo may sound, measured 10 of 10
    here; with `lead_in_seconds` 0, 5 of 10 (pause, resume, skip, slower, faster missed)."""
    rec = PocketsphinxRecognizer()
    rec.set_phrases(load_vocabulary().all_phrases())
    speaker = ss.require_speaker(ss.Speaker.piper(1.0))
    pieces = [(p, ss.speak(p, speaker)) for p in PIPER_PHRASES]
    hits, missed, _ = hits_and_wrong(rec, pieces, floor_dbfs=-50.0)
    assert len(hits) / len(pieces) >= LEAD_IN_RECALL_MIN, f"missed: {missed}"


def test_each_barge_in_starts_a_new_utterance() -> None:
    """The echo's leftovers can keep an utterance open for seconds. A false barge-in
    (held, then released) started it; the user's "stop" at the next barge-in must start
    a new one, or it is one word more in a long utterance and not a command. Measured,
    12 sentences: 9 heard; 0 when only the first barge-in started one."""
    speaker = ss.require_speaker(ss.Speaker.piper(1.0))
    stop = ss.trim(ss.speak("stop", speaker))
    quiet = np.zeros(int(0.8 * ss.RATE), dtype=stop.dtype)
    heard = 0
    for k, sentence in enumerate(ss.SENTENCES[:12]):
        talk = ss.trim(ss.synthesize(sentence, *ss.VOICES[k % len(ss.VOICES)]))
        leftovers = (talk * 10 ** (-30 / 20)).astype(talk.dtype)
        cut = int(0.7 * leftovers.size)
        x = np.concatenate([quiet, leftovers[:cut], stop, quiet, leftovers[cut:], quiet])
        said_at = (quiet.size + cut) / ss.RATE
        start = quiet.size / ss.RATE
        barge_ins = {start + 0.5: True, start + 1.2: False,
                     said_at + 0.07: True, said_at + stop.size / ss.RATE + 0.7: False}
        rec = PocketsphinxRecognizer()
        rec.set_phrases(load_vocabulary().all_phrases())
        canceller = EchoCanceller(EchoReference(ss.RATE))
        found: list[Heard] = []
        for i, block in enumerate(ss.chunks(x, 0.1)):
            for at, likely in barge_ins.items():
                if i * 0.1 <= at < (i + 1) * 0.1:
                    rec.expect_command(likely)
            found += rec.accept(canceller.process(block, i * 0.1))
        found += rec.flush()
        heard += any(h.final and h.text.startswith("stop") and abs(h.start_s - said_at) < 0.6
                     for h in found)
    assert heard >= 6, f"{heard} of 12"


FAINT_TALK = ("The weather will stay mild through the weekend, with light rain on Sunday "
              "afternoon in the north.")
OVER_FAINT_TALK = ("resume", "skip", "slower", "pause", "repeat", "carry on", "next", "louder")
FAINT_TALK_UNDER_DB = 30.0
OVER_FAINT_TALK_MIN = 8
"""Measured 12 of 16 (none without the rule), Piper joe at two speeds, none wrong: less a
margin for Piper's unseeded takes (one wrong command allowed, never the talk's "pain")."""


def test_a_command_said_over_faint_talk_stands_alone() -> None:
    """Talk 30 dB under the user (a TV in the next room, the echo's leftovers) runs on
    around the command, and pocketsphinx decodes it too: the command was one word of a
    long utterance, never alone. Words `faint_word_db` fainter than the command count
    as noise, and the talk's own words ("pain", "continue") never act."""
    talk = ss.speak(FAINT_TALK, ss.require_speaker(ss.Speaker.espeak(*ss.VOICES[1])))
    speakers = [ss.require_speaker(ss.Speaker.piper(scale)) for scale in (0.9, 1.1)]
    vocab = load_vocabulary()
    pieces = []
    for k, speaker in enumerate(speakers):
        for i, phrase in enumerate(OVER_FAINT_TALK):
            said = ss.at_level(ss.trim(ss.speak(phrase, speaker)), -20.0)
            shifted = np.roll(talk, ss.RATE // 2 * (i + 3 * k))
            under = ss.at_level(shifted, -20.0 - FAINT_TALK_UNDER_DB)
            piece = under[: said.size + 2 * ss.RATE].copy()
            piece[ss.RATE : ss.RATE + said.size] += said
            pieces.append((phrase, np.clip(piece, -32768, 32767).astype(np.int16)))
    heard = {}
    for margin in (load_tuning().faint_word_db, 0.0):
        rec = PocketsphinxRecognizer(
            tuning=dataclasses.replace(load_tuning(), faint_word_db=margin))
        rec.set_phrases(vocab.all_phrases())
        placed, said_heard = stream(rec, pieces, gap_s=1.2)
        heard[margin] = [[_intent(vocab, h.text) for h in hs if h.final]
                         for hs in per_piece(placed, said_heard)]
    with_rule = heard[load_tuning().faint_word_db]
    hits = sum(_intent(vocab, p) in got for (p, _), got in zip(pieces, with_rule, strict=True))
    assert hits >= OVER_FAINT_TALK_MIN, with_rule
    wrong = [i for (p, _), got in zip(pieces, with_rule, strict=True) for i in got
             if i != _intent(vocab, p)]
    assert len(wrong) <= 1 and _intent(vocab, "ouch") not in wrong, with_rule  # no TV "pain"
    without = sum(_intent(vocab, p) in got for (p, _), got in zip(pieces, heard[0.0], strict=True))
    assert without <= hits - OVER_FAINT_TALK_MIN // 2, heard[0.0]
