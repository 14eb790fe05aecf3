"""The benchmark's offline clips: the recognizer alone, no room.

Offline (the recognizer alone, clips fed as a microphone stream through the echo
canceller, which with nothing playing adds only its quiet comfort noise floor, -70 dBFS,
as in a session; before 2026-11-21 the clips went to the recognizer without it, which
flattered it: real "stop" 59.5 % then, about 28 % in the -50 dBFS floor of that time):
- accuracy: per intent, the share of clips heard as exactly that command. Synthesized
  clips of every intent's two main phrases in five espeak-ng voices (rates 130-190 wpm)
  and in a Piper neural voice (length scales 0.85, 1.0, 1.15), clean and with room or
  pink noise at 20, 10 and 5 dB SNR, rotating, and real clips from ../shared for every
  folder whose word is itself a command phrase (stop/, and yes/ no/ once those are
  phrases; "go" alone is not one). `accuracy` is the mean over intents of the
  synthesized share (both families); `accuracy_espeak` and `accuracy_piper` are the same
  mean per voice family (`accuracy_espeak` is the same clips as `accuracy` before Piper
  was added); `accuracy_stop_real` is the real "stop" clips. Piper's synthesis is not
  seedable: each clip's first synthesis is cached and reused (tests/harness/speech_samples.py).
  Each clip is one stream with 0.5 s of quiet (or of the same noise) before and after,
  so the endpointer sees an utterance begin and end; the recognizer listens for what
  a session listens for where that command is valid: a running massage's commands,
  a paused one's for "resume", the safety questions' for the answers and choices only
  valid then (yes, no, gently); hypotheses count only when their text is exactly a phrase
  (`vocabulary.intent_for`), and an utterance's partials and final count once
  (`commands_from`). A clip is right when the intents heard are exactly {expected}.
- false_accept_rate: the share of non-command clips (up/down/left/right/on/off/
  _unknown_/go, and yes/no unless they are phrases) and of noise clips (_silence_) that
  trigger any command, listening for a running massage's commands (where the user
  spends the session, and talks).
- false_activations_per_hour: commands heard in one long stream of ordinary speech
  (LibriVox read speech, then the routines' instructions, cues and pressure lines read
  by an espeak-ng voice that is not the assistant's; ~8 minutes, quick: 30 s), fed as
  two halves in parallel, listening as for false accepts. The routines' lines contain
  command words ("stop right away", "less pressure"): a sentence is not a command, so
  those count too.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.listening.recognize_file import commands_from, read_wav
from assistant.ports import Heard, Recognizer
from assistant.session.vocabulary import Vocabulary, load_vocabulary, normalize
from assistant.settings import ListenSettings
from bench.metric import Metric
from tests.harness import speech_samples as ss
from tests.harness.speech_samples import RATE as SR

Samples = npt.NDArray[np.int16]


PAD_S = 0.5
"""Quiet (or noise) before and after each clip: the endpointer needs to see it end."""
FLOOR_STD = 4.0
"""Quiet padding is a faint dither (about -78 dBFS), not digital zero: a mic never is."""
BACKGROUND_VOICE = ("en-gb-x-rp+m1", 165)
"""A reader for the ordinary-speech stream: not the assistant's voice, not the user's."""
SYNTH_VOICES = ("en-us", "en+f3", "en+m3", "en-gb+m7", "en-us+f4")
SYNTH_RATES = (130, 160, 190)
PIPER_SCALES = (0.85, 1.0, 1.15)
"""Piper length scales (> 1 is slower) for the synthesized accuracy clips."""
FAMILIES = ("espeak", "piper")
CONDITIONS: tuple[tuple[str, float | None], ...] = (
    ("clean", None), ("snr20", 20.0), ("snr10", 10.0), ("snr5", 5.0),
)
DISTRACTOR_FOLDERS = ("up", "down", "left", "right", "on", "off", "_unknown_", "yes", "no", "go")
SYNTH_DISTRACTORS = (
    "up", "down", "left", "right", "on", "off", "yes", "no", "go", "okay", "hello",
    "thank you", "that's nice", "top", "shop", "pass", "lighter fluid", "next door",
)
"""Fallback non-commands when ../shared is absent (synthesized, so a weaker check)."""


# ----- clips -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One offline stream to recognize: where its speech comes from and what to add."""

    kind: str
    """'synth' (text spoken by `speaker`), 'file' (a WAV file) or 'noise' (pink only)."""
    source: str
    expected: str | None
    """The intent it should be heard as; None for non-commands and noise."""
    group: str
    """Where it is counted: 'synth', 'real', 'distractor', 'noise'."""
    label: str
    speaker: ss.Speaker | None = None
    condition: str = "clean"
    snr_db: float | None = None
    seed: int = 0


