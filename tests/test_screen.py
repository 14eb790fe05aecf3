"""The live screen, driven by a session on a fake clock: what an 80x24 terminal shows.

Wording is checked through the dialog file (which line was chosen), not copied here.
"""

from __future__ import annotations

import io
import math
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from assistant.app import RunOptions, follow_valid, run_guided_session
from assistant.screen.level import FLOOR_DBFS, MicLevel, block_dbfs
from assistant.screen.live import LiveScreen
from assistant.screen.model import ScreenModel
from assistant.screen.view import SEPARATOR, hint, render
from assistant.session.dialog import load_dialog
from assistant.session.routines import load_routine
from assistant.session.safety import ScreeningPlan
from assistant.session.screening import ResumeOffer
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import ListenSettings, MemorySettings, SessionSettings
from tests.fakes import Harness, make_session
from tests.harness.room import Room

DIALOG = load_dialog()
VOCABULARY = load_vocabulary()


def shown(model: ScreenModel, width: int = 80, height: int = 24) -> str:
    console = Console(record=True, width=width, height=height, file=io.StringIO())
    console.print(render(model.snapshot(), DIALOG, VOCABULARY, width))
    return console.export_text()


def screen_for(harness: Harness, engine: str | None = "pocketsphinx",
               level: float | None = -20.0) -> ScreenModel:
    model = ScreenModel(harness.session, engine, lambda: level)
    harness.events.subscribe(model.on_event)
    return model


def hint_line(text: str) -> str:
    prefix = DIALOG.line("screen.hint", commands="")
    return next(line for line in text.splitlines() if prefix in line)


def test_a_running_step_shows_title_instruction_timers_and_settings() -> None:
    h = make_session("quick")
    model = screen_for(h)
    h.session.begin()
    h.run_for(5)
    text = shown(model)
    lines = text.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    item = h.session.item
    assert DIALOG.line("screen.step", number=1, count=len(h.session.plan),
                       title=item.step.title) in text
    assert h.session.routine.title in text
    first_words = " ".join(item.step.instruction.for_mode("self").split()[:6])
    assert first_words in " ".join(text.split())
    assert DIALOG.line("screen.step_bar") in text and DIALOG.line("screen.session_bar") in text
    left = round(h.session.remaining_s)
    assert DIALOG.line("screen.left", time=f"{left // 60}:{left % 60:02d}") in text
    assert DIALOG.line("screen.pace", name=DIALOG.line("screen.pace_normal")) in text
    assert DIALOG.line("screen.listening", engine="pocketsphinx") in text
    assert DIALOG.line("screen.heard_none") in text


def test_the_hint_follows_the_state() -> None:
    h = make_session("quick")
    model = screen_for(h)
    h.session.begin()
    h.run_for(2)
    running = hint_line(shown(model))
    assert "pause" in running and "resume" not in running and running.rstrip(" │").endswith(
        "help")
    h.say("pause")
    paused = hint_line(shown(model))
    assert "resume" in paused and " pause " not in paused
    assert DIALOG.line("screen.state.paused") in shown(model)


def test_what_was_heard_and_what_it_did() -> None:
    h = make_session("quick")
    model = screen_for(h)
    h.session.begin()
    h.say("slower")
    text = shown(model)
    assert DIALOG.line("screen.typed_accepted", phrase="slower",
                       did=VOCABULARY.get("slower").help) in text
    assert DIALOG.line("screen.pace_slow") in text
    h.events.emit("heard", text="skip", final=True, decision="talking", start=0, end=1)
    assert DIALOG.line("screen.heard_talking", phrase="skip")[:60] in shown(model)
    h.events.emit("command", intent="resume", phrase="resume", source="voice", accepted=False)
    assert DIALOG.line("screen.heard_not_now", phrase="resume") in shown(model)
    h.say("banana")
    assert DIALOG.line("screen.typed_unknown", phrase="banana") in shown(model)


def test_pressure_changes_show() -> None:
    h = make_session("quick")
    model = screen_for(h)
    h.session.begin()
    h.say("less pressure")
    level = DIALOG.line("pressure_name.light")
    assert DIALOG.line("screen.pressure", level=level) in shown(model)


def test_before_the_first_step_the_question_is_shown() -> None:
    h = make_session("quick", screening=ScreeningPlan(ask=True))
    model = screen_for(h)
    h.session.begin()
    text = shown(model)
    assert DIALOG.line("screen.starting") in text
    question = next(e["text"] for e in reversed(h.events.of_type("say")))
    assert " ".join(question.split()[:5]) in " ".join(text.split())
    assert "yes" in hint_line(text) and "no" in hint_line(text)


