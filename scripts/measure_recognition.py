"""Measure command recognition: real clips, synthesized commands, ordinary speech.

Prints one table: recall of "stop" (and any other folder word that is a command)
on real recordings, false accepts per non-command folder, false activations in
read speech, recall per synthesized phrase (espeak-ng voices and a Piper neural
voice at several length scales, with recall per voice and per family), set_phrases
time and CPU cost.
Everything is fed as a continuous stream, the way the microphone feeds it.

    .venv/bin/python scripts/measure_recognition.py                 # full sets
    .venv/bin/python scripts/measure_recognition.py --quick         # a subsample
    .venv/bin/python scripts/measure_recognition.py --prior 5000 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.listening.recognize_file import read_wav  # noqa: E402
from assistant.ports import Heard, Recognizer  # noqa: E402
from assistant.session.vocabulary import Vocabulary, load_vocabulary  # noqa: E402
from tests.harness import speech_samples as ss  # noqa: E402

FOLDERS = ("stop", "go", "yes", "no", "up", "down", "left", "right", "on", "off",
           "_unknown_", "_silence_")
READ_VOICES = ss.VOICES[:3]
SNR_DB = 15.0
PIPER_SPEAKERS = tuple(ss.Speaker.piper(scale) for scale in (0.85, 1.0, 1.15))
"""The Piper voice in the synthesized set, slower and faster (quick: the middle one)."""


def synth_speaker(arg: str) -> ss.Speaker:
    """A synth job's voice: an espeak-ng name from ss.VOICES, or a speaker spec."""
    for voice, rate, pitch in ss.VOICES:
        if voice == arg:
            return ss.Speaker.espeak(voice, rate, pitch)
    return ss.Speaker.parse(arg)


@dataclasses.dataclass
class Options:
    engine: str
    model: str | None
    prior: float | None
    priors: dict[str, float]
    quick: bool
    tune: dict[str, str] = dataclasses.field(default_factory=dict)


def make_recognizer(opts: Options) -> Recognizer:
    """The engine under test, with tuning overrides from the command line."""
    if opts.engine == "vosk":
        from assistant.adapters.vosk_asr import VoskRecognizer

        if opts.model is None:
            raise SystemExit("--model is needed for vosk")
        return VoskRecognizer(Path(opts.model))
    from assistant.adapters.pocketsphinx_asr import PocketsphinxRecognizer, load_tuning

    tuning = load_tuning()
    if opts.prior is not None:
        tuning = dataclasses.replace(tuning, default_prior=opts.prior)
    if opts.priors:
        tuning = dataclasses.replace(tuning, priors={**tuning.priors, **opts.priors})
    for key, value in opts.tune.items():
        current = getattr(tuning, key)
        tuning = dataclasses.replace(tuning, **{key: type(current)(value)})
    return PocketsphinxRecognizer(tuning)


def run_stream(
    recognizer: Recognizer, pieces: Sequence[tuple[str, ss.Samples]], gap_s: float
) -> tuple[list[ss.Placed], list[Heard], float, float]:
    """Feed pieces as one stream; detections, CPU seconds and audio seconds."""
    stream, placed = ss.concatenate(pieces, gap_s=gap_s)
    cpu = time.process_time()
    heard: list[Heard] = []
    for block in ss.chunks(stream, 0.1):
        heard.extend(recognizer.accept(block))
    heard.extend(recognizer.flush())
    return placed, heard, time.process_time() - cpu, stream.size / ss.RATE


def attribute(placed: list[ss.Placed], heard: list[Heard], slack_s: float) -> list[list[Heard]]:
    """Each detection goes to the piece whose span (plus slack) holds its midpoint."""
    out: list[list[Heard]] = [[] for _ in placed]
    for h in heard:
        mid = (h.start_s + h.end_s) / 2
        for i, p in enumerate(placed):
            if p.start_s - slack_s <= mid <= p.end_s + slack_s:
                out[i].append(h)
                break
    return out


