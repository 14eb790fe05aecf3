"""End to end: the real program, speaking and listening in the virtual room, a
simulated user talking to it. Nothing is faked: pyttsx3 speech through a sounddevice
output stream, the room's air into a sounddevice microphone stream, the embedded
recognizer, the real state machine. The program speaks with its default voice (the
natural Piper voice) unless a test chooses another."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.listening.echo_replay import replay
from assistant.memory.store import Memory
from assistant.session.vocabulary import load_vocabulary
from assistant.speech.render_cache import CachedRenderer
from tests.harness import speech_samples as ss
from tests.harness.live_session import LiveSession
from tests.harness.room import Recorder, Room
from tests.harness.speech_samples import require_espeak

PAST_THE_START_S = 8.0
"""How long after the settling-in instruction is queued a test speaks over it. The lines
before it play from about 1 s, and under CI's load (the other tests' stream decode
starting) 11 underruns in the first 9 s kept the canceller re-measuring; a "stop" 3 s in
and its repeat were both lost in the echo (the code before the canceller's re-seeding
replays the same). 8 s is well inside the talking still."""


@pytest.fixture(autouse=True)
def _need_espeak() -> None:
    require_espeak()


def say_until_acted(live: LiveSession, rec: Recorder, phrase: str, intent: str) -> int:
    """Say `phrase` (over the assistant for stop and pause, else once it is quiet) until
    a command with `intent` is acted on; the index of that event. As people do, the
    simulated user says it again when nothing happened, a little more slowly, and then
    in other words (the intent's next phrase: "next" for "skip"); a third miss fails.
    (pocketsphinx decodes the Piper voice's "skip" as "f" in a clean file; in the room
    it has been "the pep", "step", and in one run "step" three times over. The benchmark
    measures how often each command is heard.)"""
    phrases = load_vocabulary().phrases_for({intent})
    other = next((p for p in phrases if p != phrase), phrase)
    for attempt, (said, slower) in enumerate(((phrase, 1.0), (phrase, 1.2), (other, 1.0)), 1):
        if phrase not in ("pause", "stop"):
            time.sleep(1.0)  # the answer to the last command starts, as a user would hear
            live.wait_quiet(rec)
        mark = len(live.events())
        live.say(said, slower)
        try:
            live.wait_for(lambda e: e["type"] == "command" and e["intent"] == intent, 10,
                          after=mark)
        except AssertionError:
            if attempt == 3:
                raise
            continue
        return next(i for i, e in enumerate(live.events()) if i >= mark
                    and e["type"] == "command" and e["intent"] == intent)
    raise AssertionError("unreachable")


def test_a_spoken_session_follows_the_users_voice(room: Room, tmp_path: Path) -> None:
    vocabulary = load_vocabulary()
    live = LiveSession(room, tmp_path, "--routine", "quick", "--time-scale", "0.3",
                       save_audio=True)
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "step" and e["id"] == "warm_up", 90)
            script = [
                ("pause", lambda e: e["type"] == "state" and e["to"] == "paused"),
                ("resume", lambda e: e["type"] == "state" and e["to"] == "running"),
                ("less pressure", lambda e: e["type"] == "pressure" and e["level"] == "light"),
                ("skip", lambda e: e["type"] == "step"),
                ("slower", lambda e: e["type"] == "pace"),
                ("repeat", lambda e: e["type"] == "say" and e["key"].startswith("step.")),
                ("stop", lambda e: e["type"] == "state" and e["to"] == "stopped"),
            ]
            for phrase, effect in script:
                intent = vocabulary.intent_for(phrase)
                assert intent is not None
                acted = say_until_acted(live, rec, phrase, intent[0])
                live.wait_for(effect, 10, after=acted)
            mark = len(live.events())
            time.sleep(4)
            assert not [e for e in live.events()[mark:] if e["type"] in ("say", "step")], (
                "nothing continues by itself after stop"
            )
            say_until_acted(live, rec, "end session", "end_session")
            assert live.finish(60) == 0
        heard = live.accepted()
        assert heard == [
            ("pause", "voice"), ("resume", "voice"), ("less_pressure", "voice"),
            ("skip", "voice"), ("slower", "voice"), ("repeat", "voice"), ("stop", "voice"),
            ("end_session", "voice"),
        ]
    finally:
        live.close()


def test_stop_cuts_off_a_long_instruction_and_nothing_resumes_until_asked(
    room: Room, tmp_path: Path
) -> None:
    live = LiveSession(room, tmp_path, "--routine", "full", save_audio=True)
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "say" and e["key"] == "step.settle", 60)
            time.sleep(PAST_THE_START_S)
            said_stop = 0.0
            for attempt in (1, 2):  # as people do, "stop" again at once if it went unheard
                assert rec.tail_rms(0.5) > 0.003, "the assistant should be talking now"
                said_stop = live.say("stop")
                try:
                    live.wait_state("stopped", 4 if attempt == 1 else 10)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            time.sleep(10.0)
            recording = rec.stop()
        after = recording.last_sound(after=said_stop + 0.3)
        ack = [e for e in live.of_type("say") if e["key"] == "ack_stop"]
        assert ack, "a short calm line after stop"
        # After the cut, the only sound is the chime and the short acknowledgement
        # (~5 s, or ~6 s if its own voice was once taken for the user and the line
        # paused: the benchmark counts those as false_holds): the room is silent for
        # the last seconds, nothing continued by itself.
        assert after is not None and after < said_stop + 9.0
        assert recording.rms(said_stop + 9.0, said_stop + 10.0) < 0.001
        keys = [e["key"] for e in live.of_type("say")]
        assert keys[keys.index("ack_stop") + 1 :] == [], "nothing said after the stop line"
        mark = len(live.events())
        live.say("resume")
        live.wait_state("running", 15, after=mark)
        assert live.accepted() == [("stop", "voice"), ("resume", "voice")]
    finally:
        live.close()
    # The session's echo canceller replays offline: same input to the recognizer, and
    # the user noticed where the session noticed them.
    audio = tmp_path / "audio"
    again = replay(audio / "echo_inputs.bin")
    with wave.open(str(audio / "heard.wav")) as heard:
        said = heard.readframes(heard.getnframes())
    replayed = b"".join(again.cleaned)
    # The session is killed at the end: a block already in the capture (kept as it comes
    # in) may not have reached heard.wav (kept once cleaned). In CI: one 50 ms block.
    last_block = len(again.cleaned[-1]) if again.cleaned else 0
    assert len(said) <= len(replayed) <= len(said) + last_block, (len(said), len(replayed))
    assert replayed[: len(said)] == said
    for barge_in in live.of_type("barge_in"):
        assert any(abs(t - barge_in["at"]) < 0.06 for t in again.onsets), barge_in


def test_slower_said_over_the_assistant_is_acted_on(room: Room, tmp_path: Path) -> None:
    """A command other than an urgent one, said while the assistant talks: the line is
    held for the user, who is heard going on with it held (the proof such a command
    needs, `BargeInSettings.heard_on_frames`), and it acts. Said again, as people do,
    if pocketsphinx misheard it."""
    live = LiveSession(room, tmp_path, "--routine", "full", "--time-scale", "0.3")
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "say" and e["key"] == "step.settle", 60)
            # Past the first seconds, when the canceller is still settling (see the stop
            # test above): in a CI-like run the first "slower", said 1 s in, went unheard.
            time.sleep(7.0)
            for attempt in (1, 2, 3):
                # Lines are logged when queued: wait until one is heard in the room.
                deadline = time.monotonic() + 30.0
                while rec.tail_rms(0.5) <= 0.003 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert rec.tail_rms(0.5) > 0.003, "the assistant should be talking now"
                mark = len(live.events())
                live.say("slower")
                try:
                    live.wait_for(lambda e: e["type"] == "pace", 10, after=mark)
                    break
                except AssertionError:
                    if attempt == 3:
                        raise
            ends = [e for e in live.events()[mark:] if e["type"] == "barge_in_end"]
            assert [e["type"] for e in live.events()[mark:]
                    if e["type"] in ("barge_in", "command")][:2] == ["barge_in", "command"]
            assert all(e["user_went_on"] for e in ends), ends
        assert live.accepted()[-1] == ("slower", "voice")
    finally:
        live.close()


@pytest.mark.parametrize(
    ("mode", "voice"),
    [("self", "piper:joe"), ("partner", "espeak:en-us")],
)
def test_a_whole_routine_played_into_the_room_triggers_nothing(
    room: Room, tmp_path: Path, home: Path, mode: str, voice: str
) -> None:
    """Both voices and both modes, in two runs (each is about three minutes of the
    suite's thirty): the natural voice (the default) guiding oneself, a system voice
    guiding a partner."""
    if voice.startswith("piper:"):
        ss.require_piper()
    live = LiveSession(room, tmp_path, "--routine", "quick", "--mode", mode,
                       "--time-scale", "0.05", "--voice", voice)
    try:
        # Fails at the first command: after a false stop the session would wait forever.
        deadline = time.monotonic() + 400
        while live.proc.poll() is None and time.monotonic() < deadline:
            commands = live.of_type("command")
            assert commands == [], f"the assistant reacted to itself: {commands}"
            time.sleep(0.2)
        assert live.finish(10) == 0, live.stderr()[-800:]
        steps = [e["id"] for e in live.of_type("step")]
        assert steps[-1] == "finish"
        said = " ".join(e["text"] for e in live.of_type("say"))
        if mode == "partner":
            assert "their" in said
        assert "less pressure" in said and "stop" in said, "the routine speaks command words"
        assert "natural voice" not in live.stderr()
        engine, key = ("piper:joe", None) if voice.startswith("piper:") else ("espeak", voice)
        spoken_by = CachedRenderer(None, engine, home / "speech-cache", 1)  # type: ignore[arg-type]
        first = live.of_type("say")[0]["text"]
        assert spoken_by.path_for(first, 150, key).exists(), f"spoken by {engine}"
    finally:
        live.close()


def test_a_real_persons_stop_over_the_assistant_stops_it(room: Room, tmp_path: Path) -> None:
    """A recording of a real person (a dev clip, not our own voices) saying "stop" while
    the assistant talks: the spotter catches it under the echo, the line goes quiet, and
    the session stops. As people do, they say it again (another speaker stands in) if
    nothing happened; a third miss fails."""
    clips = sorted((ss.require_shared() / "stop").glob("*.wav"))[::20][:3]
    live = LiveSession(room, tmp_path, "--routine", "full")
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "say" and e["key"] == "step.settle", 60)
            time.sleep(PAST_THE_START_S)
            for attempt, clip in enumerate(clips, 1):
                assert rec.tail_rms(0.5) > 0.003, "the assistant should be talking now"
                x = ss_read(clip)
                room.play(0.5 * x / max(1e-6, float(np.max(np.abs(x)))), sample_rate=16000)
                try:
                    live.wait_state("stopped", 4)
                    break
                except AssertionError:
                    if attempt == len(clips):
                        raise
        assert live.accepted() == [("stop", "voice")]
    finally:
        live.close()


def ss_read(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def first_session(room: Room, tmp_path: Path) -> LiveSession:
    """The quick routine on a fresh home with only the mode saved: the safety questions
    are asked, after about 30 s of welcome."""
    fresh = tmp_path / "fresh"
    memory = Memory(fresh)
    try:
        memory.save_preferences({"mode": "self"})
    finally:
        memory.close()
    return LiveSession(room, tmp_path, "--routine", "quick", save_audio=True,
                       env={"MASSAGE_ASSISTANT_HOME": str(fresh)})


def no_once_asked(live: LiveSession, rec: Recorder, unanswered: str) -> None:
    """Once the question has been said: nothing has answered it yet (`unanswered` says
    what it would mean), and the user's "no" does, and the steps begin."""
    # Longer than any pause between the lines before it (0.6 s was not: the check ran,
    # and the user spoke, over the welcome), shorter than the answer timeout (20 s),
    # after which the question is asked again.
    live.wait_quiet(rec, quiet_s=3.0)
    time.sleep(1.0)  # what the classifier read of the question's end has come
    answers = [e for e in live.of_type("command") if e["source"] == "voice"]
    assert answers == [], f"{unanswered}: {answers}"
    mark = len(live.events())
    live.say("no")
    live.wait_for(lambda e: e["type"] == "command" and e["intent"] == "no"
                  and e["accepted"], 10, after=mark)
    live.wait_for(lambda e: e["type"] == "step", 30, after=mark)
    assert [i for i, _ in live.accepted()] == ["no"]


def test_a_safety_question_takes_no_answer_from_its_own_words_and_takes_the_users(
    room: Room, tmp_path: Path
) -> None:
    """The question ends "Say yes or no.": in the room its own last words must not answer
    it (the short-word classifier answers on its own what it reads very surely), and the
    user's "no" must. A first session: the safety questions are asked."""
    live = first_session(room, tmp_path)
    try:
        with room.record() as rec:
            asked = live.wait_for(lambda e: e["type"] == "say" and e["key"] == "safety.any", 60)
            assert asked["text"].endswith("Say yes or no."), asked["text"]
            no_once_asked(live, rec, "the assistant took its own question for a command")
    finally:
        live.close()


def test_a_no_said_before_the_safety_question_is_asked_does_not_answer_it(
    room: Room, tmp_path: Path
) -> None:
    """A first session speaks 30 s before its safety question; the session awaits the
    answer from the moment the question is queued. A "no" said over the welcome (to
    someone else, by a television) must not settle the questions unasked; the same
    "no" once the question has been heard does."""
    live = first_session(room, tmp_path)
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "say" and e["key"] == "safety.any", 60)
            deadline = time.monotonic() + 30
            while not rec.sounded and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(6.0)  # into the lines before the question, the canceller settled
            held: list[dict[str, object]] = []
            for _ in range(2):  # said again 4 s later if not heard (still before the question)
                live.say("no")
                deadline = time.monotonic() + 4.0
                while not held and time.monotonic() < deadline:
                    held = [e for e in live.events()
                            if e["type"] == "heard" and e.get("decision") == "not_asked"]
                    time.sleep(0.1)
                if held:
                    break
            assert held, f"the early no was not heard at all: {live.events()[-8:]}"
            assert held[0]["text"] in ("no", "nope"), held
            no_once_asked(live, rec, "answered before it was asked")
    finally:
        live.close()
