"""Give the C heap's freed memory back to the system (glibc only; elsewhere nothing).

Why: what onnxruntime (the natural voice) allocates and frees in C stays in the
process's resident memory under glibc's malloc, which keeps freed pages and gives each
thread an arena of its own (up to eight per core). Python's own objects are 28 MB of
the program's ~200 MB (tracemalloc, in the room); the rest is native. The renderer
gives back after each line; `start` limits the arenas before its threads start
(quick room runs with the natural voice: 374-389 MB with the recognizer's process
before, 378 with two arenas).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

_M_ARENA_MAX = -8
"""glibc's mallopt parameter for the most arenas threads share."""


@functools.cache
def _glibc() -> Any:
    """glibc, or None (musl, macOS, Windows: their allocators are left alone)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
        libc.malloc_trim  # noqa: B018
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas for the threads started from now on (glibc's
    default is eight per core, each holding on to what its thread freed)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)


def give_back() -> None:
    """Return whole free pages of every arena to the system (about a millisecond)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
