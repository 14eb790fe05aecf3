"""The echo canceller on synthetic rooms: the assistant's real pyttsx3 voice as reference,
a "microphone" made of its delayed, attenuated, reverberated echo, a different voice saying
"stop" over it, and a little noise. Measured: echo return loss enhancement (ERLE), how much
of the user's word survives, and what the real pocketsphinx recognizer hears."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.listening.barge_in import BargeInSettings
from assistant.listening.echo_canceller import (
    EchoCanceller,
    EchoReference,
    EchoStats,
    StreamResampler,
    reduction_db,
)
from assistant.listening.echo_capture import EchoCaptureWriter
from assistant.listening.recognize_file import commands_from
from assistant.listening.recognize_file import resample as fft_resample
from assistant.speech.audio_out import resample
from tests.harness.speech_samples import require_espeak, synthesize

Floats = npt.NDArray[np.float64]
RATE = 16000
OUT_RATE = 44100
OUT_BLOCK = 256
MIC_BLOCK = 800
DELAY_S = 0.037
ECHO_GAIN = 0.5
LINE = (
    "Now slide both thumbs slowly along the arch of the foot, from the heel toward the toes, "
    "pressing gently and breathing out as you go. If it hurts, use less pressure, and say stop "
    "whenever you want to stop. Then rest your hands for a moment."
)
CONVERGED_S = 5.0
MIN_ERLE_DB = 20.0


@dataclass(frozen=True)
class Scene:
    played: npt.NDArray[np.float32]
    """What the player sends out, at OUT_RATE."""
    echo: Floats
    user: Floats
    noise: Floats
    user_span: tuple[int, int]


def db(x: Floats) -> float:
    return float(10 * np.log10(np.mean(x**2) + 1e-20))


@pytest.fixture(scope="module")
def scene() -> Scene:
    return make_scene()


def make_scene() -> Scene:
    require_espeak()
    from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

    renderer = Pyttsx3Renderer()
    try:
        rendered = renderer.render(LINE, 150, None)
    finally:
        renderer.close()
    speech = resample(rendered.audio, rendered.sample_rate, OUT_RATE) * 0.8
    played = np.concatenate(
        [np.zeros(OUT_RATE // 2), speech, np.zeros(OUT_RATE)]
    ).astype(np.float32)
    # The room: another resampler than the canceller's, 150 ms of decaying reverb,
    # attenuation and delay.
    heard = fft_resample(played.astype(np.float64), OUT_RATE, RATE)
    rng = np.random.default_rng(7)
    t = np.arange(int(0.15 * RATE))
    reverb = rng.normal(0, 1, len(t)) * np.exp(-t / (0.03 * RATE)) * 0.15
    reverb[0] = 1.0
    echo = np.convolve(heard, reverb)[: len(heard)] * ECHO_GAIN
    echo = np.concatenate([np.zeros(round(DELAY_S * RATE)), echo])[: len(heard)]
    echo = echo[: len(echo) // MIC_BLOCK * MIC_BLOCK]
    stop = synthesize("stop", "en-us+m3", 150).astype(np.float64) / 32768 * 0.5
    start = int(0.62 * len(echo))
    user = np.zeros_like(echo)
    user[start : start + len(stop)] = stop
    noise = rng.normal(0, 10 ** (-60 / 20), len(echo))
    return Scene(played, echo, user, noise, (start, start + len(stop)))


def cancel(
    played: npt.NDArray[np.float32], mic: Floats, suppress: bool = True,
    speaking: list[bool] | None = None, comfort: tuple[float | None, float | None] = (None, None),
    relearn_at: tuple[float, ...] = (), capture: Path | None = None,
    underflow_at: float | None = None,
) -> tuple[Floats, EchoCanceller, float]:
    """Feeds the player's blocks (a little ahead, as a sound card pulls them) and the mic's
    blocks, stamped on one clock; returns the output and the CPU seconds it took.
    `comfort`: the comfort noise while the echo may sound and once it is gone (dBFS).
    `relearn_at`: seconds into the microphone at which the listener would call `relearn`
    (a barge-in that was nothing). `capture`: keep the canceller's inputs there.
    `underflow_at`: seconds into the microphone at which the player reports an underrun."""
    reference = EchoReference(RATE)
    canceller = EchoCanceller(reference, suppress_residual=suppress,
                              comfort_noise_dbfs=comfort[0], quiet_comfort_noise_dbfs=comfort[1])
    writer = EchoCaptureWriter(capture, canceller.capture_header()) if capture else None
    if writer is not None:
        canceller.record_to(writer)
    pcm = np.clip(np.round(mic * 32768), -32768, 32767).astype("<i2")
    t0, fed, out, cpu = 500.0, 0, [], 0.0
    for j in range(0, len(pcm), MIC_BLOCK):
        at = t0 + j / RATE
        while fed < len(played) and t0 + fed / OUT_RATE < at + MIC_BLOCK / RATE + 0.02:
            reference.write(played[fed : fed + OUT_BLOCK], t0 + fed / OUT_RATE, OUT_RATE)
            fed += OUT_BLOCK
        if any(j <= t * RATE < j + MIC_BLOCK for t in relearn_at):
            canceller.relearn()
        if underflow_at is not None and j <= underflow_at * RATE < j + MIC_BLOCK:
            reference.underflowed()
        started = time.process_time()
        out.append(canceller.process(pcm[j : j + MIC_BLOCK].tobytes(), at))
        cpu += time.process_time() - started
        if speaking is not None:
            speaking.append(canceller.user_speaking)
    if writer is not None:
        writer.close()
    cleaned = np.frombuffer(b"".join(out), dtype="<i2").astype(np.float64) / 32768
    return cleaned, canceller, cpu


def erle_after(mic: Floats, out: Floats, echo: Floats, user: Floats, from_s: float) -> float:
    """ERLE in dB where the echo sounds, from `from_s` on, away from the user's word."""
    keep = np.abs(echo) > 1e-3
    keep[: int(from_s * RATE)] = False
    talking = np.flatnonzero(user)
    keep[talking[0] - RATE // 10 : talking[-1] + RATE // 10] = False
    return db(mic[keep]) - db(out[keep])


def test_echo_alone_is_cancelled_by_20_db_after_it_converges(scene: Scene) -> None:
    mic = scene.echo + scene.noise
    linear, _, _ = cancel(scene.played, mic, suppress=False)
    out, canceller, cpu = cancel(scene.played, mic)
    erle = erle_after(mic, out, scene.echo, scene.user, CONVERGED_S)
    linear_erle = erle_after(mic, linear, scene.echo, scene.user, CONVERGED_S)
    seconds = len(mic) / RATE
    print(f"\nsynthetic ERLE after {CONVERGED_S:.0f} s: linear filter {linear_erle:.1f} dB, "
          f"with residual suppression {erle:.1f} dB; CPU "
          f"{1000 * cpu / seconds:.1f} ms per s of audio; lag found "
          f"{1000 * canceller.stats.lag_samples / RATE:.1f} ms (room {1000 * DELAY_S:.0f} ms)")
    assert linear_erle >= MIN_ERLE_DB
    assert erle >= linear_erle
    assert abs(canceller.stats.lag_samples - DELAY_S * RATE) <= 3
    # Its CPU cost is printed here and measured where speed belongs: the benchmark.


def test_the_reduction_it_counts_is_the_echo_it_took_out(scene: Scene) -> None:
    """The stats the session reports every minute (`echo_stats`): the echo's reduction
    between two snapshots, counted where the filter ran and the user was not heard."""
    mic = scene.echo + scene.user + scene.noise
    converged = int(CONVERGED_S * RATE) // MIC_BLOCK * MIC_BLOCK
    _, early, _ = cancel(scene.played, mic[:converged], suppress=False)
    out, canceller, _ = cancel(scene.played, mic, suppress=False)
    assert reduction_db(EchoStats(), EchoStats()) is None, "nothing played: no figure"
    late = reduction_db(early.stats, canceller.stats)  # the same run from CONVERGED_S on
    measured = erle_after(mic, out, scene.echo, scene.user, CONVERGED_S)
    print(f"\nreduction counted after {CONVERGED_S:.0f} s: {late:.1f} dB; measured on the "
          f"signals {measured:.1f} dB; over the whole line "
          f"{reduction_db(EchoStats(), canceller.stats):.1f} dB")
    assert late is not None and late >= MIN_ERLE_DB - 3.0
    assert abs(late - measured) <= 6.0, "it also counts the echo's quiet ends, near the floor"
    whole = reduction_db(EchoStats(), canceller.stats)
    assert whole is not None and 0.0 < whole < late, "it learnt from zero at the start"


def test_the_users_stop_over_the_assistant_keeps_its_energy(scene: Scene) -> None:
    mic = scene.echo + scene.user + scene.noise
    out, _, _ = cancel(scene.played, mic)
    lo, hi = scene.user_span
    user_db, out_db = db(scene.user[lo:hi]), db(out[lo:hi])
    residual_db = db(out[lo:hi] - scene.user[lo:hi])
    print(f"\nuser's 'stop' {user_db:.1f} dB, after cancelling {out_db:.1f} dB (residual "
          f"{residual_db:.1f} dB, echo there {db(scene.echo[lo:hi]):.1f} dB)")
    assert abs(out_db - user_db) <= 3.0
    assert residual_db < user_db - 6.0
    assert erle_after(mic, out, scene.echo, scene.user, CONVERGED_S) >= MIN_ERLE_DB - 3.0


def test_the_recognizer_hears_the_user_and_not_the_assistant(scene: Scene) -> None:
    from assistant.adapters.pocketsphinx_asr import PocketsphinxRecognizer
    from assistant.session.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()

    def heard(audio: Floats) -> list[object]:
        recognizer = PocketsphinxRecognizer()
        recognizer.set_phrases(vocabulary.all_phrases())
        pcm = np.clip(np.round(audio * 32768), -32768, 32767).astype("<i2")
        found = []
        for i in range(0, len(pcm), 1600):
            found.extend(recognizer.accept(pcm[i : i + 1600].tobytes()))
        found.extend(recognizer.flush())
        return [c["intent"] for c in commands_from(found, vocabulary)]

    echo_only, _, _ = cancel(scene.played, scene.echo + scene.noise)
    with_user, _, _ = cancel(scene.played, scene.echo + scene.user + scene.noise)
    print(f"\nraw echo: {heard(scene.echo + scene.noise)}; cancelled echo: {heard(echo_only)}; "
          f"cancelled echo + user: {heard(with_user)}; user alone: "
          f"{heard(scene.user + scene.noise)}")
    assert heard(echo_only) == []
    assert heard(with_user) == ["stop"]


def test_with_nothing_played_the_microphone_passes_through_unchanged() -> None:
    canceller = EchoCanceller(EchoReference(RATE), comfort_noise_dbfs=None,
                              quiet_comfort_noise_dbfs=None)
    rng = np.random.default_rng(1)
    pcm = rng.integers(-3000, 3000, 10 * RATE).astype("<i2")
    out = b"".join(
        canceller.process(pcm[i : i + MIC_BLOCK].tobytes(), 10.0 + i / RATE)
        for i in range(0, len(pcm), MIC_BLOCK)
    )
    assert out == pcm.tobytes()


def test_silent_output_changes_nothing() -> None:
    """(What it costs is the benchmark's cpu_percent, measured listening in the room.)"""
    reference = EchoReference(RATE)
    canceller = EchoCanceller(reference, comfort_noise_dbfs=None, quiet_comfort_noise_dbfs=None)
    rng = np.random.default_rng(2)
    pcm = rng.integers(-3000, 3000, 10 * RATE).astype("<i2")
    silence = np.zeros(OUT_BLOCK, dtype=np.float32)
    fed = 0
    out = []
    for i in range(0, len(pcm), MIC_BLOCK):
        while fed < (i + MIC_BLOCK) * OUT_RATE / RATE:
            reference.write(silence, 10.0 + fed / OUT_RATE, OUT_RATE)
            fed += OUT_BLOCK
        out.append(canceller.process(pcm[i : i + MIC_BLOCK].tobytes(), 10.0 + i / RATE))
    assert b"".join(out) == pcm.tobytes()


def test_the_reference_is_resampled_without_aliasing() -> None:
    resampler = StreamResampler(OUT_RATE, RATE)
    t = np.arange(OUT_RATE) / OUT_RATE
    low = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    high = (0.5 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)
    out_low = np.concatenate([resampler.process(low[i : i + 256]) for i in range(0, OUT_RATE, 256)])
    expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(out_low)) / RATE)
    body = slice(100, len(out_low) - 100)
    assert db(out_low[body] - expected[body]) < db(expected[body]) - 40
    alias = StreamResampler(OUT_RATE, RATE).process(high)
    assert db(alias[100:].astype(np.float64)) < db(high.astype(np.float64)) - 40