def clip_audio(clip: Clip) -> Samples:
    """The clip with PAD_S of quiet or noise each side; noise at `snr_db` covers it all."""
    if clip.kind == "noise":
        return ss.pink_noise(int((1.0 + 2 * PAD_S) * SR), clip.seed) // 3  # about -30 dBFS
    if clip.kind == "synth":
        assert clip.speaker is not None
        speech = ss.speak(clip.source, clip.speaker)
    else:
        speech = read_wav(Path(clip.source), SR)
    pad = np.zeros(int(PAD_S * SR), dtype=np.float64)
    x = np.concatenate([pad, speech.astype(np.float64), pad])
    rng = np.random.default_rng(clip.seed)
    if clip.snr_db is None:
        x += rng.normal(0.0, FLOOR_STD, x.size)
    else:
        noise_fn = ss.room_noise if clip.seed % 2 == 0 else ss.pink_noise
        noise = noise_fn(x.size, clip.seed).astype(np.float64)
        noise_power = float((noise**2).mean()) or 1.0
        gain = math.sqrt(ss.speech_power(speech) / (noise_power * 10 ** (clip.snr_db / 10)))
        x += gain * noise
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def hear(
    recognizer: Recognizer, vocabulary: Vocabulary, x: Samples, chunk_s: float = 0.1
) -> list[dict[str, object]]:
    """Commands in one stream, as a session's microphone path delivers it: through the
    echo canceller, which with nothing playing passes the sound on with its comfort noise
    floor added; a hypothesis counts only when its whole text is a phrase (like the live
    spotter)."""
    rate = recognizer.sample_rate
    step = int(chunk_s * rate)
    canceller = EchoCanceller(EchoReference(rate))
    heard: list[Heard] = []
    for i in range(0, x.size, step):
        heard.extend(recognizer.accept(canceller.process(x[i : i + step].tobytes(), i / rate)))
    heard.extend(recognizer.flush())
    exact = [h if _exact(vocabulary, h.text) else Heard("", h.final, h.start_s, h.end_s)
             for h in heard]
    return commands_from(exact, vocabulary)


def _exact(vocabulary: Vocabulary, text: str) -> bool:
    match = vocabulary.intent_for(text)
    return match is not None and normalize(text) == match[1]


def open_engine(engine: str, model: Path | None) -> Recognizer:
    """The recognizer the program itself would open with these flags."""
    from assistant.cli import MODEL_ENV
    from assistant.commands.common import PROJECT_MODELS
    from assistant.listening.engines import open_recognizer

    settings = ListenSettings(
        engine=engine,  # type: ignore[arg-type]
        model_path=model,
        search_dirs=(PROJECT_MODELS,),
    )
    env_model = os.environ.get(MODEL_ENV)
    recognizer = open_recognizer(settings, Path(env_model) if env_model else None)
    recognizer.set_phrases(load_vocabulary().all_phrases())
    return recognizer


# Worker processes: each opens one recognizer and reuses it (flush() ends a stream).
_WORKER: tuple[Recognizer, Vocabulary] | None = None
_ENGINE: tuple[str, Path | None] = ("auto", None)


def _worker_init(engine: str, model: Path | None) -> None:
    global _WORKER, _ENGINE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    _ENGINE = (engine, model)
    _WORKER = (open_engine(engine, model), load_vocabulary())


