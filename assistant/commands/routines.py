"""`massage-assistant routines`: the built-in routines, their length and what they do."""

from __future__ import annotations

import click

from assistant.session.routines import builtin_names, load_routine
from assistant.settings import PACES


def run() -> None:
    for name in builtin_names():
        routine = load_routine(name)
        minutes = round(routine.total_seconds() * PACES[routine.default_pace] / 60)
        click.echo(f"{name:<10} {minutes:>3} min  {routine.description}")