def test_late_callbacks_and_clock_drift_are_not_shifts_but_an_underrun_is() -> None:
    reference = EchoReference(RATE)
    block = np.ones(OUT_BLOCK, dtype=np.float32)
    rng = np.random.default_rng(3)
    t = 1.0
    step = OUT_BLOCK / OUT_RATE
    for i in range(4000):  # ~23 s: callbacks up to 30 ms late, clock 0.45 ms/s fast
        late = float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.0, 0.03)]))
        reference.write(block, t - 0.00045 * i * step + late, OUT_RATE)
        t += step
        if i % 10 == 0:
            reference.drain()
    reference.drain()
    assert reference.glitches == 0, "jitter and drift are not underruns"
    written = reference.written
    n = 40
    for i in range(n):  # the sound really moved 10 ms later
        reference.write(block, t + 0.010 - 0.00045 * (4000 + i) * step, OUT_RATE)
        t += step
    reference.drain()
    assert reference.glitches == 1
    moved = reference.written - written - n * OUT_BLOCK * RATE / OUT_RATE
    assert moved == pytest.approx(0.010 * RATE, abs=0.002 * RATE)


def test_comfort_noise_is_louder_only_while_the_echo_may_sound() -> None:
    """pocketsphinx cannot segment near-digital silence; a steady floor stands in for a
    real microphone's. It masks the filter's leftovers at -50 dBFS while the assistant's
    sound may be in the microphone, and drops to -70 dBFS 0.5 s after (that loud a floor
    cost the user's words: real "stop" clips 54 of 131 heard in it, 83 in -70)."""
    played = np.concatenate([0.3 * np.sin(np.arange(OUT_RATE) * 0.05), np.zeros(3 * OUT_RATE)])
    out, _, _ = cancel(played.astype(np.float32), np.zeros(4 * RATE), comfort=(-50.0, -70.0))

    def level(t0: float, t1: float) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(out[int(t0 * RATE) : int(t1 * RATE)] ** 2))))

    assert -51.5 < level(0.2, 1.0) < -48.5, "while the assistant plays"
    assert -51.5 < level(1.0, 1.2) < -48.5, "its echo's tail"
    assert -71.5 < level(2.0, 4.0) < -68.5, "the room quiet again"


