"""Recognition in continuous streams: real clips laid end to end as one microphone signal.

The benchmark's clip phase gives each clip its own short stream; a session hears a
person who says a word now and then in one long one. Here each word folder of
../shared/audio/speech-commands-dev becomes one continuous stream
(../shared/audio/make_stream.py: the clips 1.2 s apart in faint room hiss), and the
session's own hearing path runs over it (`recognize_file`: the recognizer, the streaming
"stop" spotter, the short-word classifier and the second opinion, fresh ones per
stream, listening for every phrase).

Conditions: `quiet` (-60 dBFS hiss only), `bed45` and `bed35` (the _silence_ noise
recordings, concatenated and looped under the whole stream at -45 and -35 dBFS).

Scoring: a command acted at time t (its `end`; a spotted stop's end is the spot) belongs
to the clip with start <= t <= end + 1.0 (the gaps are 1.2 s, so at most one clip);
commands outside every clip's window are counted as `unmatched`. Per condition and word:
- `acted`: the share of clips with the expected command among their commands (stop,
  yes, no; None for the other words, which expect none);
- `wrong`: the share of clips with any command other than the expected one (for a
  non-command word, any command at all);
- `to_stop`: the share of clips where "stop" was acted on (None for the word stop).
`stop_by` counts which path acted: for the stop stream (`spotter` when `by` starts with
"spotter", else `recognizer`), and the same for the false stops of the other words.

False activations: the LibriVox read speech of Debian's pocketsphinx-testdata, one
stream with 1 s of -60 dBFS hiss before, between and after the files; every command
acted counts, divided by the minutes of speech (the files, not the hiss). There are only
about 25 s of it, so one activation reads as about 2.4 per minute: it shows gross
trouble, it cannot show a rate as low as the 0.1 per minute target.

Voices the classifier never heard: it was trained on three dev speakers in four (the
model file lists them); `acted_unheard` is the same share over the others' clips.

Stop while a step runs: the stop stream again, listening only for what a session
listens for while a step runs (`step_intents`: no question waits, so "yes" and "no" are
not listened for, and a "stop" the recognizer takes for "no" is judged as if unheard).
The other streams listen for every phrase, as while a safety question waits.

Stop clip by clip: each real "stop" in its own short file (0.5 s of hiss before, 1 s
after), through the same path with fresh parts per file.

Other speech, through the same path: `sentences` (the tests' ordinary sentences in
Piper's joe and two espeak-ng voices) and `routine_lines` (every line of every routine,
both wordings, in an espeak-ng voice unlike the assistant's; they hold command words,
"stop right away", so some count): commands per minute of speech.

Quick (`quick=True`): the quiet condition only, the words QUICK_WORDS, and only the first
QUICK_CLIPS clips of each: the streams are built in full, then each is cut after its
QUICK_CLIPS-th clip (plus its gap) and only those clips are scored.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from bisect import bisect_right
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED_AUDIO = ROOT.parent / "shared" / "audio"
MAKE_STREAM = SHARED_AUDIO / "make_stream.py"
NOISE_FOLDER = SHARED_AUDIO / "speech-commands-dev" / "_silence_"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SR = 16000

WORDS = ("stop", "yes", "no", "go", "up", "down", "left", "right", "on", "off",
         "_unknown_", "_silence_")
QUICK_WORDS = ("stop", "yes", "no", "go", "down", "_unknown_")
QUICK_CLIPS = 6
"""Clips per word in a quick run (~3 s of recognition per word on one core): enough to
show the phase works end to end (the test suite's benchmark smoke test), not to measure."""
EXPECTED = {"stop": "stop", "yes": "yes", "no": "no"}
"""The command each word folder should be acted on as; the others expect none."""
TO_STOP_ROWS = ("go", "no", "yes", "down")
"""Words whose turning into "stop" gets its own table row."""
MATCH_AFTER_S = 1.0
"""A command belongs to a clip from its start to this long after its end."""
STREAM_GAP_S = 1.2
"""make_stream.py's default gap between clips."""
HISS_DBFS = -60.0
SPEECH_GAP_S = 1.0


@dataclass(frozen=True)
class Condition:
    name: str
    bed_dbfs: float | None
    """The noise bed's level under the stream; None: hiss only."""


CONDITIONS = (Condition("quiet", None), Condition("bed45", -45.0), Condition("bed35", -35.0))

TARGETS: dict[str, tuple[str, float]] = {
    "stop_recall": (">=", 0.97),
    "acted": (">=", 0.90),
    "to_stop": ("<=", 0.03),
    "noncommand_any": ("<=", 0.03),
    "speech_false_per_min": ("<=", 0.1),
}
"""The issue's targets: stop heard, yes/no acted, word-to-stop, non-command words
turning into any command, false activations in ordinary speech."""


# ----- scoring -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipRow:
    """One line of make_stream.py's WORD.tsv."""

    file: str
    start_s: float
    end_s: float
    word: str


def read_rows(tsv: Path) -> list[ClipRow]:
    rows = []
    for line in tsv.read_text().splitlines():
        if line.strip():
            file, start, end, word = line.split("\t")
            rows.append(ClipRow(file, float(start), float(end), word))
    return rows


Detection = dict[str, object]
"""One command from `recognize_file`: intent, phrase, start, end, by."""


def by_spotter(detection: Detection) -> bool:
    return str(detection.get("by", "")).startswith("spotter")


def assign(rows: Sequence[ClipRow], detections: Sequence[Detection],
           ) -> tuple[list[list[Detection]], list[Detection]]:
    """Each clip's commands (t = a command's end, start <= t <= end + MATCH_AFTER_S),
    and the commands that fall in no clip's window."""
    starts = [r.start_s for r in rows]
    per_clip: list[list[Detection]] = [[] for _ in rows]
    unmatched: list[Detection] = []
    for d in detections:
        t = float(str(d["end"]))
        i = bisect_right(starts, t) - 1
        if i >= 0 and t <= rows[i].end_s + MATCH_AFTER_S:
            per_clip[i].append(d)
        else:
            unmatched.append(d)
    return per_clip, unmatched


@dataclass
class WordScore:
    word: str
    n: int
    acted: float | None
    wrong: float
    to_stop: float | None
    unmatched: int
    """Commands acted on outside every clip's window (not in the shares)."""
    stop_spotter: int = 0
    stop_recognizer: int = 0
    """Stop commands in this word's clips, by the path that acted."""
    stop_reasons: dict[str, int] = field(default_factory=dict)
    acted_unheard: float | None = None
    n_unheard: int = 0
    """The same share over the speakers the short-word classifier was not trained on."""

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "acted": self.acted, "wrong": self.wrong,
                "to_stop": self.to_stop, "unmatched": self.unmatched,
                "acted_unheard": self.acted_unheard, "n_unheard": self.n_unheard}


