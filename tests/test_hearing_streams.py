"""Real people in a continuous stream, as a session hears them: the shared dev clips laid
end to end by ../shared/audio/make_stream.py (faint hiss between), through the real
recognizer, the real stop spotter, the real short-word classifier and the second opinion
(`recognize_file`).

The classifier was trained on three dev speakers in four; the answers are also scored on
the fourth alone (`unheard`), voices it never heard. Thresholds sit a little under what
was measured on this code (see the README's "Hearing real people").
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.errors import ModelMissing
from assistant.listening.engines import (
    open_recognizer,
    open_short_words,
    open_stop_spotter,
    short_words_or_notice,
    stop_spotter_or_notice,
)
from assistant.listening.hearing import Hearing
from assistant.listening.recognize_file import read_wav, recognize_file
from assistant.listening.short_words import WordModel
from assistant.listening.spotter import CommandSpotter
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import ListenSettings
from tests.harness import speech_samples as ss
from tests.harness import stream_decoding as sd

MODELS = Path(__file__).resolve().parents[1] / "models"
STOP_MODEL = MODELS / "microwakeword-stop" / "stop.json"
WORD_MODEL = MODELS / "word-classifier" / "weights.npz"
CLIPS = 50
"""Clips per word (the first of each folder): enough to tell 3% from 10%, and quick."""
SETTINGS = ListenSettings(engine="pocketsphinx", stop_model=STOP_MODEL, word_model=WORD_MODEL)
Decoded = dict[str, list[set[str]] | tuple[set[int], set[int], set[int]]]


DECODED = {"stop": CLIPS, "yes": None, "no": None, "go": CLIPS, "down": CLIPS}
"""The streams the tests score, and how many of their clips (None: all)."""
JOBS = ["no/screening", "no/screening-bed35", *DECODED]
"""Every decoding job: "no/screening" is `no_during_screening`, "no/screening-bed35" the
same in a loud noise bed (`noisy_streams`), the others `acted_per_clip` of that word."""
BED_DBFS = -35.0
"""The louder of the benchmark's noise beds (scripts/stream_metrics.py)."""


def build_streams(out: Path, *options: str) -> None:
    maker = ss.SHARED / "audio" / "make_stream.py"
    subprocess.run([sys.executable, str(maker), str(out), *options], check=True,
                   capture_output=True)


def noisy_streams(tmp: Path) -> Path:
    """The streams again with the dev set's room-noise recordings (its _silence_ clips,
    joined) laid under them at BED_DBFS, as the benchmark's bed35 condition."""
    tmp.mkdir(parents=True, exist_ok=True)
    noise = np.concatenate([read_wav(p) for p in
                            sorted((ss.SPEECH_COMMANDS / "_silence_").glob("*.wav"))])
    bed = tmp / "bed.wav"
    ss.write_wav(bed, noise)
    build_streams(tmp / "streams", "--bed", str(bed), "--bed-dbfs", str(BED_DBFS))
    return tmp / "streams"


@pytest.fixture(scope="module")
def work(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         ) -> tuple[Path, dict[str, Any]]:
    """The streams and what every job decoded: started early by conftest.py when it
    could (tests/harness/stream_decoding.py), else here and now."""
    ss.require_shared()
    early = request.config.stash.get(sd.EARLY, None)
    proc, folder = early or (None, tmp_path_factory.mktemp("hearing-streams"))
    proc = proc or sd.start(folder, nice=0)
    try:
        return folder / "streams", sd.collect(proc, folder)
    finally:
        sd.stop(proc)


@pytest.fixture(scope="module")
def streams(work: tuple[Path, dict[str, Any]]) -> Path:
    return work[0]


@pytest.fixture(scope="module")
def decoded(work: tuple[Path, dict[str, Any]]) -> Decoded:
    """Every stream's result keyed by word; "no/screening" is `no_during_screening`."""
    results = work[1]
    out: Decoded = {w: [set(a) for a in results[w]] for w in DECODED}
    for job in ("no/screening", "no/screening-bed35"):
        spotted, answers, stops = results[job]
        out[job] = (set(spotted), set(answers), set(stops))
    return out


def first_clips(streams: Path, word: str, tmp: Path, count: int | None = CLIPS,
                ) -> tuple[Path, list[tuple[float, float]]]:
    """The stream cut after its first `count` clips (None: all), and their times."""
    rows = [(start, end) for _, start, end in clip_rows(streams, word)][:count]
    x = read_wav(streams / f"{word}.wav")[: int((rows[-1][1] + 1.0) * 16000)]
    cut = tmp / f"{word}.wav"
    with wave.open(str(cut), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x.tobytes())
    return cut, rows


