"""`massage-assistant devices`: list microphones and speakers, choose them, save the choice.

A choice is saved as the device's full name, not its number: numbers shift when a
device is plugged in, names do not.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from assistant.adapters.sounddevice_io import DeviceInfo, DeviceSpec, find_device, list_devices
from assistant.commands.common import Environment, device_choice, fail
from assistant.config_file import Config, load_config, save_values
from assistant.errors import AssistantError, AudioUnavailable
from assistant.session.dialog import Dialog, load_dialog


class DeviceChoiceError(AssistantError):
    """A device asked for by name or number is not there; says which ones are."""


def device_lines(dialog: Dialog, chosen_input: DeviceSpec, chosen_output: DeviceSpec) -> list[str]:
    """Both lists, the device that would be used marked with '*'."""
    devices = list_devices()
    lines: list[str] = []
    for direction, header, spec in (
        ("input", "devices.inputs", chosen_input),
        ("output", "devices.outputs", chosen_output),
    ):
        usable = [d for d in devices if (d.inputs if direction == "input" else d.outputs) > 0]
        lines.append(dialog.line(header))
        if not usable:
            lines.append("    " + dialog.line("devices.none"))
            continue
        chosen = _chosen(spec, direction)
        for device in usable:
            is_default = device.is_default_input if direction == "input" else (
                device.is_default_output)
            lines.append(dialog.line(
                "devices.row",
                mark="*" if chosen is not None and device.index == chosen.index else " ",
                index=device.index,
                name=device.name,
                default=dialog.line("devices.default") if is_default else "",
            ).rstrip())
    return lines


def _chosen(spec: DeviceSpec, direction: str) -> DeviceInfo | None:
    try:
        return find_device(spec, "input" if direction == "input" else "output")
    except AudioUnavailable:
        return None


def resolve(spec: DeviceSpec, direction: str) -> DeviceInfo | None:
    """The device `spec` names; None for no spec, or when no sound system is there at all
    (the session then falls back to text by itself). DeviceChoiceError if none matches."""
    if spec is None:
        return None
    try:
        list_devices()
    except AudioUnavailable:
        return None
    try:
        return find_device(spec, "input" if direction == "input" else "output")
    except AudioUnavailable as exc:
        raise DeviceChoiceError(str(exc)) from None


def save_choice(
    path: Path, chosen_input: DeviceInfo | None, chosen_output: DeviceInfo | None
) -> None:
    """Write the chosen devices' names into the config file."""
    values: dict[str, str | int] = {}
    if chosen_input is not None:
        values["listen.input"] = chosen_input.name
    if chosen_output is not None:
        values["speech.output"] = chosen_output.name
    if values:
        save_values(path, values)


def choose_devices(
    input_device: str | int | None, output_device: str | int | None, save: bool, config: Config
) -> None:
    """Fail early, naming what exists, when a chosen device is not there; save if asked."""
    chosen_in = resolve(input_device, "input")
    chosen_out = resolve(output_device, "output")
    if save:
        save_choice(config.path, chosen_in, chosen_out)


def run(input_device: str | None, output_device: str | None, save: bool, env: Environment,
        ) -> None:
    """List both, '*' marking the device a session would use now; --input/--output choose,
    --save remembers."""
    dialog = load_dialog()
    try:
        config = load_config(env.config_path)
        chosen_in = device_choice(input_device, config.input_device)
        chosen_out = device_choice(output_device, config.output_device)
        found_in, found_out = resolve(chosen_in, "input"), resolve(chosen_out, "output")
        for line in device_lines(dialog, chosen_in, chosen_out):
            click.echo(line)
        click.echo("")
        if found_in is not None and input_device is not None:
            click.echo(dialog.line(
                "devices.chosen_input", index=found_in.index, name=found_in.name))
        if found_out is not None and output_device is not None:
            click.echo(dialog.line(
                "devices.chosen_output", index=found_out.index, name=found_out.name))
        if save and (input_device is not None or output_device is not None):
            save_choice(
                config.path,
                found_in if input_device is not None else None,
                found_out if output_device is not None else None,
            )
            click.echo(dialog.line("devices.saved", path=config.path))
        elif input_device is not None or output_device is not None:
            flags = "".join(
                f" --{name} {_quoted(value)}"
                for name, value in (("input", input_device), ("output", output_device))
                if value is not None
            )
            click.echo(dialog.line("devices.try_it", flags=flags))
        else:
            click.echo(dialog.line("devices.how_to_choose"))
    except AssistantError as exc:
        fail(exc)


def _quoted(value: str) -> str:
    return shlex.quote(value)
