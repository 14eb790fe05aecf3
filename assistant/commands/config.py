"""`massage-assistant config`: where the config file is, what it sets, the keys it can set;
--init writes one with every key explained."""

from __future__ import annotations

import click

from assistant.commands.common import Environment, cannot_write, fail
from assistant.config_file import KEYS, example_text, load_config, toml_value
from assistant.errors import AssistantError
from assistant.session.dialog import load_dialog


def run(path_only: bool, init: bool, env: Environment) -> None:
    dialog = load_dialog()
    path = env.config_path
    if path_only:
        click.echo(str(path))
        return
    if init:
        if path.exists():
            click.echo(dialog.line("config.exists", path=path))
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(example_text(), encoding="utf-8")
        except OSError as exc:
            fail(AssistantError(cannot_write(dialog, path, exc)))
        click.echo(dialog.line("config.created", path=path))
        return
    click.echo(dialog.line("config.file", path=path))
    try:
        config = load_config(path)
    except AssistantError as exc:
        fail(exc)
    if not config.exists:
        click.echo(dialog.line("config.missing"))
    values = config.set_values()
    if values:
        click.echo(dialog.line("config.set_header"))
        for name, value in values:
            click.echo(f"  {name} = {toml_value(value)}")
    elif config.exists:
        click.echo(dialog.line("config.nothing_set"))
    click.echo(dialog.line("config.keys_header"))
    width = max(len(key.name) for key in KEYS)
    for key in KEYS:
        click.echo(f"  {key.name:<{width}}  {key.about}")