def _worker_hear(x: Samples) -> tuple[list[dict[str, object]], str | None]:
    """Commands in `x`; a recognizer that raises is reported (not hidden) and replaced,
    so one bad stream cannot take the whole benchmark down."""
    global _WORKER
    assert _WORKER is not None
    recognizer, vocabulary = _WORKER
    try:
        return hear(recognizer, vocabulary, x), None
    except Exception as exc:
        _WORKER = (open_engine(*_ENGINE), vocabulary)
        return [], f"{type(exc).__name__}: {exc}"


def listening_for(vocabulary: Vocabulary, expected: str | None) -> list[str]:
    """The phrases a session listens for where `expected` is valid: a running massage's,
    else a paused one's (resume), else a safety question's (the answers and choices);
    None: a running massage's."""
    from assistant.session.states import TRANSITIONS, State

    def valid_in(state: State) -> frozenset[str]:
        sources = [t["source"] if isinstance(t["source"], list) else [t["source"]]
                   for t in TRANSITIONS]
        return frozenset(t["trigger"] for t, src in zip(TRANSITIONS, sources, strict=True)
                         if state in src)

    for state in (State.RUNNING, State.PAUSED, State.SCREENING):
        intents = valid_in(state)
        if expected is None or expected in intents:
            break
    return vocabulary.phrases_for(intents)


def _worker_clip(clip: Clip) -> tuple[list[str], str | None]:
    assert _WORKER is not None
    recognizer, vocabulary = _WORKER
    recognizer.set_phrases(listening_for(vocabulary, clip.expected))
    found, error = _worker_hear(clip_audio(clip))
    return [str(c["intent"]) for c in found], error


def _worker_stream(x: Samples) -> tuple[list[dict[str, object]], str | None]:
    """A long stream on a fresh recognizer, so its times start at 0 (a reused one's
    clock runs on across streams)."""
    global _WORKER
    assert _WORKER is not None
    vocabulary = _WORKER[1]
    _WORKER = (open_engine(*_ENGINE), vocabulary)
    _WORKER[0].set_phrases(listening_for(vocabulary, None))
    return _worker_hear(x)


# ----- offline metrics ---------------------------------------------------------------


MAIN_PHRASES = 2
"""Phrases per intent in the full run: the first ones, which help lists and users say."""
FOLDER_LIMITS = {"stop": None, "_unknown_": 75, "_silence_": 40}
"""Real clips per folder in the full run (others: DEFAULT_FOLDER_LIMIT): every 'stop',
evenly spaced subsets of the rest. Pocketsphinx decodes at about 0.35 x real time per
core here, so ~700 clips take 4 minutes on two cores."""
DEFAULT_FOLDER_LIMIT = 25


def synth_clips(vocabulary: Vocabulary, quick: bool, piper: bool = True) -> list[Clip]:
    """Each intent's main phrases x every espeak voice, in one of the four noise
    conditions and one of the rates, both rotating, so every intent is heard in every
    voice and condition; then the same x every Piper length scale (unless `piper` is
    False). (The full factorial would take an hour of recognition.)"""
    out: list[Clip] = []
    if quick:  # the first phrase once: clean or at 10 dB SNR, in turn, in two voices
        for i, intent in enumerate(vocabulary.intents):
            condition, snr = CONDITIONS[2 * (i % 2)]
            out.append(Clip("synth", intent.phrases[0], intent.name, "synth", intent.phrases[0],
                            ss.Speaker.espeak(SYNTH_VOICES[i % 2], 160), condition, snr, i + 1))
        if piper:  # and once more in Piper, at the length scales in turn
            for i, intent in enumerate(vocabulary.intents):
                condition, snr = CONDITIONS[2 * ((i + 1) % 2)]
                speaker = ss.Speaker.piper(PIPER_SCALES[i % len(PIPER_SCALES)])
                out.append(Clip("synth", intent.phrases[0], intent.name, "synth",
                                intent.phrases[0], speaker, condition, snr, len(out) + 1))
        return out
    for i, intent in enumerate(vocabulary.intents):
        for p, phrase in enumerate(intent.phrases[:MAIN_PHRASES]):
            for v, voice in enumerate(SYNTH_VOICES):
                condition, snr = CONDITIONS[(i + p * len(SYNTH_VOICES) + v) % len(CONDITIONS)]
                rate = SYNTH_RATES[(i + p + v) % len(SYNTH_RATES)]
                out.append(Clip("synth", phrase, intent.name, "synth", phrase,
                                ss.Speaker.espeak(voice, rate), condition, snr, len(out) + 1))
    for i, intent in enumerate(vocabulary.intents if piper else ()):
        for p, phrase in enumerate(intent.phrases[:MAIN_PHRASES]):
            for k, scale in enumerate(PIPER_SCALES):
                condition, snr = CONDITIONS[(i + p * len(PIPER_SCALES) + k) % len(CONDITIONS)]
                out.append(Clip("synth", phrase, intent.name, "synth", phrase,
                                ss.Speaker.piper(scale), condition, snr, len(out) + 1))
    return out


