"""The offline guard: put this folder on PYTHONPATH and every Python process started
with it (the program, and the recognizer's own process) records, then refuses, any
attempt to reach an internet address.

Python imports `sitecustomize` at start-up, before the program's own code. The audit
hook sees the socket calls that reach the network: connect, sendto and sendmsg on an
AF_INET or AF_INET6 socket, and every name or address lookup. Local IPC (AF_UNIX:
PulseAudio, the recognizer's socket pair) goes through untouched. A refused attempt
fails as on a machine without network (ENETUNREACH). Each line of the record file
(MASSAGE_OFFLINE_RECORD) is JSON: one "loaded" per process, one "attempt" per try.
Calls made by C libraries without Python's socket module are not seen here; a network
namespace (`unshare -n`) covers those.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from typing import Any

RECORD = os.environ.get("MASSAGE_OFFLINE_RECORD", "")
INTERNET = (socket.AF_INET, socket.AF_INET6)
SENDS = ("socket.connect", "socket.sendto", "socket.sendmsg")
LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
           "socket.getnameinfo")


def _command() -> list[str]:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return list(sys.argv)


def _write(entry: dict[str, Any]) -> None:
    line = (json.dumps({**entry, "pid": os.getpid()}, default=repr) + "\n").encode()
    fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in SENDS:
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in INTERNET:
            return
        target: Any = address
    elif event in LOOKUPS:
        target = args[0] if len(args) == 1 else list(args[:2])
    else:
        return
    _write({"kind": "attempt", "event": event, "target": target, "command": _command()})
    raise OSError(errno.ENETUNREACH, "refused by the offline guard (tests/offline_guard)")


if RECORD:
    _write({"kind": "loaded", "command": _command()})
    sys.addaudithook(_hook)
