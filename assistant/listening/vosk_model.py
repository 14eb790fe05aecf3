"""What a vosk model folder looks like, and where one is found.

Pathlib only, no vosk: choosing an engine (`engines`) must not import vosk, and the
vosk adapter checks a folder the same way before loading it. Both import this; neither
imports the other's module for it (they used to import each other).
"""

from __future__ import annotations

from pathlib import Path

MODEL_MARKERS = (Path("am") / "final.mdl", Path("conf") / "model.conf")
"""Files that only a vosk model folder has."""


def looks_like_model(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in MODEL_MARKERS)


def find_vosk_model(search_dirs: tuple[Path, ...]) -> Path | None:
    """The first search dir that is a vosk model, or holds one (subfolders in name order)."""
    for base in search_dirs:
        base = base.expanduser()
        if looks_like_model(base):
            return base
        if base.is_dir():
            for sub in sorted(p for p in base.iterdir() if p.is_dir()):
                if looks_like_model(sub):
                    return sub
    return None
