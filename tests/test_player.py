"""The output path without a sound card: a fake stream pulls blocks on a manual clock.

Covers the Player (order, bookkeeping, cut-off, gain) and the SpokenVoice on top of it
(ordering of lines and chimes, cache, pace, volume steps), plus the PrintedVoice.
"""

from __future__ import annotations

import io
import random
import threading
from concurrent.futures import Future

import numpy as np
import pytest

from assistant.settings import SpeechSettings
from assistant.speech.audio_out import FloatAudio, Rendered
from assistant.speech.player import Player
from assistant.speech.spoken_voice import PrintedVoice, SpokenVoice

RATE = 1000
BLOCK = 10
LATENCY = 0.02


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class PullStream:
    """Stands in for the sound card: each pull is one callback, then time moves on."""

    def __init__(self, player: Player, clock: Clock) -> None:
        self.player = player
        self.clock = clock

    def pull(self, blocks: int = 1) -> FloatAudio:
        out = []
        for _ in range(blocks):
            block = np.full(BLOCK, np.nan, dtype=np.float32)
            self.player.fill(block, self.clock.t + LATENCY)
            self.clock.t += BLOCK / RATE
            out.append(block)
        return np.concatenate(out)


def tone(value: float, frames: int) -> FloatAudio:
    return np.full(frames, value, dtype=np.float32)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def player(clock: Clock) -> Player:
    return Player(RATE, fade_s=0.005, clock=clock)


@pytest.fixture
def stream(player: Player, clock: Clock) -> PullStream:
    return PullStream(player, clock)


# -- Player -------------------------------------------------------------------


def test_clips_play_in_order_back_to_back(player: Player, stream: PullStream) -> None:
    player.play(tone(0.5, 25), text="first")
    player.play(tone(0.25, 15), text="second")
    player.play(tone(0.1, 5), text="step", kind="chime")
    out = stream.pull(6)
    expected = np.concatenate([tone(0.5, 25), tone(0.25, 15), tone(0.1, 5), tone(0.0, 15)])
    np.testing.assert_array_equal(out, expected)


def test_recent_and_now_playing_use_the_time_audio_is_heard(
    player: Player, stream: PullStream, clock: Clock
) -> None:
    t0 = clock.t
    player.play(tone(0.5, 100), text="press gently")
    player.play(tone(0.5, 50), text="step", kind="chime")
    assert player.now_playing() is None
    stream.pull(3)  # 30 ms pulled; the first frame is heard at t0 + LATENCY
    now = player.now_playing()
    assert now is not None and now.text == "press gently"
    assert now.position_s == pytest.approx(clock.t - (t0 + LATENCY))
    stream.pull(20)
    lines = player.recent(t0)
    assert [(p.text, p.kind) for p in lines] == [("press gently", "speech"), ("step", "chime")]
    speech, chime = lines
    assert speech.started_at == pytest.approx(t0 + LATENCY)
    assert speech.ended_at == pytest.approx(t0 + LATENCY + 0.1)
    assert chime.started_at == pytest.approx(speech.ended_at)
    assert speech.duration_s == pytest.approx(0.1)
    assert chime.duration_s == pytest.approx(0.05)
    assert not speech.cut and not chime.cut
    assert player.recent(t0 + LATENCY + 0.12) == [chime]


def test_silence_fades_within_a_block_and_drops_the_queue(
    player: Player, stream: PullStream, clock: Clock
) -> None:
    player.play(tone(0.8, 1000), text="long line")
    player.play(tone(0.8, 100), text="never heard")
    stream.pull(5)
    called = clock.t
    player.silence()
    after = stream.pull(3)
    fade = after[:5]  # 5 ms at 1 kHz
    assert fade[0] > 0.0 and np.all(np.diff(fade) < 0), "a ramp down, not a jump"
    assert np.max(np.abs(np.diff(after))) <= 0.8 / 5 + 1e-6
    np.testing.assert_array_equal(after[5:], 0.0)
    (line,) = player.recent(0.0)
    assert line.text == "long line" and line.cut
    assert line.ended_at == pytest.approx(called + LATENCY + 0.005)
    assert not player.busy()


def test_a_clip_queued_after_silence_still_plays(player: Player, stream: PullStream) -> None:
    player.play(tone(0.8, 1000), text="cut")
    stream.pull(2)
    player.silence()
    player.play(tone(0.3, 20), text="paused")
    out = stream.pull(4)
    np.testing.assert_allclose(out[5:25], 0.3)
    assert [p.text for p in player.recent(0.0)] == ["cut", "paused"]


def test_silence_before_playback_drops_everything(player: Player, stream: PullStream) -> None:
    player.play(tone(0.8, 50), text="a")
    player.play(tone(0.8, 50), text="b")
    player.silence()
    np.testing.assert_array_equal(stream.pull(10), 0.0)
    assert player.recent(0.0) == []
    assert not player.busy()


