"""The vosk adapter: grammar, phrase splitting, model errors; real audio when a model exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.adapters.vosk_asr import UNKNOWN, VoskRecognizer, grammar_json, split_phrases
from assistant.errors import ModelMissing
from assistant.listening.recognize_file import commands_from
from assistant.listening.vosk_model import find_vosk_model
from assistant.ports import Heard
from assistant.session.vocabulary import load_vocabulary
from tests.harness import speech_samples as ss

MODELS = Path(__file__).resolve().parents[1] / "models"
NO_MODEL = "no vosk model in models/ (run massage-assistant download-model)"


def real_model() -> Path:
    found = find_vosk_model((MODELS,))
    if found is None:
        pytest.skip(NO_MODEL)
    return found


def test_the_grammar_is_the_phrases_then_unk() -> None:
    grammar = json.loads(grammar_json(["Stop", "less pressure", "stop", ""]))
    assert grammar == ["stop", "less pressure", UNKNOWN]


def test_the_whole_vocabulary_grammar_ends_with_unk() -> None:
    phrases = load_vocabulary().all_phrases()
    grammar = json.loads(grammar_json(phrases))
    assert grammar[-1] == "[unk]"
    assert grammar[:-1] == phrases


def test_results_split_into_phrases_longest_first() -> None:
    phrases = ["stop", "stop it", "less pressure", "go back", "back"]
    words = ["stop", "it", "less", "pressure", "go", "back", "back", "pressure"]
    assert split_phrases(words, phrases) == [
        ("stop it", 0, 2), ("less pressure", 2, 4), ("go back", 4, 6), ("back", 6, 7)]


def test_a_missing_model_names_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="massage-assistant download-model"):
        VoskRecognizer(tmp_path / "nowhere")


def test_a_folder_that_is_no_model_names_the_download_command(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelMissing, match="massage-assistant download-model"):
        VoskRecognizer(tmp_path)


def test_a_broken_model_names_the_download_command(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not really a model")
    with pytest.raises(ModelMissing, match="massage-assistant download-model"):
        VoskRecognizer(tmp_path)


def recognize(rec: VoskRecognizer, pieces: list[tuple[str, ss.Samples]]) -> list[Heard]:
    stream, _ = ss.concatenate(pieces, gap_s=1.2)
    heard: list[Heard] = []
    for block in ss.chunks(stream, 0.1):
        heard.extend(rec.accept(block))
    heard.extend(rec.flush())
    return heard


def test_real_model_hears_synthesized_commands_in_order() -> None:
    ss.require_espeak()
    rec = VoskRecognizer(real_model())
    vocab = load_vocabulary()
    rec.set_phrases(vocab.all_phrases())
    said = ["stop", "less pressure", "slower", "repeat"]
    heard = recognize(rec, [(p, ss.synthesize(p, "en-us", 150, 50)) for p in said])
    assert [c["intent"] for c in commands_from(heard, vocab)] == [
        "stop", "less_pressure", "slower", "repeat"]
    assert all(h.end_s >= h.start_s for h in heard)


def test_real_model_reports_only_the_current_phrases() -> None:
    ss.require_espeak()
    rec = VoskRecognizer(real_model())
    rec.set_phrases(["stop", "pause"])
    heard = recognize(rec, [(p, ss.synthesize(p)) for p in ["slower", "pause"]])
    assert {h.text for h in heard} <= {"stop", "pause"}
    assert "pause" in {h.text for h in heard if h.final}


def test_real_model_hears_no_command_in_read_speech() -> None:
    files = ss.require_librivox()
    rec = VoskRecognizer(real_model())
    rec.set_phrases(load_vocabulary().all_phrases())
    from assistant.listening.recognize_file import read_wav

    heard = recognize(rec, [(f.name, read_wav(f)) for f in files])
    assert len([h for h in heard if h.final]) <= 1
