"""`massage-assistant download-model`: runs the project's scripts/download_model.py, so it
works from a project checkout only."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from assistant.commands.common import fail
from assistant.errors import AssistantError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "download_model.py"


def run(dest: Path) -> None:
    """The script, as if run with `--dest dest` (it gets its own argv)."""
    script = SCRIPT
    if not script.exists():
        fail(AssistantError(f"{script} is missing: download-model works from a project checkout"))
    sys.argv = [str(script), "--dest", str(dest)]
    runpy.run_path(str(script), run_name="__main__")
