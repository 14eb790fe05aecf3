"""One frame of the live screen from a Snapshot: large, calm, readable from a metre away.

Everything fits 80x24: at most five lines of instruction, one line each for the
rest. Words come from the dialog file's [screen] section; the "you can say" hint
shows as many of the commands valid now as fit on one line, always ending in help.
"""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from assistant.screen.level import FLOOR_DBFS
from assistant.screen.model import HeardLine, Snapshot
from assistant.session.dialog import Dialog
from assistant.session.vocabulary import Vocabulary
from assistant.settings import PACES

MAX_WIDTH = 100
INSTRUCTION_LINES = 5
BAR_CELLS = 40
METER_CELLS = 20
SEPARATOR = " · "
HINT_FIRST = (
    "yes", "no", "stop", "pause", "resume", "slower", "less_pressure", "repeat", "skip",
    "time_left",
)
"""Intents offered first in the hint (the ones people reach for); the rest follow."""
ANSWERS = {
    "offer": ("yes", "no"),
    "mode": ("myself", "partner"),
    "questions": ("yes", "no"),
    "choice": ("gently", "end_session"),
}
"""While a prompt waits for a reply, its answers lead the hint."""


def render(snap: Snapshot, dialog: Dialog, vocabulary: Vocabulary, width: int) -> RenderableType:
    width = min(width, MAX_WIDTH)
    inner = width - 4
    title = dialog.line(
        "screen.title", routine=snap.routine, mode=dialog.line(f"screen.mode_{snap.mode}")
    )
    state = dialog.line(f"screen.state.{snap.state}")
    parts: list[RenderableType] = [_step_line(snap, dialog), Text()]
    if snap.instruction:
        parts.append(_wrapped(snap.instruction, inner, INSTRUCTION_LINES, "bold"))
    if snap.latest:
        parts.append(_wrapped(snap.latest, inner, 2, "italic"))
    parts += [
        Text(),
        _bar(dialog.line("screen.step_bar"), snap.step_left_s, snap.step_total_s, inner, dialog),
        _bar(
            dialog.line("screen.session_bar"), snap.session_left_s, snap.session_total_s,
            inner, dialog,
        ),
        Text(),
        Text(
            dialog.line("screen.pace", name=_pace_name(snap.pace, dialog))
            + SEPARATOR
            + dialog.line("screen.pressure", level=dialog.line(f"pressure_name.{snap.pressure}"))
        ),
        _mic_line(snap, dialog),
        _heard_line(snap.heard, dialog, vocabulary),
        *_typing_line(snap.typing, dialog),
        Text(),
        Text(hint(snap.valid, dialog, vocabulary, inner, snap.awaiting), style="cyan",
             no_wrap=True),
    ]
    return Panel(
        Group(*parts),
        title=Text(title, style="bold"),
        subtitle=Text(state, style="bold reverse") if state else None,
        width=width,
        padding=(0, 1),
    )


def _step_line(snap: Snapshot, dialog: Dialog) -> Text:
    if not snap.started:
        return Text(dialog.line("screen.starting"), style="bold")
    title = snap.title
    if snap.foot == 2 and snap.kind == "step":
        title = dialog.line("screen.foot_two", title=title)
    line = dialog.line("screen.step", number=snap.number, count=snap.count, title=title)
    return Text(line, style="bold", no_wrap=True, overflow="ellipsis")


def _wrapped(text: str, width: int, max_lines: int, style: str) -> Text:
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], textwrap.shorten(" ".join(lines[max_lines - 1 :]),
                                                           width, placeholder=" …")]
    return Text("\n".join(lines), style=style)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(round(seconds), 0), 60)
    return f"{minutes}:{secs:02d}"


def _bar(
    label: str, left_s: float | None, total_s: float | None, width: int, dialog: Dialog
) -> Text:
    label_width = 9
    text = Text(f"{label:<{label_width}}")
    if left_s is None or not total_s:
        return text
    left = dialog.line("screen.left", time=_clock(left_s))
    cells = max(min(BAR_CELLS, width - label_width - len(left) - 2), 5)
    done = round(cells * min(max(1 - left_s / total_s, 0.0), 1.0))
    text.append("█" * done, style="green")
    text.append("░" * (cells - done), style="grey50")
    text.append(f"  {left}")
    return text


def _pace_name(factor: float, dialog: Dialog) -> str:
    name = min(PACES, key=lambda n: abs(PACES[n] - factor))
    exact = abs(PACES[name] - factor) < 1e-6
    named = dialog.line(f"screen.pace_{name}")
    return named if exact else dialog.line("screen.pace_factor", name=named, factor=factor)


def _mic_line(snap: Snapshot, dialog: Dialog) -> Text:
    if snap.engine is None:
        return Text(dialog.line("screen.mic_off"), style="grey50")
    text = Text(f"{dialog.line('screen.mic'):<9}")
    level = FLOOR_DBFS if snap.mic_dbfs is None else snap.mic_dbfs
    lit = round(METER_CELLS * (level - FLOOR_DBFS) / -FLOOR_DBFS)
    text.append("▮" * lit, style="red" if level > -6 else "green")
    text.append("▯" * (METER_CELLS - lit), style="grey50")
    text.append("  " + dialog.line("screen.listening", engine=snap.engine))
    return text


def _typing_line(typing: str | None, dialog: Dialog) -> list[Text]:
    """Typed keys are drawn here, on a line of their own: the terminal does not echo them."""
    if typing is None:
        return []
    return [Text(dialog.line("screen.typing", text=typing), style="bold", no_wrap=True,
                 overflow="ellipsis")]


def _heard_line(heard: HeardLine | None, dialog: Dialog, vocabulary: Vocabulary) -> Text:
    if heard is None:
        return Text(dialog.line("screen.heard_none"), style="grey50")
    did = vocabulary.get(heard.intent).help if heard.intent else ""
    line = dialog.line(f"screen.{heard.kind}", phrase=heard.phrase, did=did)
    return Text(line, no_wrap=True, overflow="ellipsis")


def hint(
    valid: frozenset[str],
    dialog: Dialog,
    vocabulary: Vocabulary,
    width: int,
    awaiting: str | None = None,
) -> str:
    """The commands understood now (exactly the grammar's), as many as fit: the answers
    to the prompt first, then the most useful; 'help' lists the rest."""
    order = [*ANSWERS.get(awaiting or "", ()), *HINT_FIRST, *(i.name for i in vocabulary.intents)]
    names = [n for n in dict.fromkeys(order) if n in valid and n != "help"]
    tail = [vocabulary.get("help").phrases[0]] if "help" in valid else []
    shown: list[str] = []
    for name in names:
        words = SEPARATOR.join([*shown, vocabulary.get(name).phrases[0], *tail])
        if len(dialog.line("screen.hint", commands=words)) > width:
            break
        shown.append(vocabulary.get(name).phrases[0])
    return dialog.line("screen.hint", commands=SEPARATOR.join([*shown, *tail]))