def test_a_plain_echo_path_is_seeded_once_and_never_taken_for_the_user(scene: Scene) -> None:
    """A dry room (delay and gain, like the virtual room's null sink): the filter starts
    from the measured path once, cancels well within two seconds, and its leftovers are
    never mistaken for the user talking over it (the line would be held for nothing)."""
    echo, mic = dry_room(scene)
    speaking: list[bool] = []
    out, canceller, _ = cancel(scene.played, mic, suppress=False, speaking=speaking)
    assert canceller.stats.seeds == 1
    assert erle_after(mic, out, echo, scene.user[: len(echo)], 2.0) >= MIN_ERLE_DB
    assert not any(speaking)


def test_an_echo_an_underrun_moved_by_two_samples_is_cancelled_again_at_once(
    scene: Scene,
) -> None:
    """An underrun can move the echo by less than the lag tracker's tolerance, and a
    seeded path two samples off cancels about 15 dB: in the room under load (CI) the
    first lines then held for nothing two or three times, and once its own opening lines
    were taken for "ouch". A short path that explains the echo far better than
    the filter replaces it at the next measurement."""
    echo, _ = dry_room(scene)
    at = round(2.5 * RATE)
    moved = echo.copy()
    moved[at:] = echo[at - 2 : len(echo) - 2]
    mic = moved + scene.noise[: len(moved)]
    speaking: list[bool] = []
    out, _, _ = cancel(scene.played, mic, suppress=False, speaking=speaking, underflow_at=2.5)
    assert erle_after(mic, out, moved, scene.user[: len(moved)], 3.0) >= MIN_ERLE_DB + 5.0
    assert not any(speaking), "its leftovers taken for the user"


