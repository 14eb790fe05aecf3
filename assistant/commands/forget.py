"""`massage-assistant forget`: everything remembered deleted, after asking (unless --yes)."""

from __future__ import annotations

import sys

import click

from assistant.commands.common import Environment
from assistant.memory.recorder import memory_problem
from assistant.memory.store import MemoryUnavailable
from assistant.memory.store import forget as wipe
from assistant.session.dialog import load_dialog


def run(confirmed: bool, env: Environment) -> None:
    dialog = load_dialog()
    home = env.home
    if not confirmed and not click.confirm(dialog.line("memory.forget_confirm", folder=home)):
        click.echo(dialog.line("memory.nothing_deleted"))
        return
    try:
        found = wipe(home)
    except MemoryUnavailable as exc:
        click.echo(memory_problem(dialog, exc, in_session=False), err=True)
        sys.exit(1)
    click.echo(dialog.line("memory.forgotten" if found else "memory.nothing_stored"))
