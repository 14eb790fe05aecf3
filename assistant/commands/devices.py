"""`massage-assistant devices`: list microphones and speakers, choose them, save the choice.

A choice is saved as the device's full name, not its number: numbers shift when a
device is plugged in, names do not.
"""

from __future__ import annotations

from pathlib import Path

from assistant.adapters.sounddevice_io import DeviceInfo, DeviceSpec, find_device, list_devices
from assistant.config_file import save_values
from assistant.errors import AssistantError, AudioUnavailable
from assistant.session.dialog import Dialog


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