def per_clip(decoded: Decoded, word: str) -> list[set[str]]:
    acted = decoded[word]
    assert isinstance(acted, list)
    return acted


def clip_rows(streams: Path, word: str) -> list[tuple[str, float, float]]:
    with (streams / f"{word}.tsv").open() as f:
        return [(r[0], float(r[1]), float(r[2])) for r in csv.reader(f, delimiter="\t")]


def acted_per_clip(streams: Path, word: str, tmp: Path, count: int | None = CLIPS,
                   ) -> list[set[str]]:
    tmp.mkdir(parents=True, exist_ok=True)
    path, clips = first_clips(streams, word, tmp, count)
    found = recognize_file(path, open_recognizer(SETTINGS, None), load_vocabulary(),
                           stop_spotter=open_stop_spotter(SETTINGS),
                           short_words=open_short_words(SETTINGS))
    acted: list[set[str]] = [set() for _ in clips]
    for command in found:
        t = float(str(command["end"]))
        for i, (start, end) in enumerate(clips):
            if start <= t <= end + 1.0:
                acted[i].add(str(command["intent"]))
                break
    return acted


def test_real_stops_in_a_stream_are_heard(decoded: Decoded) -> None:
    acted = per_clip(decoded, "stop")
    recall = sum("stop" in a for a in acted) / len(acted)
    assert recall >= 0.90, f"stop recall {recall:.0%} (before the spotter: 11%)"


@pytest.mark.parametrize("word,least,least_unheard", [("yes", 0.88, 0.85), ("no", 0.90, 0.90)])
def test_real_answers_in_a_stream_are_heard(
    streams: Path, decoded: Decoded, word: str, least: float, least_unheard: float
) -> None:
    """Every clip of the word, and apart those of the speakers the classifier was not
    trained on (before the classifier: yes 73%, no 44%)."""
    acted = per_clip(decoded, word)
    trained = WordModel(WORD_MODEL).train_speakers
    speakers = [ss.speaker_of(file) for file, _, _ in clip_rows(streams, word)]
    unheard = [a for a, who in zip(acted, speakers, strict=True) if who not in trained]
    share = sum(word in a for a in acted) / len(acted)
    share_unheard = sum(word in a for a in unheard) / len(unheard)
    to_stop = sum("stop" in a for a in acted) / len(acted)
    assert len(unheard) >= 30, "too few unheard speakers to say anything"
    assert share >= least, f"{word} acted {share:.0%}"
    assert share_unheard >= least_unheard, f"{word} acted {share_unheard:.0%} of unheard voices"
    assert to_stop <= 0.03, f"{word} became a stop {to_stop:.0%}"


@pytest.mark.parametrize("word,most", [("go", 0.06), ("down", 0.08)])
def test_other_short_words_rarely_become_a_stop(decoded: Decoded, word: str, most: float,
                                                ) -> None:
    acted = per_clip(decoded, word)
    to_stop = sum("stop" in a for a in acted) / len(acted)
    assert to_stop <= most, f"{word} became a stop {to_stop:.0%}"


def test_a_go_the_classifier_is_sure_of_rarely_becomes_any_command(decoded: Decoded) -> None:
    """A real "go" that pocketsphinx hears as another command ("i do", "again") is dropped
    when the classifier is sure of its "go" (WordRules.go_veto_bar); "go on" and "go back"
    still come through: the classifier cannot tell them from a lone "go". Of these 50
    clips, 4 became a command before the rule ("i do", "go on", "back", a stop), 3 with it.
    With the classifier retrained (2026-12-07) 4 again: 0d53e045 was spotted and read
    "go" 0.83 and "stop" 0.24, which stops (a spot is dismissed as another word only at
    0.9 with "stop" under 0.35; at 0.8, cross-validation dismissed 2-6 more "go" of 120
    per condition but lost up to 1 real "stop" of 131)."""
    acted = per_clip(decoded, "go")
    turned = sum(bool(a) for a in acted)
    assert turned <= 4, f"{turned} of {len(acted)} go clips became a command: {acted}"