def step_intents() -> frozenset[str]:
    """What a session listens for while a step runs (from the state machine's table)."""
    from assistant.session.states import State, triggers_from
    from assistant.session.vocabulary import load_vocabulary

    return frozenset(i.name for i in load_vocabulary().intents) & triggers_from(State.RUNNING)


def trained_speakers() -> frozenset[str]:
    """Whom the shipped short-word classifier was trained on (empty without it)."""
    from assistant.commands.common import WORD_MODEL
    from assistant.errors import ModelMissing
    from assistant.listening.short_words import WordModel

    try:
        return WordModel(WORD_MODEL).train_speakers
    except ModelMissing:
        return frozenset()


def score_unheard(score: WordScore, rows: Sequence[ClipRow], detections: Sequence[Detection],
                  trained: frozenset[str]) -> WordScore:
    """`score` with the share acted over the clips of speakers never trained on."""
    from tests.harness.speech_samples import speaker_of

    unheard = [r for r in rows if speaker_of(r.file, r.word) not in trained]
    if not trained or not unheard or score.acted is None:
        return score
    part = score_word(score.word, unheard, detections)
    score.acted_unheard, score.n_unheard = part.acted, part.n
    return score


def score_word(word: str, rows: Sequence[ClipRow], detections: Sequence[Detection],
               ) -> WordScore:
    expected = EXPECTED.get(word)
    per_clip, unmatched = assign(rows, detections)
    n = len(rows)
    acted = wrong = to_stop = 0
    spotter = recognizer = 0
    reasons: dict[str, int] = {}
    for found in per_clip:
        intents = {str(d["intent"]) for d in found}
        acted += expected in intents
        wrong += any(i != expected for i in intents)
        to_stop += "stop" in intents
        for d in found:
            if d["intent"] == "stop":
                spotter += by_spotter(d)
                recognizer += not by_spotter(d)
                reasons[str(d["by"])] = reasons.get(str(d["by"]), 0) + 1

    def share(k: int) -> float:
        return k / n if n else 0.0

    return WordScore(
        word, n, share(acted) if expected is not None else None, share(wrong),
        share(to_stop) if word != "stop" else None, len(unmatched),
        spotter, recognizer, reasons,
    )