def dry_room(scene: Scene, played: npt.NDArray[np.float32] | None = None,
             ) -> tuple[Floats, Floats]:
    """The echo of a room with delay and gain only (like the virtual room), and the mic;
    of the scene's line, or of `played` instead."""
    out = scene.played if played is None else played
    heard = fft_resample(out.astype(np.float64), OUT_RATE, RATE)
    echo = np.concatenate([np.zeros(round(DELAY_S * RATE)), heard * ECHO_GAIN])[: len(heard)]
    echo = echo[: len(echo) // MIC_BLOCK * MIC_BLOCK]
    return echo, echo + scene.noise[: len(echo)]


def test_a_hold_for_nothing_leaves_barge_in_listening_within_a_second(scene: Scene) -> None:
    """After a false hold the listener makes the canceller re-measure the echo. Starting
    the filter from zero then left barge-in blind for two seconds: in the room, the
    user's real "stop" 1-2 s after a false hold as a line began went unheard. Once, the
    filter stays and is trusted again at the next measurement; a third false hold soon
    after means the filter itself is wrong, and it starts again."""
    _, mic = dry_room(scene)
    start, end = scene.user_span
    mic = mic + scene.user[: len(mic)]
    before_stop = start / RATE - 0.8
    speaking: list[bool] = []
    _, canceller, _ = cancel(scene.played, mic, suppress=False, speaking=speaking,
                             relearn_at=(before_stop,))
    in_word = speaking[start // MIC_BLOCK : end // MIC_BLOCK + 1]
    assert any(in_word), "the stop said 0.8 s after a false hold is noticed"
    assert canceller.stats.resets == 0
    assert not any(speaking[: start // MIC_BLOCK]), "nothing before the stop"

    _, canceller, _ = cancel(scene.played, mic, suppress=False,
                             relearn_at=(before_stop - 3.0, before_stop))
    assert canceller.stats.resets == 0, "false holds come in pairs (the stop's, the resume's)"
    _, canceller, _ = cancel(scene.played, mic, suppress=False,
                             relearn_at=(before_stop - 6.0, before_stop - 3.0, before_stop))
    assert canceller.stats.resets == 1, "a third false hold within seconds starts over"


def test_the_users_words_over_a_held_line_do_not_spoil_the_filter(scene: Scene) -> None:
    """The user's "stop" holds the line 100 ms into the word; the word goes on over the
    echo's fading tail. Learning then fitted the filter to the user (the reference had
    gone quiet, so its normalised step was large): in the room its stray taps rose 15 dB,
    the next line came out near 0 dB over the microphone, and was held for nothing. Now
    the filter does not learn while the user talks and goes back to before their word."""
    start, end = scene.user_span
    played = scene.played.copy()
    held = int((start / RATE + DELAY_S + 0.1) * OUT_RATE)
    resumed = held + OUT_RATE
    played[held:resumed] = 0.0
    echo, mic = dry_room(scene, played)
    mic = mic + 2.0 * scene.user[: len(echo)]
    speaking: list[bool] = []
    out, canceller, _ = cancel(played, mic, suppress=False, speaking=speaking)
    lo, hi = round(resumed / OUT_RATE * RATE), round((resumed / OUT_RATE + 0.5) * RATE)
    sounding = np.abs(echo[lo:hi]) > 1e-3
    erle = db(mic[lo:hi][sounding]) - db(out[lo:hi][sounding])
    assert erle >= 25.0, f"the line after the hold is cancelled by only {erle:.1f} dB"
    assert any(speaking[start // MIC_BLOCK : end // MIC_BLOCK + 1]), "the word is noticed"
    assert canceller.stats.rewinds == 1


def test_only_the_user_is_heard_once_a_held_line_has_gone_quiet(scene: Scene) -> None:
    """What shows a hold was for the user (`BargeInSettings.heard_on_frames`): their word
    goes on once the line is quiet; the echo's leftovers end with the line."""
    start, _ = scene.user_span
    played = scene.played.copy()
    held = int((start / RATE + DELAY_S + 0.1) * OUT_RATE)
    played[held : held + OUT_RATE] = 0.0
    echo, mic = dry_room(scene, played)
    _, alone, _ = cancel(played, mic, suppress=False)
    assert alone.user_frames_alone == 0, "the assistant alone, held and resumed"
    _, user, _ = cancel(played, mic + 2.0 * scene.user[: len(echo)], suppress=False)
    needed = BargeInSettings().heard_on_frames
    assert user.user_frames_alone >= needed, (
        f"the rest of the user's word: {user.user_frames_alone} frames")