def test_without_a_microphone_the_meter_says_type() -> None:
    h = make_session("quick")
    model = screen_for(h, engine=None, level=None)
    h.session.begin()
    assert DIALOG.line("screen.mic_off") in shown(model)


def test_the_meter_follows_the_level() -> None:
    h = make_session("quick")
    quiet, loud = screen_for(h, level=-60.0), screen_for(h, level=-3.0)
    assert shown(quiet).count("▮") < shown(loud).count("▮")


def test_a_narrow_terminal_still_fits() -> None:
    h = make_session("quick")
    model = screen_for(h)
    h.session.begin()
    lines = shown(model, width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert len(lines) <= 24


def test_the_level_of_a_block() -> None:
    assert block_dbfs(b"") == FLOOR_DBFS
    assert block_dbfs(bytes(1600)) == FLOOR_DBFS
    tone = (np.sin(np.arange(1600) / 5) * 32767).astype("<i2").tobytes()
    assert math.isclose(block_dbfs(tone), -3.0, abs_tol=0.2)
    level = MicLevel()
    assert level.dbfs() is None
    level.feed(bytes(1600), 0.0)
    level.feed(tone, 0.05)
    assert math.isclose(level.dbfs() or 0.0, -3.0, abs_tol=0.2)


def test_the_live_screen_draws_frames_on_its_console() -> None:
    h = make_session("quick")
    model = screen_for(h)
    console = Console(record=True, width=80, height=24, file=io.StringIO(), force_terminal=True)
    screen = LiveScreen(model, VOCABULARY, io.StringIO(), console=console)
    screen.start()
    h.session.begin()
    time.sleep(0.4)
    screen.stop()
    assert h.session.item.step.title in console.export_text()


def test_not_a_terminal_gets_plain_lines(tmp_path: Path, home: Path) -> None:
    """Keyboard mode into a pipe: every spoken line printed, nothing else."""
    out = io.StringIO()
    session = run_guided_session(
        SessionSettings(routine="quick", time_scale=0.002),
        (False, False), {}, ListenSettings(), MemorySettings(folder=home),
        RunOptions(text_mode=True, events_path=None, env_model=None, live_screen=True),
        io.StringIO(""), out,
    )
    said = [e["text"] for e in session.events.of_type("say")]
    assert out.getvalue().splitlines() == said


def test_a_spoken_session_on_a_terminal_shows_the_screen(room: Room, home: Path) -> None:
    """The real program with its output on a pseudo-terminal, in the virtual room."""
    leader, follower = pty.openpty()
    env = {**room.env, "MASSAGE_ASSISTANT_HOME": str(home), "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "start", "--routine", "quick"],
        env=env, stdin=subprocess.PIPE, stdout=follower, stderr=subprocess.PIPE, text=True,
    )
    os.close(follower)
    seen = bytearray()

    def drain() -> None:
        """Keep reading, or the terminal fills up and the program blocks writing to it."""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    hint = DIALOG.line("screen.hint", commands="").encode()
    try:
        deadline = time.monotonic() + 60
        while hint not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.stdin is not None
        proc.stdin.write("end session\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(leader)
    text = bytes(seen).decode(errors="replace")
    assert hint.decode() in text
    assert "Quick" in text and DIALOG.line("screen.listening", engine="pocketsphinx") in text
    assert DIALOG.line("screen.typed_accepted", phrase="end session",
                       did=VOCABULARY.get("end_session").help) in text


def hint_intents(line: str) -> list[str]:
    """The intents a hint line offers, by their first phrase, in order."""
    prefix = DIALOG.line("screen.hint", commands="")
    words = line.strip(" │").split(prefix.strip(), 1)[1].strip().rstrip(".")
    first = {i.phrases[0]: i.name for i in VOCABULARY.intents}
    return [first[w] for w in words.split(SEPARATOR) if w]


def test_the_hint_lists_exactly_what_the_grammar_understands_in_every_state() -> None:
    """Every state, and in screening every prompt: the hint (with room for all) names the
    intents of the recognizer's grammar, no more, no fewer; on 80 columns, those that fit,
    the prompt's answers first."""
    offer = ResumeOffer(7, "quick", load_routine("quick"), "self", 2)
    h = make_session("quick", screening=ScreeningPlan(ask=True), offer=offer, mode=None)
    model = screen_for(h)
    followed: list[frozenset[str]] = []
    follow_valid(h.events, h.session, followed.append)
    seen: set[str] = set()

    def check(where: str, leading: tuple[str, ...] = ()) -> None:
        snap = model.snapshot()
        grammar = followed[-1]
        assert set(VOCABULARY.phrases_for(grammar)) == set(VOCABULARY.phrases_for(snap.valid))
        wide = hint_intents(hint(snap.valid, DIALOG, VOCABULARY, 10_000, snap.awaiting))
        assert set(wide) == grammar, where
        narrow = hint_intents(hint_line(shown(model)))
        assert set(narrow) <= grammar, where
        assert tuple(narrow[: len(leading)]) == leading, where
        seen.add(where)

    check("ready")
    h.session.begin()
    check("offer", ("yes", "no"))
    h.say("no")
    assert h.session.phase == "mode"
    check("mode", ("myself", "partner"))
    assert not {"yes", "no"} & followed[-1], "myself or partner? is not a yes/no question"
    h.say("myself")
    check("questions", ("yes", "no"))
    h.say("yes")  # to the one question first: then they come one by one
    h.say("yes")  # the first of them (blood clots): a doctor first, so the choice
    for _ in range(10):
        if h.session.awaiting_choice:
            break
        h.say("no")
    assert h.session.awaiting_choice, "no choice was offered"
    check("choice", ("gently", "end_session"))
    assert not {"yes", "no"} & followed[-1], "end session or continue gently? takes no yes"
    h.say("pause")
    check("paused during the choice")
    h.say("resume")
    h.say("continue gently")
    assert h.session.state_name == "running"
    check("running")
    h.say("pause")
    check("paused")
    h.say("stop")
    check("stopped")
    h.say("resume")
    while h.session.state_name != "switching":
        h.say("skip")
    check("switching")
    h.say("end session")
    assert h.session.state_name == "finished"
    check("finished")
    assert len(seen) == 11


def emulate(output: bytes, rows: int = 200) -> list[str]:
    """What a terminal shows after `output`: text, CR, LF and the few controls rich's
    live display uses (erase line, cursor up; colours and cursor hiding are ignored)."""
    screen = [[" "] * 100 for _ in range(rows)]
    row = col = 0
    text = output.decode(errors="replace")
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\x1b" and i + 1 < len(text) and text[i + 1] == "[":
            end = i + 2
            while end < len(text) and not text[end].isalpha():
                end += 1
            args, command = text[i + 2 : end], text[end]
            if command == "K":
                screen[row] = [" "] * 100
            elif command == "A":
                row = max(row - int(args or 1), 0)
            i = end + 1
            continue
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
        elif char.isprintable() and col < 100:
            screen[row][col] = char
            col += 1
        i += 1
    return [line for line in ("".join(cells).rstrip() for cells in screen) if line]


def run_on_terminal(
    room: Room, home: Path, keys: list[tuple[float, bytes]]
) -> tuple[bytes, list[int]]:
    """The real program with stdin, stdout and stderr on one pseudo-terminal, as in a
    terminal window; `keys` are typed after the screen is up, each after its pause (the
    last must end the session). Returns the output and how much of it came before each
    key was typed."""
    leader, follower = pty.openpty()
    env = {**room.env, "MASSAGE_ASSISTANT_HOME": str(home), "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "start", "--routine", "quick"],
        env=env, stdin=follower, stdout=follower, stderr=follower,
    )
    os.close(follower)
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    hint = DIALOG.line("screen.hint", commands="").encode()
    try:
        deadline = time.monotonic() + 60
        while hint not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
        marks = []
        for pause, typed in keys:
            time.sleep(pause)
            marks.append(len(seen))
            os.write(leader, typed)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(leader)
    return bytes(seen), marks


def test_typing_under_the_live_screen_keeps_one_clean_panel(room: Room, home: Path) -> None:
    """Typed keys are not echoed below the screen (that left a stale top border on each
    redraw): the line being typed shows inside the panel, and Enter sends it."""
    keys = [(0.5, b"pau"), (1.0, b"se\r"), (1.0, b"sl"), (1.0, b"\x15end session\r")]
    output, marks = run_on_terminal(room, home, keys)
    for upto, typing, typed in [(marks[-1], "sl", "pause"), (len(output), "", "end session")]:
        shown = emulate(output[:upto])
        assert sum(line.startswith("╭") for line in shown) == 1, "\n".join(shown)
        top = next(i for i, line in enumerate(shown) if line.startswith("╭"))
        assert all(line[0] in "│╰" for line in shown[top + 1 :]), "\n".join(shown)
        panel = " ".join(shown[top:])
        intent = VOCABULARY.intent_for(typed)
        assert intent is not None
        assert DIALOG.line("screen.typed_accepted", phrase=typed,
                           did=VOCABULARY.get(intent[0]).help) in panel, "\n".join(shown)
        assert DIALOG.line("screen.typing", text=typing) in panel, "\n".join(shown)
