"""Write the README's "Saying things" table from the vocabulary file, so they never drift.

    python scripts/readme_commands.py           # rewrite the table in README.md
    python scripts/readme_commands.py --check   # exit 1 if README.md is out of date

The table sits between two marker comments in README.md; everything else in the
file is left exactly as it is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.session.vocabulary import Vocabulary, load_vocabulary

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = (
    "<!-- commands: generated from assistant/data/commands.toml by "
    "scripts/readme_commands.py; do not edit by hand -->"
)
END = "<!-- end of commands -->"


def table(vocabulary: Vocabulary) -> str:
    """One row per command: its main phrase, the other ways to say it, what it does, and
    whether it is heard even while the assistant is talking."""
    rows = [
        "| Say | or | What it does | Even while it talks |",
        "|---|---|---|---|",
    ]
    for intent in vocabulary.intents:
        main, *others = (_shown(p) for p in intent.phrases)
        also = ", ".join(others)
        rows.append(f"| {main} | {also} | {intent.help} | {'yes' if intent.priority else ''} |")
    return "\n".join(rows)


def _shown(phrase: str) -> str:
    """A phrase as written: quoted, with "I" in capitals."""
    return '"' + " ".join("I" if word == "i" else word for word in phrase.split()) + '"'


def updated(text: str, vocabulary: Vocabulary) -> str:
    """`text` with the table between the markers replaced; ValueError without markers."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the two marker lines:\n{BEGIN}\n{END}")
    return f"{text[: start + len(BEGIN)]}\n{table(vocabulary)}\n{text[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    try:
        new = updated(text, load_vocabulary())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(
                f"{args.readme}: the commands table is out of date; "
                "run python scripts/readme_commands.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