def voice_label(speaker: ss.Speaker | None) -> str:
    """An espeak voice by its name (rates rotate within it), a Piper one by its spec."""
    if speaker is None:
        return ""
    return speaker.voice if speaker.engine == "espeak" else speaker.spec


def real_clips(vocabulary: Vocabulary, quick: bool) -> tuple[list[Clip], list[str]]:
    """Real commands, real non-commands and real noise from ../shared (or notes why not)."""
    if not ss.SPEECH_COMMANDS.is_dir():
        return [], [f"{ss.SPEECH_COMMANDS} not found: real-clip accuracy skipped, false "
                    "accepts measured on synthesized non-commands and pink noise instead"]
    out: list[Clip] = []
    folders = sorted(p.name for p in ss.SPEECH_COMMANDS.iterdir() if p.is_dir())
    for folder in folders:
        if quick:
            limit: int | None = 6 if folder == "stop" else 3
        else:
            limit = FOLDER_LIMITS.get(folder, DEFAULT_FOLDER_LIMIT)
        for path in ss.clips(folder, limit):
            word = path.name.split("_")[0] if folder == "_unknown_" else folder
            if folder == "_silence_":
                out.append(Clip("file", str(path), None, "noise", "_silence_"))
            elif _exact(vocabulary, word):
                intent = vocabulary.intent_for(word)
                assert intent is not None
                out.append(Clip("file", str(path), intent[0], "real", folder))
            elif folder in DISTRACTOR_FOLDERS:
                out.append(Clip("file", str(path), None, "distractor", folder))
    return out, []


def fallback_distractors(quick: bool) -> list[Clip]:
    """Synthesized non-commands and pink-noise-only clips, when there is no real audio."""
    vocabulary = load_vocabulary()
    words = [w for w in SYNTH_DISTRACTORS if not _exact(vocabulary, w)][: 6 if quick else None]
    voices = SYNTH_VOICES[:2] if quick else SYNTH_VOICES
    out = [Clip("synth", w, None, "distractor", w, ss.Speaker.espeak(v, 160), seed=i)
           for i, (w, v) in enumerate((w, v) for w in words for v in voices)]
    out += [Clip("noise", "", None, "noise", "pink", seed=i) for i in range(5 if quick else 50)]
    return out


def run_clips(pool: ProcessPoolExecutor, clips: list[Clip],
              errors: list[str]) -> list[list[str]]:
    """Intents heard per clip; a clip the recognizer failed on counts as heard nothing,
    and its error goes to `errors`."""
    results: list[list[str]] = []
    for clip, (found, error) in zip(clips, pool.map(_worker_clip, clips, chunksize=8),
                                    strict=True):
        results.append(found)
        if error is not None:
            errors.append(f"{clip.label} ({clip.source[-40:]}, {clip.condition}): {error}")
    return results