def task(kind: str, arg: str, opts: Options) -> dict[str, Any]:
    """One worker's job: a folder of real clips, a synthetic voice, or read speech."""
    vocab = load_vocabulary()
    rec = make_recognizer(opts)
    rec.set_phrases(vocab.all_phrases())
    pieces: list[tuple[str, ss.Samples]] = []
    gap = 0.0
    if kind == "real":
        files = ss.clips(arg, 25 if opts.quick else None)
        pieces = [(f.name, ss.padded(read_wav(f), 1.0, 1.0, seed=i)) for i, f in enumerate(files)]
    elif kind == "synth":
        speaker = synth_speaker(arg)
        noise = ss.room_noise(ss.RATE * 4, seed=1)
        for phrase in vocab.all_phrases():
            x = ss.speak(phrase, speaker)
            pieces.append((phrase, x))
            pieces.append((phrase + "|noisy", ss.mix(x, noise, SNR_DB)))
        gap = 1.0
    elif kind == "read":
        if arg == "librivox":
            pieces = [(f.name, read_wav(f)) for f in sorted(ss.LIBRIVOX.glob("*.wav"))]
        else:
            voice, rate, pitch = next(v for v in ss.VOICES if v[0] == arg)
            sentences = ss.SENTENCES[:10] if opts.quick else ss.SENTENCES
            pieces = [(s, ss.synthesize(s, voice, rate, pitch)) for s in sentences]
        gap = 1.0
    placed, heard, cpu, audio = run_stream(rec, pieces, gap)
    per = attribute(placed, heard, slack_s=0.5)
    return {
        "kind": kind,
        "arg": arg,
        "cpu": cpu,
        "audio": audio,
        "items": [
            {"label": p.label, "heard": [[h.text, h.final] for h in hs]}
            for p, hs in zip(placed, per, strict=True)
        ],
        "unplaced": len(heard) - sum(len(hs) for hs in per),
    }


def set_phrases_ms(opts: Options, vocab: Vocabulary) -> float:
    rec = make_recognizer(opts)
    names = [i.name for i in vocab.intents]
    subsets = [vocab.phrases_for(set(names[: k + 1])) for k in range(len(names))]
    start = time.perf_counter()
    for phrases in subsets:
        rec.set_phrases(phrases)
    return 1000 * (time.perf_counter() - start) / len(subsets)


def intent(vocab: Vocabulary, text: str) -> str | None:
    found = vocab.intent_for(text)
    return found[0] if found else None