# ----- building the streams ------------------------------------------------------------


def unavailable() -> str | None:
    """Why the stream phase cannot run here, or None."""
    if not MAKE_STREAM.is_file():
        return f"{MAKE_STREAM} not found (../shared absent): stream metrics skipped"
    if not NOISE_FOLDER.is_dir() or not any(NOISE_FOLDER.glob("*.wav")):
        return f"no noise recordings in {NOISE_FOLDER}: stream metrics skipped"
    return None


def write_wav(path: Path, samples: np.ndarray[Any, np.dtype[np.int16]]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(samples.astype("<i2").tobytes())


def noise_bed(folder: Path, out: Path) -> Path:
    """Every WAV of `folder` (16 kHz mono int16), in name order, as one WAV at `out`."""
    from assistant.listening.recognize_file import read_wav

    parts = [read_wav(p, SR) for p in sorted(folder.glob("*.wav"))]
    write_wav(out, np.concatenate(parts))
    return out


def build_streams(out_dir: Path, condition: Condition, bed: Path | None) -> None:
    """make_stream.py's WORD.wav and WORD.tsv for every word, in `out_dir`."""
    command = [sys.executable, str(MAKE_STREAM), str(out_dir), "--hiss-dbfs", str(HISS_DBFS)]
    if condition.bed_dbfs is not None:
        assert bed is not None
        command += ["--bed", str(bed), "--bed-dbfs", str(condition.bed_dbfs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"make_stream.py failed ({done.returncode}): {done.stderr[-400:]}")


def cut_stream(wav: Path, rows: list[ClipRow], clips: int, out: Path,
               ) -> tuple[Path, list[ClipRow]]:
    """The stream up to its `clips`-th clip and the gap after it, and those clips' rows."""
    if clips >= len(rows):
        return wav, rows
    end = round((rows[clips - 1].end_s + STREAM_GAP_S) * SR)
    with wave.open(str(wav), "rb") as w:
        frames = w.readframes(min(end, w.getnframes()))
    write_wav(out, np.frombuffer(frames, dtype="<i2"))
    return out, rows[:clips]


def hiss(seconds: float, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Uniform noise of HISS_DBFS RMS, as make_stream.py's."""
    amplitude = 32768 * 10 ** (HISS_DBFS / 20) * 3**0.5
    return rng.uniform(-amplitude, amplitude, round(seconds * SR))


def speech_stream(files: Sequence[Path], out: Path) -> float:
    """`files` in one WAV at `out` with SPEECH_GAP_S of hiss before, between and after;
    returns the seconds of speech (the files alone)."""
    from assistant.listening.recognize_file import read_wav

    rng = np.random.default_rng(1)
    parts = [hiss(SPEECH_GAP_S, rng)]
    speech = 0
    for path in files:
        x = read_wav(path, SR)
        speech += x.size
        parts += [x.astype(np.float64), hiss(SPEECH_GAP_S, rng)]
    write_wav(out, np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16))
    return speech / SR


def synthetic_speech(kind: str, out: Path) -> float | None:
    """Ordinary sentences ("sentences": the test corpus, in Piper's joe and two espeak-ng
    voices) or every line of every routine ("routine_lines", self and partner wording,
    in an espeak-ng voice unlike the assistant's), as one stream like `speech_stream`;
    the seconds of speech, or None when no synthesizer is here."""
    from assistant.session.routines import builtin_names, load_routine
    from tests.harness import speech_samples as ss

    if shutil.which("espeak-ng") is None:
        return None
    if kind == "sentences":
        speakers = [ss.Speaker.espeak("en-us+m3", 160, 45), ss.Speaker.espeak("en+f3", 150, 60)]
        if ss.piper_missing() is None:
            speakers.append(ss.Speaker.piper(1.0))
        pieces = [ss.speak(text, who) for who in speakers for text in ss.SENTENCES]
    else:
        lines: list[str] = []
        for name in builtin_names():
            routine = load_routine(name)
            for step in (*routine.steps, routine.switch, routine.finish):
                for phrasing in (step.instruction, *step.pressure.values(),
                                 *(c.text for c in step.cues)):
                    lines += [phrasing.self, phrasing.partner]
        unique = list(dict.fromkeys(line for line in lines if line.strip()))
        pieces = [ss.speak(line, ss.Speaker.espeak("en-gb+m7", 150, 45)) for line in unique]
    rng = np.random.default_rng(2)
    parts = [hiss(SPEECH_GAP_S, rng)]
    for x in pieces:
        parts += [x.astype(np.float64), hiss(SPEECH_GAP_S, rng)]
    write_wav(out, np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16))
    return sum(x.size for x in pieces) / SR


def clip_files(word: str, out: Path) -> list[Path]:
    """Each clip of a word folder in its own file, with 0.5 s of hiss before and 1 s after
    (one short recording, as `recognize` would be given)."""
    from assistant.listening.recognize_file import read_wav

    rng = np.random.default_rng(3)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for wav in sorted((SHARED_AUDIO / "speech-commands-dev" / word).glob("*.wav")):
        x = read_wav(wav, SR).astype(np.float64)
        samples = np.concatenate([hiss(0.5, rng), x, hiss(1.0, rng)])
        files.append(out / wav.name)
        write_wav(files[-1], np.clip(np.round(samples), -32768, 32767).astype(np.int16))
    return files


def recognize_clips(files: Sequence[Path], engine: str, model: Path | None) -> list[bool]:
    """For each file, whether the session's hearing acted on it as "stop" (a fresh
    recognizer, spotter and classifier per file)."""
    return [any(d["intent"] == "stop" for d in recognize_stream(f, engine, model).detections)
            for f in files]


# ----- recognition (in worker processes) -----------------------------------------------


@dataclass(frozen=True)
class StreamResult:
    detections: list[Detection]
    seconds: float
    """Wall time of the recognition."""
    error: str | None = None
    spotter_missing: str | None = None


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def recognize_stream(wav: Path, engine: str, model: Path | None,
                     intents: frozenset[str] | None = None) -> StreamResult:
    """Every command a session acts on in `wav`, with a fresh recognizer and stop spotter
    built as the program builds them (both keep state across a stream); `intents`: only
    these listened for (None: every phrase)."""
    from assistant.cli import MODEL_ENV
    from assistant.commands.common import PROJECT_MODELS, STOP_MODEL, WORD_MODEL
    from assistant.errors import ModelMissing
    from assistant.listening.engines import open_recognizer, open_short_words, open_stop_spotter
    from assistant.listening.recognize_file import recognize_file
    from assistant.session.vocabulary import load_vocabulary
    from assistant.settings import ListenSettings

    t0 = time.monotonic()
    settings = ListenSettings(
        engine=engine,  # type: ignore[arg-type]
        model_path=model,
        search_dirs=(PROJECT_MODELS,),
        stop_model=STOP_MODEL,
        word_model=None if os.environ.get("NO_WORDS") else WORD_MODEL,
    )
    env_model = os.environ.get(MODEL_ENV)
    try:
        recognizer = open_recognizer(settings, Path(env_model) if env_model else None)
        missing = None
        try:
            spotter = open_stop_spotter(settings)
        except ModelMissing as exc:
            spotter, missing = None, str(exc)
        try:
            words = open_short_words(settings)
        except ModelMissing as exc:
            words, missing = None, str(exc)
        found = recognize_file(wav, recognizer, load_vocabulary(), stop_spotter=spotter,
                               short_words=words, intents=intents)
    except Exception as exc:
        return StreamResult([], time.monotonic() - t0, f"{type(exc).__name__}: {exc}")
    return StreamResult(found, time.monotonic() - t0, None, missing)


# ----- the phase -----------------------------------------------------------------------


@dataclass
class StreamReport:
    scores: dict[str, dict[str, WordScore]] = field(default_factory=dict)
    """condition -> word -> score."""
    stop_in_step: dict[str, WordScore] = field(default_factory=dict)
    """condition -> the stop stream heard as while a step runs (`step_intents`)."""
    speech_false_per_min: float | None = None
    speech_minutes: float | None = None
    speech_commands: list[Detection] = field(default_factory=list)
    speech_files: int = 0
    stop_clip_by_clip: tuple[int, int] | None = None
    """Real stops acted on, each clip in its own short file: (acted, clips)."""
    other_speech: dict[str, tuple[float, list[Detection]]] = field(default_factory=dict)
    """Synthetic speech streams: kind -> (minutes, commands acted on)."""
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def stop_by(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for condition, words in self.scores.items():
            stop = words.get("stop")
            others = [s for w, s in words.items() if w != "stop"]
            out[condition] = {
                "spotter": stop.stop_spotter if stop else 0,
                "recognizer": stop.stop_recognizer if stop else 0,
                "reasons": dict(sorted(stop.stop_reasons.items())) if stop else {},
                "false_stops": {"spotter": sum(s.stop_spotter for s in others),
                                "recognizer": sum(s.stop_recognizer for s in others)},
            }
        return out

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {c: {w: s.as_json() for w, s in words.items()}
                               for c, words in self.scores.items()}
        out["stop_by"] = self.stop_by()
        out["stop_in_step"] = {c: s.as_json() for c, s in self.stop_in_step.items()}
        out["speech_false_per_min"] = self.speech_false_per_min
        out["speech_minutes"] = self.speech_minutes
        out["speech_commands"] = self.speech_commands
        out["stop_clip_by_clip"] = (None if self.stop_clip_by_clip is None
                                    else dict(zip(("acted", "clips"), self.stop_clip_by_clip,
                                                  strict=True)))
        out["other_speech"] = {
            kind: {"minutes": minutes, "commands": len(found),
                   "per_min": len(found) / minutes if minutes else None,
                   "phrases": [str(d["phrase"]) for d in found]}
            for kind, (minutes, found) in self.other_speech.items()}
        return out


def run_streams(engine: str = "auto", model: Path | None = None, quick: bool = False,
                workers: int = 2) -> StreamReport:
    """Build the streams, recognize them in `workers` processes, score them. Raises
    nothing for a missing ../shared or LibriVox: the report's notes say what was skipped."""
    report = StreamReport()
    t_start = time.monotonic()
    reason = unavailable()
    if reason is not None:
        report.notes.append(reason)
    librivox = sorted(LIBRIVOX.glob("*.wav"))
    if not librivox:
        report.notes.append(f"no LibriVox read speech at {LIBRIVOX} (apt-get install "
                            "pocketsphinx-testdata): false activations per minute skipped")
    conditions = CONDITIONS[:1] if quick else CONDITIONS
    trained = trained_speakers()
    words = QUICK_WORDS if quick else WORDS
    context = get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="stream-metrics-") as tmp_name, \
            ProcessPoolExecutor(max(1, workers), context, _worker_init) as pool:
        tmp = Path(tmp_name)
        try:
            jobs: dict[tuple[str, str], tuple[list[ClipRow], Future[StreamResult]]] = {}
            in_step: dict[str, tuple[list[ClipRow], Future[StreamResult]]] = {}
            stepping = step_intents()
            speech: tuple[float, Future[StreamResult]] | None = None
            if librivox:
                seconds = speech_stream(librivox, tmp / "speech.wav")
                speech = seconds, pool.submit(recognize_stream, tmp / "speech.wav",
                                              engine, model)
            others: dict[str, tuple[float, Future[StreamResult]]] = {}
            for kind in () if quick else ("sentences", "routine_lines"):
                seconds_of = synthetic_speech(kind, tmp / f"{kind}.wav")
                if seconds_of is None:
                    report.notes.append(f"no espeak-ng: the {kind} stream skipped")
                    continue
                others[kind] = seconds_of, pool.submit(recognize_stream, tmp / f"{kind}.wav",
                                                       engine, model)
            by_clip: list[Future[list[bool]]] = []
            if reason is None and not quick:
                files = clip_files("stop", tmp / "stop_clips")
                by_clip = [pool.submit(recognize_clips, files[i::2], engine, model)
                           for i in range(2)]
            if reason is None:
                bed = noise_bed(NOISE_FOLDER, tmp / "bed.wav")
                for condition in conditions:  # recognition runs while the next is built
                    folder = tmp / condition.name
                    build_streams(folder, condition, bed)
                    for word in words:
                        wav, rows = folder / f"{word}.wav", read_rows(folder / f"{word}.tsv")
                        if quick:
                            wav, rows = cut_stream(wav, rows, QUICK_CLIPS,
                                                   folder / f"{word}.cut.wav")
                        jobs[condition.name, word] = rows, pool.submit(
                            recognize_stream, wav, engine, model)
                    if not quick:
                        in_step[condition.name] = read_rows(folder / "stop.tsv"), pool.submit(
                            recognize_stream, folder / "stop.wav", engine, model, stepping)
            for (condition_name, word), (rows, future) in jobs.items():
                result = future.result()
                _note_result(report, f"{condition_name}/{word}", result)
                if result.error is not None:
                    continue
                score = score_unheard(score_word(word, rows, result.detections), rows,
                                      result.detections, trained)
                report.scores.setdefault(condition_name, {})[word] = score
                print(f"  stream {condition_name}/{word}: {len(rows)} clips, "
                      f"{_clip_summary(score)} in {result.seconds:.0f} s", flush=True)
            for condition_name, (rows, future) in in_step.items():
                result = future.result()
                _note_result(report, f"{condition_name}/stop while a step runs", result)
                if result.error is None:
                    score = score_unheard(score_word("stop", rows, result.detections), rows,
                                          result.detections, trained)
                    report.stop_in_step[condition_name] = score
                    print(f"  stream {condition_name}/stop while a step runs: "
                          f"{_clip_summary(score)} in {result.seconds:.0f} s", flush=True)
            if speech is not None:
                seconds, future = speech
                result = future.result()
                _note_result(report, "ordinary speech", result)
                if result.error is None:
                    report.speech_minutes = seconds / 60
                    report.speech_files = len(librivox)
                    report.speech_commands = result.detections
                    report.speech_false_per_min = len(result.detections) / (seconds / 60)
                print(f"  stream of ordinary speech: {seconds / 60:.1f} min, "
                      f"{len(result.detections)} commands in {result.seconds:.0f} s", flush=True)
            if by_clip:
                acted = [a for future in by_clip for a in future.result()]
                report.stop_clip_by_clip = sum(acted), len(acted)
                print(f"  stop clip by clip: {sum(acted)} of {len(acted)}", flush=True)
            for kind, (seconds, future) in others.items():
                result = future.result()
                _note_result(report, kind, result)
                if result.error is None:
                    report.other_speech[kind] = seconds / 60, result.detections
                print(f"  stream of {kind}: {seconds / 60:.1f} min, "
                      f"{len(result.detections)} commands in {result.seconds:.0f} s", flush=True)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    report.elapsed_s = time.monotonic() - t_start
    return report


def _note_result(report: StreamReport, what: str, result: StreamResult) -> None:
    if result.error is not None:
        report.notes.append(f"stream {what}: the recognizer failed, not scored: {result.error}")
    if result.spotter_missing is not None:
        note = f"no stop spotter, the recognizer alone: {result.spotter_missing}"
        if note not in report.notes:
            report.notes.append(note)


def _clip_summary(score: WordScore) -> str:
    parts = [] if score.acted is None else [f"acted {100 * score.acted:.0f}%"]
    parts.append(f"wrong {100 * score.wrong:.0f}%")
    if score.to_stop is not None:
        parts.append(f"to stop {100 * score.to_stop:.0f}%")
    return ", ".join(parts)


# ----- the table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the benchmark's table (the benchmark turns it into its Metric); `n`:
    clips, or for the speech figure the read-speech files."""

    name: str
    value: float | None
    unit: str
    target: tuple[str, float] | None
    n: int
    note: str = ""


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _unheard(score: WordScore) -> str:
    if score.acted_unheard is None:
        return ""
    return f"; voices the classifier never heard {_pct(score.acted_unheard)} of {score.n_unheard}"


def table_rows(report: StreamReport) -> list[Row]:
    """Per condition: stop recall, yes/no acted, go/no/yes/down to stop, non-command words
    to any command (pooled over clips); then false activations per minute of speech."""
    rows: list[Row] = []
    stop_by = report.stop_by()
    for condition, words in report.scores.items():
        prefix = f"stream_{condition}"
        stop = words.get("stop")
        if stop is not None and stop.acted is not None:
            by = stop_by[condition]
            rows.append(Row(f"{prefix}_stop_recall", stop.acted, "share", TARGETS["stop_recall"],
                            stop.n, f"stop detections: spotter {by['spotter']}, recognizer "
                            f"{by['recognizer']}; wrong {_pct(stop.wrong)}{_unheard(stop)}"))
        in_step = report.stop_in_step.get(condition)
        if in_step is not None and in_step.acted is not None:
            rows.append(Row(f"{prefix}_stop_in_step", in_step.acted, "share",
                            TARGETS["stop_recall"], in_step.n,
                            "listening as while a step runs (no question waits: yes and no "
                            f"are not listened for); wrong {_pct(in_step.wrong)}"
                            f"{_unheard(in_step)}"))
        for word in ("yes", "no"):
            s = words.get(word)
            if s is not None and s.acted is not None:
                rows.append(Row(f"{prefix}_{word}_acted", s.acted, "share", TARGETS["acted"],
                                s.n, f"wrong {_pct(s.wrong)}{_unheard(s)}"))
        for word in TO_STOP_ROWS:
            s = words.get(word)
            if s is not None and s.to_stop is not None:
                rows.append(Row(f"{prefix}_{word}_to_stop", s.to_stop, "share",
                                TARGETS["to_stop"], s.n,
                                f"spotter {s.stop_spotter}, recognizer {s.stop_recognizer}"))
        others = [s for w, s in words.items() if w not in EXPECTED]
        n = sum(s.n for s in others)
        if n:
            any_command = sum(s.wrong * s.n for s in others) / n
            worst = sorted((s for s in others if s.wrong > 0), key=lambda s: -s.wrong)
            note = ", ".join(f"{s.word} {_pct(s.wrong)}" for s in worst) or "none"
            rows.append(Row(f"{prefix}_noncommand_any", any_command, "share",
                            TARGETS["noncommand_any"], n, f"{len(others)} words; {note}"))
    if report.speech_minutes is not None:
        count = len(report.speech_commands)
        heard = ", ".join(str(c["phrase"]) for c in report.speech_commands[:5])
        rows.append(Row(
            "speech_false_per_min", report.speech_false_per_min, "per min",
            TARGETS["speech_false_per_min"], report.speech_files,
            f"{count} in {report.speech_minutes:.2f} min of LibriVox read speech"
            + (f" ({heard})" if heard else "")
            + f"; one would read {1 / report.speech_minutes:.1f}/min",
        ))
    if report.stop_clip_by_clip is not None:
        acted, clips = report.stop_clip_by_clip
        rows.append(Row("stop_clip_by_clip", acted / clips if clips else None, "share",
                        TARGETS["stop_recall"], clips,
                        "each real stop in its own short file, through the same path"))
    for kind, (minutes, found) in report.other_speech.items():
        heard = ", ".join(str(c["phrase"]) for c in found[:5])
        what = ("synthetic sentences (Piper joe, two espeak-ng voices)" if kind == "sentences"
                else "every routine line read by another voice (espeak-ng en-gb+m7)")
        rows.append(Row(
            f"{kind}_false_per_min", len(found) / minutes if minutes else None, "per min",
            TARGETS["speech_false_per_min"] if kind == "sentences" else None, len(found),
            f"{len(found)} in {minutes:.1f} min of {what}" + (f" ({heard})" if heard else "")))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone: `python scripts/stream_metrics.py [--quick]` prints the rows."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--engine", choices=["auto", "pocketsphinx", "vosk"], default="auto")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run_streams(args.engine, args.model, args.quick)
    for row in table_rows(report):
        value = "n/a" if row.value is None else (
            _pct(row.value) if row.unit == "share" else f"{row.value:.2f}")
        target = "-" if row.target is None else f"{row.target[0]} " + (
            _pct(row.target[1]) if row.unit == "share" else f"{row.target[1]:g}")
        print(f"{row.name:<28} {value:>10} {target:>10} {row.n:>5}  {row.note}")
    for note in report.notes:
        print(f"note: {note}")
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
