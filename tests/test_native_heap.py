"""glibc's heap gives back what native code freed (the natural voice's onnxruntime runs)."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from pathlib import Path

import pytest

from assistant.adapters import native_heap


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_native_memory_goes_back_to_the_system() -> None:
    """100 MB in small blocks, all freed but the last (which pins the heap's top, so
    glibc cannot shrink it by itself): resident until `give_back`."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    blocks = []
    for _ in range(25_000):
        block = libc.malloc(4096)
        libc.memset(block, 1, 4096)
        blocks.append(block)
    for block in blocks[:-1]:
        libc.free(block)
    held = rss_mb()
    native_heap.give_back()
    given = rss_mb()
    libc.free(blocks[-1])
    assert held - given > 50, (held, given)
