"""The command vocabulary: every way to say each intent, loaded from package data."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assistant.errors import DataFileError

_WORD = re.compile(r"[a-z']+")


def normalize(text: str) -> str:
    """Lower-case words only, single-spaced: how typed and heard phrases are compared."""
    return " ".join(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Intent:
    name: str
    phrases: tuple[str, ...]
    priority: bool
    help: str


@dataclass(frozen=True)
class Vocabulary:
    intents: tuple[Intent, ...]

    def intent_for(self, text: str) -> tuple[str, str] | None:
        """A typed or heard line as (intent, phrase): exact phrase first, then one inside."""
        said = normalize(text)
        if not said:
            return None
        for intent in self.intents:
            if said in intent.phrases:
                return intent.name, said
        padded = f" {said} "
        best: tuple[str, str] | None = None
        for intent in self.intents:
            for phrase in intent.phrases:
                if f" {phrase} " in padded and (best is None or len(phrase) > len(best[1])):
                    best = (intent.name, phrase)
        return best

    def phrases_for(self, intents: set[str] | frozenset[str]) -> list[str]:
        return [p for i in self.intents if i.name in intents for p in i.phrases]

    def all_phrases(self) -> list[str]:
        return [p for i in self.intents for p in i.phrases]

    def priority_intents(self) -> frozenset[str]:
        return frozenset(i.name for i in self.intents if i.priority)

    def get(self, name: str) -> Intent:
        for intent in self.intents:
            if intent.name == name:
                return intent
        raise KeyError(name)


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read the vocabulary file (the packaged one unless a path is given)."""
    if path is None:
        source = resources.files("assistant").joinpath("data/commands.toml")
        name, text = "assistant/data/commands.toml", source.read_text(encoding="utf-8")
    else:
        name, text = str(path), path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{name}: not valid TOML: {exc}") from exc
    intents = []
    seen: dict[str, str] = {}
    for key, table in raw.items():
        if not isinstance(table, dict):
            raise DataFileError(f"{name}: [{key}] must be a table")
        phrases = table.get("phrases")
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and normalize(p) for p in phrases)
        ):
            raise DataFileError(f"{name}: [{key}] field 'phrases' must be a list of phrases")
        normal = tuple(normalize(p) for p in phrases)
        for phrase in normal:
            if phrase in seen:
                raise DataFileError(
                    f"{name}: [{key}] phrase '{phrase}' is already used by [{seen[phrase]}]"
                )
            seen[phrase] = key
        intents.append(
            Intent(
                name=key,
                phrases=normal,
                priority=bool(table.get("priority", False)),
                help=str(table.get("help", "")),
            )
        )
    return Vocabulary(tuple(intents))
