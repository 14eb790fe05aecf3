"""The live screen in a terminal: rich's Live redraws a frame a few times a second.

The refresh runs on rich's own thread and only reads a Snapshot, so a slow
terminal can never hold up the session or the listener. While the screen is up,
anything else printed (notices on stderr) appears above it.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console, RenderableType
from rich.live import Live

from assistant.screen.model import ScreenModel
from assistant.screen.view import render
from assistant.session.dialog import load_dialog
from assistant.session.vocabulary import Vocabulary

REFRESH_PER_SECOND = 6.0


class LiveScreen:
    def __init__(
        self,
        model: ScreenModel,
        vocabulary: Vocabulary,
        stream: TextIO,
        console: Console | None = None,
    ) -> None:
        self.model = model
        self.vocabulary = vocabulary
        self.dialog = load_dialog()
        """Its own copy: the session's dialog turns variants and is not for other threads."""
        self.console = console or Console(file=stream)
        self._live = Live(
            console=self.console,
            get_renderable=self.frame,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=False,
        )

    def frame(self) -> RenderableType:
        return render(self.model.snapshot(), self.dialog, self.vocabulary, self.console.width)

    def start(self) -> None:
        self._live.start(refresh=True)

    def stop(self) -> None:
        """Leave the last frame on the terminal."""
        self._live.stop()