def accuracy_metrics(clips: list[Clip], results: list[list[str]]) -> list[Metric]:
    """Per-intent accuracy tables, the synthesized mean (all voices, and per voice
    family: espeak, piper), and real 'stop' accuracy."""
    per: dict[str, dict[str, list[int]]] = {}
    confusions: dict[str, dict[str, int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is None:
            continue
        hit = int(set(found) == {clip.expected})
        key = "real" if clip.group == "real" else clip.condition
        per.setdefault(clip.expected, {}).setdefault(key, []).append(hit)
        per[clip.expected].setdefault("all_synth" if clip.group == "synth" else "all_real",
                                      []).append(hit)
        if clip.group == "synth" and clip.speaker is not None:
            per[clip.expected].setdefault(clip.speaker.engine, []).append(hit)
        if not hit:
            what = ",".join(found) or "(nothing)"
            confusions.setdefault(clip.expected, {}).setdefault(what, 0)
            confusions[clip.expected][what] += 1
    table = {intent: {k: {"share": sum(v) / len(v), "n": len(v)} for k, v in row.items()}
             for intent, row in per.items()}
    synth_shares = [row["all_synth"]["share"] for row in table.values() if "all_synth" in row]
    by_voice: dict[str, list[int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.group == "synth" and clip.expected is not None:
            by_voice.setdefault(voice_label(clip.speaker), []).append(
                int(set(found) == {clip.expected}))
    by_condition: dict[str, list[int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is not None:
            key = "real" if clip.group == "real" else clip.condition
            by_condition.setdefault(key, []).append(int(set(found) == {clip.expected}))
    synth_n = sum(1 for c in clips if c.group == "synth" and c.expected is not None)
    families = family_metrics(table, clips)
    mean = Metric(
        "accuracy", float(np.mean(synth_shares)) if synth_shares else None, "share", None,
        synth_n, "mean over intents of synthesized clips (all voices, rates, SNRs)",
        {"per_intent": table, "confusions": confusions,
         "per_condition": {k: {"share": sum(h) / len(h), "n": len(h)}
                           for k, h in by_condition.items()},
         "per_voice": {v: sum(h) / len(h) for v, h in by_voice.items()},
         "per_family": {m.name.removeprefix("accuracy_"): m.value for m in families}},
    )
    stop_real = table.get("stop", {}).get("real")
    real = Metric(
        "accuracy_stop_real", stop_real["share"] if stop_real else None, "share",
        (">=", 0.97), int(stop_real["n"]) if stop_real else 0,
        "" if stop_real else "skipped: no real 'stop' clips (../shared absent)",
        {"confusions": confusions.get("stop", {})},
    )
    return [real, mean, *families]


def family_metrics(table: dict[str, dict[str, dict[str, float]]],
                   clips: list[Clip]) -> list[Metric]:
    """`accuracy` per voice family: the mean over intents of each family's share."""
    out: list[Metric] = []
    for family in FAMILIES:
        shares = [row[family]["share"] for row in table.values() if family in row]
        n = sum(1 for c in clips if c.group == "synth" and c.expected is not None
                and c.speaker is not None and c.speaker.engine == family)
        voices = sorted({voice_label(c.speaker) for c in clips
                         if c.group == "synth" and c.speaker is not None
                         and c.speaker.engine == family})
        out.append(Metric(
            f"accuracy_{family}", float(np.mean(shares)) if shares else None, "share", None, n,
            f"as accuracy, {family} voices only: {', '.join(voices)}" if shares
            else f"not measured: no {family} clips (see the notes)",
            {"per_intent": {i: row[family]["share"] for i, row in table.items()
                            if family in row}},
        ))
    return out


def false_accept_metric(clips: list[Clip], results: list[list[str]], synthetic: bool) -> Metric:
    by_folder: dict[str, list[int]] = {}
    triggered: dict[str, int] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is not None:
            continue
        by_folder.setdefault(clip.label if clip.group == "distractor" else "noise",
                             []).append(int(bool(found)))
        for intent in found:
            triggered[intent] = triggered.get(intent, 0) + 1
    flat = [x for v in by_folder.values() for x in v]
    note = "synthesized non-commands + pink noise (no real clips)" if synthetic else (
        "real non-command words + _silence_ noise clips")
    return Metric(
        "false_accept_rate", sum(flat) / len(flat) if flat else None, "share", ("<=", 0.03),
        len(flat), note,
        {"per_folder": {k: {"share": sum(v) / len(v), "n": len(v)} for k, v in by_folder.items()},
         "triggered_intents": triggered},
    )


def ordinary_speech(quick: bool) -> tuple[list[tuple[str, Samples]], list[str]]:
    """LibriVox read speech, then routine lines read by BACKGROUND_VOICE, up to the length."""
    from assistant.session.routines import builtin_names, load_routine

    budget_s = 30.0 if quick else 600.0
    pieces: list[tuple[str, Samples]] = []
    notes: list[str] = []
    files = sorted(ss.LIBRIVOX.glob("*.wav"))
    if not files:
        notes.append(f"no LibriVox read speech at {ss.LIBRIVOX}: routine lines only")
    for path in files:
        pieces.append((f"librivox:{path.name}", read_wav(path, SR)))
    lines: dict[str, None] = {}
    for name in builtin_names():
        routine = load_routine(name)
        for step in (*routine.steps, routine.switch, routine.finish):
            for mode in ("self", "partner"):
                lines[step.instruction.for_mode(mode)] = None
                for cue in step.cues:
                    lines[cue.text.for_mode(mode)] = None
                for guidance in step.pressure.values():
                    lines[guidance.for_mode(mode)] = None
    voice, rate = BACKGROUND_VOICE
    total = sum(x.size for _, x in pieces) / SR
    for text in lines:
        if total >= budget_s:
            break
        x = ss.synthesize(text, voice=voice, rate=rate)
        pieces.append((text, x))
        total += x.size / SR + 0.4
    return pieces, notes


def false_activation_metric(pool: ProcessPoolExecutor, quick: bool) -> Metric:
    """Commands per hour in continuous ordinary speech, fed as two parallel streams."""
    pieces, notes = ordinary_speech(quick)
    halves = [pieces[: len(pieces) // 2], pieces[len(pieces) // 2 :]]
    streams = [ss.concatenate(h, gap_s=0.4, lead_s=0.5) for h in halves if h]
    with_floor = []
    for x, _ in streams:
        noisy = x.astype(np.float64) + np.random.default_rng(7).normal(0, FLOOR_STD, x.size)
        with_floor.append(np.clip(np.round(noisy), -32768, 32767).astype(np.int16))
    results = []
    for heard, error in pool.map(_worker_stream, with_floor):
        results.append(heard)
        if error is not None:
            notes.append(f"the recognizer failed on the ordinary-speech stream: {error}")
    hours = sum(x.size for x in with_floor) / SR / 3600
    found: list[dict[str, object]] = []
    for (_, placed), commands in zip(streams, results, strict=True):
        for c in commands:
            start = float(str(c["start"]))
            nearest = min(placed, key=lambda p: max(p.start_s - start, start - p.end_s, 0.0))
            found.append({**c, "in": nearest.label[:90]})
    return Metric(
        "false_activations_per_hour", len(found) / hours if hours else None, "per hour", None,
        len(pieces),
        "; ".join([f"{len(found)} in {hours * 60:.1f} min of ordinary speech", *notes]),
        {"minutes": hours * 60, "commands": found},
    )


def offline_metrics(engine: str, model: Path | None, quick: bool, notes: list[str]) -> list[Metric]:
    """Everything that needs only the recognizer, in two worker processes."""
    vocabulary = load_vocabulary()
    piper_missing = ss.piper_missing()
    if piper_missing is not None:
        notes.append(f"no Piper clips: {piper_missing}")
    synth = synth_clips(vocabulary, quick, piper=piper_missing is None)
    real, real_notes = real_clips(vocabulary, quick)
    notes.extend(real_notes)
    synthetic_fa = not real
    if synthetic_fa:
        real = fallback_distractors(quick)
    clips = synth + real
    workers = max(1, min(2, os.cpu_count() or 1))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, _worker_init, (engine, model)) as pool:
        try:
            t0 = time.monotonic()
            errors: list[str] = []
            results = run_clips(pool, clips, errors)
            print(f"  {len(clips)} clips recognized in {time.monotonic() - t0:.0f} s", flush=True)
            if errors:
                notes.append(f"the recognizer raised on {len(errors)} of {len(clips)} clips "
                             f"(counted as heard nothing), e.g. {errors[0]}")
            t0 = time.monotonic()
            activations = false_activation_metric(pool, quick)
            print(f"  ordinary speech stream in {time.monotonic() - t0:.0f} s", flush=True)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [
        *accuracy_metrics(clips, results),
        false_accept_metric(clips, results, synthetic_fa),
        activations,
    ]
