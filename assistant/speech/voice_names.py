"""How voices are named: `piper:joe` for a natural (neural) voice, `espeak:ID` for a
system voice through pyttsx3, and a bare id, name or language (`en-us`), as before
there were two kinds, for a system voice. No engine is imported here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.errors import AssistantError

PIPER: Literal["piper"] = "piper"
ESPEAK: Literal["espeak"] = "espeak"
Engine = Literal["piper", "espeak"]


@dataclass(frozen=True)
class VoiceName:
    engine: Engine
    name: str
    """The engine's own name for the voice; empty for the engine's default."""

    @property
    def spec(self) -> str:
        return f"{self.engine}:{self.name}"


def parse_voice(spec: str) -> VoiceName:
    """`piper:joe` -> (piper, joe); `espeak:en-us` and bare `en-us` -> (espeak, en-us)."""
    text = spec.strip()
    engine, colon, name = text.partition(":")
    if colon and engine.lower() in (PIPER, ESPEAK):
        return VoiceName(PIPER if engine.lower() == PIPER else ESPEAK, name.strip())
    return VoiceName(ESPEAK, text)


class UnknownVoice(AssistantError):
    """No engine has a voice by that id, name or language."""

    def __init__(self, spec: str) -> None:
        from assistant.session.dialog import load_dialog

        super().__init__(load_dialog().line("notice.unknown_voice", voice=spec))
        self.spec = spec
