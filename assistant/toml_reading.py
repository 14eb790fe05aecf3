"""Reading TOML files a user may have written or damaged: every mistake is one line.

tomllib raises RecursionError on deeply nested arrays or tables (a few hundred levels),
and a file saved in another encoding fails to decode: both would otherwise end in a
traceback instead of the loader's own error naming the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError


def read_text(path: Path, error: type[AssistantError], what: str) -> str:
    """The file's text; `error` naming the file when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_toml(text: str, source: str, error: type[AssistantError]) -> dict[str, Any]:
    """The TOML document in `text`; `error` naming `source` when it is not valid."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{source}: not valid TOML: arrays or tables nested too deeply") from None
