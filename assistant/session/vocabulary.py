"""The command vocabulary: every way to say each intent, loaded from package data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.errors import DataFileError, one_line
from assistant.toml_reading import parse_toml, read_text

_WORD = re.compile(r"[a-z']+")

SETTINGS_KEYS = ("negations", "safety_negations")
"""Top-level keys of the vocabulary file that are not commands."""


def normalize(text: str) -> str:
    """Lower-case words only, single-spaced: how typed and heard phrases are compared."""
    return " ".join(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Intent:
    name: str
    phrases: tuple[str, ...]
    priority: bool
    help: str
    whole: bool = False
    """Only a line made of nothing but its phrases counts ("no" is an answer, "no idea"
    is not)."""
    safety: int = 0
    """Above 0: said un-negated, it wins over any other command in the same line; the
    highest wins among several."""


@dataclass(frozen=True)
class _Found:
    intent: Intent
    phrase: str
    start: int
    """Index of the phrase's first word in the line."""
    negated: bool


@dataclass(frozen=True)
class Vocabulary:
    intents: tuple[Intent, ...]
    negations: tuple[str, ...] = ()
    """Words that, just before a phrase, cancel it: "don't stop" is not stop."""
    safety_negations: tuple[str, ...] = ()
    """The ones that cancel a safety command too ("no, stop!" still stops)."""

    def intent_for(self, text: str) -> tuple[str, str] | None:
        """A typed or heard line as (intent, phrase), or None when it is not one command.

        A negated phrase does not count, and a line holding two different commands
        ("slower... no, faster") is not guessed at, unless one of them is an
        un-negated safety command (stop, pain): safety first."""
        said = normalize(text)
        if not said:
            return None
        words = said.split()
        for intent in self.intents:
            if intent.whole and _made_of(words, intent.phrases):
                return intent.name, said
        found = self._find(words)
        safe = [f for f in found if f.intent.safety > 0 and not f.negated]
        if safe:
            best = max(safe, key=lambda f: (f.intent.safety, -f.start))
            return best.intent.name, best.phrase
        if not found or len({f.intent.name for f in found}) > 1 or any(f.negated for f in found):
            return None
        longest = max(found, key=lambda f: len(f.phrase))
        return longest.intent.name, longest.phrase

    def _find(self, words: list[str]) -> list[_Found]:
        """Every phrase in the line; where they overlap, safety first, then the longest."""
        candidates = [
            (intent, phrase, start)
            for intent in self.intents
            if not intent.whole
            for phrase in intent.phrases
            for start in _occurrences(words, phrase.split())
        ]
        candidates.sort(key=lambda c: (-c[0].safety, -len(c[1].split()), c[2]))
        taken: set[int] = set()
        found: list[_Found] = []
        for intent, phrase, start in candidates:
            span = set(range(start, start + len(phrase.split())))
            if span & taken:
                continue
            taken |= span
            cancelling = self.safety_negations if intent.safety > 0 else self.negations
            negated = any(_ends_with(words[:start], n.split()) for n in cancelling)
            found.append(_Found(intent, phrase, start, negated))
        return sorted(found, key=lambda f: f.start)

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


def _occurrences(words: list[str], phrase: list[str]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(words) - n + 1) if words[i : i + n] == phrase]


def _ends_with(words: list[str], tail: list[str]) -> bool:
    return len(words) >= len(tail) and words[len(words) - len(tail) :] == tail


def _made_of(words: list[str], phrases: tuple[str, ...]) -> bool:
    """Whether the words split, front to back, into these phrases and nothing else.

    Word by word, not by recursion: a pasted line of a thousand "no" is an answer, not a
    RecursionError."""
    split = [p.split() for p in phrases]
    reached = [True] + [False] * len(words)
    for start in range(len(words)):
        if reached[start]:
            for phrase in split:
                if words[start : start + len(phrase)] == phrase:
                    reached[start + len(phrase)] = True
    return reached[-1]


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read the vocabulary file (the packaged one unless a path is given)."""
    if path is None:
        source = resources.files("assistant").joinpath("data/commands.toml")
        name, text = "assistant/data/commands.toml", source.read_text(encoding="utf-8")
    else:
        name, text = str(path), read_text(path, DataFileError, "the vocabulary file")
    return parse_vocabulary(text, name)


def parse_vocabulary(text: str, name: str) -> Vocabulary:
    """The vocabulary in `text` (commands.toml's format); DataFileError naming `name`."""
    raw = parse_toml(text, name, DataFileError)
    negations = {key: _word_list(name, key, raw.pop(key, [])) for key in SETTINGS_KEYS}
    intents = []
    seen: dict[str, str] = {}
    for key, table in raw.items():
        shown = one_line(key)
        if not isinstance(table, dict):
            raise DataFileError(f"{name}: [{shown}] must be a table")
        phrases = table.get("phrases")
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and normalize(p) for p in phrases)
        ):
            raise DataFileError(f"{name}: [{shown}] field 'phrases' must be a list of phrases")
        normal = tuple(normalize(p) for p in phrases)
        for phrase in normal:
            if phrase in seen:
                raise DataFileError(
                    f"{name}: [{shown}] phrase '{phrase}' is already used by "
                    f"[{one_line(seen[phrase])}]"
                )
            seen[phrase] = key
        safety = table.get("safety", 0)
        if isinstance(safety, bool) or not isinstance(safety, int) or safety < 0:
            raise DataFileError(
                f"{name}: [{shown}] field 'safety' must be a whole number, 0 or more"
            )
        intents.append(
            Intent(
                name=key,
                phrases=normal,
                priority=bool(table.get("priority", False)),
                help=str(table.get("help", "")),
                whole=bool(table.get("whole", False)),
                safety=safety,
            )
        )
    return Vocabulary(tuple(intents), negations["negations"], negations["safety_negations"])


def _word_list(name: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and normalize(v) for v in value):
        raise DataFileError(f"{name}: '{key}' must be a list of words")
    return tuple(normalize(v) for v in value)