def report(results: list[dict[str, Any]], vocab: Vocabulary, set_ms: float) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    print("\n== real clips (speech-commands-dev), whole vocabulary active")
    print(f"{'folder':<11} {'clips':>5}  {'expected':<10} {'recall':>7} {'early':>7} "
          f"{'false acc.':>10} {'incl. partial':>13}  top false")
    for r in (r for r in results if r["kind"] == "real"):
        folder, items = r["arg"], r["items"]
        found = vocab.intent_for(folder)
        expected = found[0] if found and found[1] == folder else None
        n = len(items)
        finals = [[t for t, f in it["heard"] if f] for it in items]
        partials = [[t for t, f in it["heard"] if not f] for it in items]
        wrong = Counter(t for hs in finals for t in hs if intent(vocab, t) != expected)
        fa_final = sum(any(intent(vocab, t) != expected for t in hs) for hs in finals) / n
        fa_all = sum(
            any(intent(vocab, t) != expected for t in a + b)
            for a, b in zip(finals, partials, strict=True)
        ) / n
        row: dict[str, Any] = {"clips": n, "false_accept": fa_final, "false_incl_partial": fa_all}
        recall = early = ""
        if expected:
            row["recall"] = sum(any(intent(vocab, t) == expected for t in hs) for hs in finals) / n
            row["early"] = sum(
                any(intent(vocab, t) == expected for t in hs) for hs in partials) / n
            recall, early = f"{row['recall']:.3f}", f"{row['early']:.3f}"
        summary[f"real/{folder}"] = row
        top = ", ".join(f"{t} x{c}" for t, c in wrong.most_common(3))
        print(f"{folder:<11} {n:>5}  {expected or '-':<10} {recall:>7} {early:>7} "
              f"{fa_final:>10.3f} {fa_all:>13.3f}  {top}")
    negs = [summary[k] for k in summary if k.startswith("real/") and "recall" not in summary[k]]
    total = sum(s["clips"] for s in negs)
    if total:
        fa = sum(s["false_accept"] * s["clips"] for s in negs) / total
        fap = sum(s["false_incl_partial"] * s["clips"] for s in negs) / total
        summary["real/non_commands"] = {"clips": total, "false_accept": fa,
                                        "false_incl_partial": fap}
        print(f"{'all non-cmd':<11} {total:>5}  {'-':<10} {'':>7} {'':>7} {fa:>10.3f} {fap:>13.3f}")

    print("\n== ordinary speech (must trigger nothing)")
    for r in (r for r in results if r["kind"] == "read"):
        dets = [t for it in r["items"] for t, f in it["heard"] if f]
        partials = [t for it in r["items"] for t, f in it["heard"] if not f]
        summary[f"read/{r['arg']}"] = {"seconds": r["audio"], "final": len(dets),
                                       "partial": len(partials)}
        print(f"{r['arg']:<14} {r['audio']:7.1f} s  commands {len(dets):>3} (partials "
              f"{len(partials)}): {', '.join(dets[:6])}")

    print("\n== synthesized commands (espeak-ng and Piper voices; clean and room noise at "
          f"{SNR_DB:.0f} dB SNR)")
    hits: dict[str, list[bool]] = defaultdict(list)
    by_voice: dict[str, list[bool]] = defaultdict(list)
    by_family: dict[str, list[bool]] = defaultdict(list)
    early_hits: dict[str, list[bool]] = defaultdict(list)
    wrong_syn: Counter[str] = Counter()
    for r in (r for r in results if r["kind"] == "synth"):
        speaker = synth_speaker(r["arg"])
        for it in r["items"]:
            phrase = it["label"].split("|")[0]
            want = intent(vocab, phrase)
            got = [intent(vocab, t) for t, f in it["heard"] if f]
            hits[phrase].append(want in got)
            by_voice[speaker.spec].append(want in got)
            by_family[speaker.engine].append(want in got)
            early_hits[phrase].append(
                any(intent(vocab, t) == want for t, f in it["heard"] if not f))
            wrong_syn.update(g or "?" for g in got if g != want)
    for phrase, ok in hits.items():
        summary[f"synth/{phrase}"] = {"recall": float(np.mean(ok)), "n": len(ok),
                                      "early": float(np.mean(early_hits[phrase]))}
        print(f"  {phrase:<18} {np.mean(ok):.2f} (early {np.mean(early_hits[phrase]):.2f})")
    if hits:
        allok = [x for v in hits.values() for x in v]
        summary["synth/all"] = {"recall": float(np.mean(allok)), "n": len(allok),
                                "wrong_intent": sum(wrong_syn.values())}
        print(f"  {'all':<18} {np.mean(allok):.3f} over {len(allok)}; wrong intents "
              f"{sum(wrong_syn.values())}: {wrong_syn.most_common(5)}")
        for name, groups in (("voice", by_voice), ("family", by_family)):
            for key, ok in groups.items():
                summary[f"synth/{name}/{key}"] = {"recall": float(np.mean(ok)), "n": len(ok)}
                print(f"  {name} {key:<25} {np.mean(ok):.3f} over {len(ok)}")

    cpu = sum(r["cpu"] for r in results)
    audio = sum(r["audio"] for r in results)
    summary["cpu_per_audio_second"] = cpu / audio
    summary["set_phrases_ms"] = set_ms
    print(f"\nCPU {cpu:.1f} s for {audio:.0f} s of audio: {cpu / audio:.3f} s per second "
          f"(speech-heavy test streams; silence costs far less)")
    print(f"set_phrases: {set_ms:.2f} ms per call")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["pocketsphinx", "vosk"], default="pocketsphinx")
    ap.add_argument("--model", help="vosk model folder")
    ap.add_argument("--prior", type=float, help="pocketsphinx default prior override")
    ap.add_argument("--phrase-prior", action="append", default=[], metavar="PHRASE=WEIGHT")
    ap.add_argument("--tune", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a pocketsphinx tuning field, e.g. max_other_words=2")
    ap.add_argument("--quick", action="store_true", help="subsample for a fast look")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=["real", "synth", "read"], action="append")
    ap.add_argument("--json", type=Path, help="write raw detections and the summary here")
    args = ap.parse_args(argv)
    priors = {k: float(v) for k, v in (p.split("=", 1) for p in args.phrase_prior)}
    tune = dict(t.split("=", 1) for t in args.tune)
    opts = Options(args.engine, args.model, args.prior, priors, args.quick, tune)
    vocab = load_vocabulary()
    jobs: list[tuple[str, str]] = []
    kinds = args.only or ["real", "synth", "read"]
    if "real" in kinds:
        if ss.SPEECH_COMMANDS.is_dir():
            jobs += [("real", f) for f in FOLDERS]
        else:
            print(f"no shared clips at {ss.SPEECH_COMMANDS}: skipping real clips")
    if "synth" in kinds:
        voices = ss.VOICES[:2] if args.quick else ss.VOICES
        jobs += [("synth", v[0]) for v in voices]
        missing = ss.piper_missing()
        if missing is None:
            piper = PIPER_SPEAKERS[1:2] if args.quick else PIPER_SPEAKERS
            jobs += [("synth", s.spec) for s in piper]
        else:
            print(f"no Piper voice: {missing}")
    if "read" in kinds:
        jobs += [("read", "librivox")] + [("read", v[0]) for v in READ_VOICES]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(task, k, a, opts) for k, a in jobs]
        results = [f.result() for f in futures]
    summary = report(results, vocab, set_phrases_ms(opts, vocab))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