def test_busy_until_the_tail_has_been_heard(player: Player, stream: PullStream) -> None:
    assert not player.busy()
    player.play(tone(0.5, 15), text="short")
    assert player.busy()
    stream.pull(2)  # all 15 frames written, but heard only LATENCY later
    assert player.busy()
    stream.pull(3)
    assert not player.busy()


def test_gain_ramps_over_one_block(player: Player, stream: PullStream) -> None:
    player.play(tone(1.0, 100), text="line")
    stream.pull(1)
    player.set_gain(0.5)
    ramp = stream.pull(1)
    assert ramp[0] == pytest.approx(1.0) and ramp[-1] == pytest.approx(0.5)
    np.testing.assert_allclose(stream.pull(1), 0.5)


def test_history_is_bounded(clock: Clock) -> None:
    player = Player(RATE, history=5, clock=clock)
    stream = PullStream(player, clock)
    for i in range(12):
        player.play(tone(0.1, 10), text=str(i))
    stream.pull(14)
    assert [p.text for p in player.recent(0.0)] == ["7", "8", "9", "10", "11"]


def test_callback_and_callers_on_different_threads(player: Player, stream: PullStream) -> None:
    """A smoke test of the lock-free hand-over: no exception, nothing lost or stuck."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def pull_forever() -> None:
        try:
            while not stop.is_set():
                stream.pull(1)
        except BaseException as error:
            errors.append(error)
            raise

    puller = threading.Thread(target=pull_forever)
    puller.start()
    rng = random.Random(7)
    for i in range(2000):
        choice = rng.random()
        if choice < 0.6:
            player.play(tone(0.2, rng.randint(1, 30)), text=str(i))
        elif choice < 0.7:
            player.silence()
        else:
            player.recent(0.0)
            player.now_playing()
    player.silence()
    for _ in range(1000):
        if not player.busy():
            break
        threading.Event().wait(0.001)
    stop.set()
    puller.join()
    assert not errors
    assert not player.busy()


# -- SpokenVoice on a fake renderer ---------------------------------------------


class FakeRenderer:
    """Renders each line as a constant tone, 10 ms per character, when told to."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.calls: list[tuple[str, int, str | None]] = []
        self.waiting: list[tuple[Future[Rendered], Rendered]] = []

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        self.calls.append((text, rate_wpm, voice))
        future: Future[Rendered] = Future()
        rendered = Rendered(tone(0.5, 10 * len(text) * 150 // rate_wpm), RATE)
        if self.hold:
            self.waiting.append((future, rendered))
        else:
            future.set_result(rendered)
        return future

    def release(self) -> None:
        for future, rendered in self.waiting:
            if not future.cancelled():
                future.set_result(rendered)
        self.waiting.clear()


def make_voice(
    player: Player, renderer: FakeRenderer, **settings: object
) -> SpokenVoice:
    return SpokenVoice(SpeechSettings(**settings), renderer, player)  # type: ignore[arg-type]


def texts(player: Player) -> list[str]:
    return [p.text for p in player.recent(0.0)]


def test_lines_and_chimes_keep_their_order_while_rendering(
    player: Player, stream: PullStream
) -> None:
    renderer = FakeRenderer(hold=True)
    voice = make_voice(player, renderer, volume=1.0)
    voice.say("one")
    voice.chime("step")
    voice.say("two")
    assert voice.busy()
    stream.pull(5)
    assert texts(player) == [], "the chime waits for the line before it"
    renderer.release()
    stream.pull(200)
    assert texts(player) == ["one", "step", "two"]
    assert not voice.busy()


def test_repeated_lines_come_from_the_cache(player: Player, stream: PullStream) -> None:
    renderer = FakeRenderer()
    voice = make_voice(player, renderer)
    voice.say("again")
    voice.say("again")
    voice.set_pace(1.25)
    voice.say("again")
    assert [c[1] for c in renderer.calls] == [150, 120]


def test_pace_sets_the_rate(player: Player) -> None:
    voice = make_voice(player, FakeRenderer(), rate_wpm=150)
    voice.set_pace(1.25)
    assert voice.rate_wpm == 120
    voice.set_pace(0.8)
    assert voice.rate_wpm == 188
    voice.set_pace(100.0)
    assert voice.rate_wpm == 80


def test_volume_steps_stop_at_both_ends(player: Player) -> None:
    voice = make_voice(player, FakeRenderer(), volume=0.8, volume_step=0.15)
    assert voice.set_volume_step(+1) and voice.gain == pytest.approx(0.95)
    assert voice.set_volume_step(+1) and voice.gain == pytest.approx(1.0)
    assert not voice.set_volume_step(+1)
    downs = 0
    while voice.set_volume_step(-1):
        downs += 1
    assert downs == 6 and voice.gain == pytest.approx(0.15)
    assert voice.set_volume_step(+1)


def test_silence_drops_lines_still_rendering(player: Player, stream: PullStream) -> None:
    renderer = FakeRenderer(hold=True)
    voice = make_voice(player, renderer)
    voice.say("dropped")
    voice.silence()
    voice.say("kept")
    renderer.release()
    stream.pull(100)
    assert texts(player) == ["kept"]


def test_chimes_can_be_turned_off(player: Player, stream: PullStream) -> None:
    voice = make_voice(player, FakeRenderer(), chimes=False)
    voice.chime("step")
    assert not voice.busy()
    with pytest.raises(ValueError, match="unknown chime"):
        voice.chime("gong")


def test_a_failed_render_is_skipped(player: Player, stream: PullStream) -> None:
    class Failing(FakeRenderer):
        def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
            if text == "bad":
                future: Future[Rendered] = Future()
                future.set_exception(RuntimeError("engine died"))
                return future
            return super().submit(text, rate_wpm, voice)

    voice = make_voice(player, Failing())
    voice.say("bad")
    voice.say("good")
    stream.pull(100)
    assert texts(player) == ["good"]
    assert isinstance(voice.error, RuntimeError)


def test_audio_is_resampled_to_the_player_rate(clock: Clock) -> None:
    player = Player(2 * RATE, clock=clock)
    voice = make_voice(player, FakeRenderer(), volume=1.0)
    voice.say("abc")  # 30 ms rendered at RATE: 60 frames at the player's rate
    PullStream(player, clock).pull(10)
    (line,) = player.recent(0.0)
    assert line.duration_s == pytest.approx(0.03)


def test_printed_voice_prints_lines_only() -> None:
    out = io.StringIO()
    voice = PrintedVoice(out)
    voice.say("Press gently.")
    voice.chime("step")
    voice.silence()
    voice.set_pace(1.25)
    assert out.getvalue() == "Press gently.\n"
    assert not voice.busy()
    assert not voice.set_volume_step(+1)


def test_printed_voice_without_a_stream_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    PrintedVoice().say("Press gently.")
    assert capsys.readouterr().out == ""


# -- hold and release (barge-in) ---------------------------------------------------------


def words(*levels: float, frames: int = 50, gap: int = 20) -> FloatAudio:
    """Loud 'words' of `frames` frames with silent gaps between them."""
    parts = []
    for level in levels:
        parts += [tone(level, frames), tone(0.0, gap)]
    return np.concatenate(parts)


def test_hold_pauses_within_a_block_and_release_resumes_at_the_word_start(
    player: Player, stream: PullStream
) -> None:
    line = words(0.5, 0.6, 0.7)  # word 2 is frames 70..119
    player.play(line, text="a line")
    stream.pull(9)  # 90 frames: 20 into word 2
    assert player.hold()
    held = stream.pull(10)
    assert np.all(held[BLOCK:] == 0.0), "silent from the second block on"
    assert player.busy(), "the rest of the line is still to come"
    player.release()
    resumed = stream.pull(10)
    start = int(np.flatnonzero(resumed)[0])
    assert resumed[start] == pytest.approx(0.6), "carries on with word 2, from its start"
    assert np.count_nonzero(resumed == np.float32(0.6)) == 50, "the whole word again"
    parts = [r for r in player.recent(0.0) if r.text == "a line"]
    assert len(parts) == 2 and parts[0].cut and parts[0].ended_at is not None
    assert parts[1].started_at > parts[0].ended_at, "the rest starts after the hold"


def test_nothing_new_starts_while_held(player: Player, stream: PullStream) -> None:
    player.play(words(0.5), text="first")
    player.play(words(0.25), text="second")
    stream.pull(2)
    assert player.hold()
    assert not stream.pull(20)[BLOCK:].any()
    player.release()
    assert np.isclose(stream.pull(20), 0.25).any()


def test_silence_ends_a_hold_and_drops_the_rest(player: Player, stream: PullStream) -> None:
    player.play(words(0.5, 0.5), text="line")
    stream.pull(3)
    assert player.hold()
    stream.pull(3)
    player.silence()
    player.play(tone(0.1, 30), text="ack")
    out = stream.pull(10)
    assert np.isclose(out, 0.1).sum() == 30 and not np.isclose(out, 0.5).any()
    stream.pull(5)
    assert not player.busy()


def test_hold_with_nothing_playing_does_nothing(player: Player, stream: PullStream) -> None:
    assert not player.hold()
    player.play(tone(0.3, 20), text="later")
    assert np.isclose(stream.pull(3), 0.3).sum() == 20


def test_no_hold_during_a_chime_or_just_after_it(
    player: Player, stream: PullStream, clock: Clock
) -> None:
    """The canceller lets a chime through: what seems to be the user then is the chime."""
    player.play(tone(0.2, 100), text="stop", kind="chime")
    player.play(words(0.5, 0.6, 0.7, 0.5, 0.6), text="Stopped.")
    stream.pull(5)
    assert not player.hold(), "a chime is playing"
    stream.pull(7)  # 20 ms into the line, the chime still fading
    assert not player.hold()
    stream.pull(31)  # 0.3 s after the chime's last sound reached the speaker
    assert player.hold(), "the line itself can be held"