def no_during_screening(streams: Path, tmp: Path) -> tuple[set[int], set[int], set[int]]:
    """Every "no" clip fed while a safety question waits: the clips (indices) the
    spotter fired on (whether or not the word had already answered), those that acted as
    "no", and those that stopped."""
    tmp.mkdir(parents=True, exist_ok=True)
    path, clips = first_clips(streams, "no", tmp, None)
    vocabulary = load_vocabulary()
    recognizer = open_recognizer(SETTINGS, None)
    screening = frozenset({"yes", "no", "stop", "pause", "pain", "repeat", "help"})
    recognizer.set_phrases(vocabulary.phrases_for(screening))
    spotter = CommandSpotter(vocabulary, None)
    spotter.set_valid(screening)
    stop_spotter = open_stop_spotter(SETTINGS)
    assert stop_spotter is not None
    hearing = Hearing(recognizer, spotter, vocabulary, stop_spotter,
                      words=open_short_words(SETTINGS))
    x = read_wav(path)
    events = []
    for at in range(0, x.size, 800):
        events += hearing.feed(x[at : at + 800].tobytes(), 0.0)
    events += hearing.flush(0.0)
    # A spot of a word already answered is a duplicate, and holds nothing: it counts too.
    spotted = [e.end_s for e in events if e.kind == "spotted"
               or (e.kind == "heard" and e.reason.startswith("spot_"))]
    answers = [e.end_s for e in events if e.kind == "acted" and e.command
               and e.command.intent == "no"]
    stops = [e.end_s for e in events if e.kind == "acted" and e.command
             and e.command.intent == "stop"]

    def clip(t: float) -> int | None:
        return next((i for i, (s, e) in enumerate(clips) if s <= t <= e + 1.0), None)

    return ({c for t in spotted if (c := clip(t)) is not None},
            {c for t in answers if (c := clip(t)) is not None},
            {c for t in stops if (c := clip(t)) is not None})


def test_a_no_the_spotter_fired_on_stays_a_no_during_the_safety_questions(
    decoded: Decoded,
) -> None:
    """The spotter fires on many a "no"; while a safety question waits, each one the
    recognizer heard as "no" must act as "no", never as a stop as well. (All 147 clips:
    the spotter fires on about one "no" in fifteen.)"""
    result = decoded["no/screening"]
    assert isinstance(result, tuple)
    spotted, answers, stops = result
    spotted_no = spotted & answers
    assert spotted_no, "the spotter fired on none of the 'no' clips heard as 'no'"
    assert not spotted_no & stops, "a spotted 'no' also stopped"


def test_real_noes_in_loud_noise_answer_the_safety_questions(streams: Path,
                                                            decoded: Decoded) -> None:
    """Every real "no" with room noise at -35 dBFS under it, while a safety question
    waits. There the endpointer often closes no utterance around a short word, or one too
    long to be an answer; the classifier answers on its own what it reads very surely
    (`WordRules.answer_spot_bar`). Without that: 70% answered; with it 79%."""
    result = decoded["no/screening-bed35"]
    assert isinstance(result, tuple)
    _, answers, stops = result
    clips = len(clip_rows(streams, "no"))
    assert len(answers) / clips >= 0.76, f"{len(answers)} of {clips} answered 'no'"
    assert len(stops) / clips <= 0.03, f"{len(stops)} of {clips} stopped"


def test_without_the_classifier_a_notice_and_listening_goes_on(tmp_path: Path) -> None:
    missing = ListenSettings(word_model=tmp_path / "nowhere" / "weights.npz")
    with pytest.raises(ModelMissing, match="models/word-classifier"):
        open_short_words(missing)
    said: list[str] = []
    assert short_words_or_notice(missing, said.append) is None
    assert len(said) == 1 and "recognizer alone hears yes and no" in said[0], said
    broken = tmp_path / "weights.npz"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelMissing, match="cannot be loaded"):
        open_short_words(ListenSettings(word_model=broken))
    assert short_words_or_notice(ListenSettings(), said.append) is None, "turned off"
    assert len(said) == 1


def test_without_the_model_a_notice_and_the_recognizer_alone(tmp_path: Path) -> None:
    missing = ListenSettings(stop_model=tmp_path / "nowhere" / "stop.json")
    with pytest.raises(ModelMissing, match="models/microwakeword-stop"):
        open_stop_spotter(missing)
    said: list[str] = []
    assert stop_spotter_or_notice(missing, said.append) is None
    assert len(said) == 1 and "recognizer alone" in said[0], said
    assert stop_spotter_or_notice(ListenSettings(), said.append) is None, "turned off"
    assert len(said) == 1


def _decode_one(job: str, streams: Path, tmp: Path) -> object:
    """One of `decoded`'s jobs, as JSON-ready lists."""
    if job == "no/screening":
        return [sorted(found) for found in no_during_screening(streams, tmp)]
    if job == "no/screening-bed35":
        noisy = noisy_streams(tmp / "noisy")
        return [sorted(found) for found in no_during_screening(noisy, tmp)]
    return [sorted(acted) for acted in acted_per_clip(streams, job, tmp, DECODED[job])]


if __name__ == "__main__":
    if sys.argv[1] == "--all":
        sd.decode_all(Path(sys.argv[2]), JOBS, build_streams)
    else:
        print(json.dumps(_decode_one(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
