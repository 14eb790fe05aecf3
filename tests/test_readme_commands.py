"""The README's "Saying things" table is generated from the vocabulary: it must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.session.vocabulary import load_vocabulary
from tests.scripts_loader import load_script

readme_commands = load_script("readme_commands")


def test_the_readme_table_is_up_to_date() -> None:
    assert readme_commands.main(["--check"]) == 0, (
        "README.md's commands table is stale: run python scripts/readme_commands.py"
    )


def test_every_phrase_of_every_command_is_in_the_table() -> None:
    vocabulary = load_vocabulary()
    table = readme_commands.table(vocabulary)
    assert len(table.splitlines()) == 2 + len(vocabulary.intents)
    for intent in vocabulary.intents:
        assert intent.help in table
        for phrase in intent.phrases:
            assert readme_commands._shown(phrase) in table


def test_a_changed_vocabulary_makes_the_check_fail(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = readme_commands.README.read_text(encoding="utf-8")
    readme.write_text(text.replace('"stop stop"', '"stop now"'), encoding="utf-8")
    assert readme_commands.main(["--check", "--readme", str(readme)]) == 1
    assert readme_commands.main(["--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == text, "rewriting restores the table"


def test_without_markers_it_says_what_is_needed() -> None:
    with pytest.raises(ValueError, match="marker"):
        readme_commands.updated("# no table here\n", load_vocabulary())
