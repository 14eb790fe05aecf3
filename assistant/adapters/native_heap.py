"""Give the C heap's freed memory back to the system (glibc only; elsewhere nothing).

Why: what onnxruntime (the natural voice) allocates and frees in C stays in the
process's resident memory under glibc's malloc, which keeps freed pages. Python's own
objects are 28 MB of the program's ~200 MB (tracemalloc, in the room); the rest is
native. The renderer gives back after each line. Tried and left out: two malloc arenas
for the whole program (`mallopt`), 378 MB against 374-389 in quick room runs, but in a
20-minute soak memory grew 42 MB where the soak before had grown 9 (likely: in arenas
shared between threads, long-lived objects pin pages the renderer freed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


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
    except (OSError, AttributeError):
        return None
    return libc


def give_back() -> None:
    """Return whole free pages of every arena to the system (about a millisecond)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
