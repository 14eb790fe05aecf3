"""Offline, proven: the real program's commands and a spoken session reach for no network.

Every Python process of the program runs with tests/offline_guard on PYTHONPATH: its
audit hook records (and refuses) any attempt to reach an internet address, while local
IPC (AF_UNIX: PulseAudio, the recognizer's socket pair) stays allowed. Where `unshare -n`
is allowed, the commands also run in a network namespace of their own, with no network
at all (only a loopback that is down), which C libraries cannot get around either.
Controls show that both really work. Only `download-model` may reach out: not run here.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.session.dialog import load_dialog
from tests.harness.live_session import LiveSession
from tests.harness.room import Room
from tests.harness.speech_samples import RATE, require_espeak, synthesize

GUARD = Path(__file__).parent / "offline_guard"
PROGRAM = [sys.executable, "-m", "assistant"]
TEST_NET = ("192.0.2.1", 9)
"""RFC 5737's documentation address: routed nowhere, so even a guard that failed could
reach no one."""


class Guard:
    """The offline guard's record for one test: which processes loaded it, what it refused."""

    def __init__(self, folder: Path) -> None:
        self.record = folder / "network.jsonl"

    def env(self, **more: str) -> dict[str, str]:
        """The environment of a guarded process (the test's own, plus `more`)."""
        paths = [str(GUARD), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(paths),
                "MASSAGE_OFFLINE_RECORD": str(self.record), **more}

    def entries(self, kind: str) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text().splitlines()
        return [e for e in map(json.loads, lines) if e["kind"] == kind]

    def attempts(self) -> list[tuple[str, Any]]:
        return [(e["event"], e["target"]) for e in self.entries("attempt")]


@functools.cache
def no_network_prefix() -> tuple[tuple[str, ...], str]:
    """The command that runs a program with no network at all, and why there is none
    when it is refused (no unshare, or no permission for a namespace)."""
    reasons = []
    for prefix in (("unshare", "-n"), ("unshare", "-r", "-n")):
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=10)
        except OSError as exc:
            return (), f"unshare cannot run: {exc}"
        if done.returncode == 0:
            return prefix, ""
        reasons.append(f"`{' '.join(prefix)}`: {done.stderr.strip()}")
    return (), "; ".join(reasons)


def run(
    guard: Guard, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """The real program, guarded and (where allowed) in a namespace without network."""
    prefix, _ = no_network_prefix()
    proc = subprocess.run([*prefix, *PROGRAM, *args], env=guard.env(**env), input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: {proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_the_guard_records_and_refuses_internet_and_lets_local_ipc_through(
    tmp_path: Path,
) -> None:
    """The control: a deliberate connection, lookup and datagram are caught and refused;
    a socket pair and a unix socket (how PulseAudio and the recognizer talk) are not."""
    guard = Guard(tmp_path)
    script = f"""
import socket
address = {TEST_NET!r}
outcomes = []
def attempt(name, call):
    try:
        call()
        outcomes.append(name + " reached")
    except OSError as exc:
        outcomes.append(name + " refused " + str(exc.errno))
attempt("create_connection", lambda: socket.create_connection(address, timeout=0.2))
plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
plain.settimeout(0.2)
attempt("connect", lambda: plain.connect(address))
datagram = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
attempt("sendto", lambda: datagram.sendto(b"x", ("2001:db8::1", 9)))
ours, theirs = socket.socketpair()
ours.sendall(b"pair")
server = socket.socket(socket.AF_UNIX)
server.bind({str(tmp_path / "local.sock")!r})
server.listen()
client = socket.socket(socket.AF_UNIX)
client.connect({str(tmp_path / "local.sock")!r})
client.sendall(b"unix")
print(" | ".join(outcomes), theirs.recv(4).decode(), server.accept()[0].recv(4).decode())
"""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], env=guard.env(), capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "create_connection", "refused", "101", "|", "connect", "refused", "101", "|",
        "sendto", "refused", "101", "pair", "unix",
    ]
    assert time.monotonic() - started < 10, "refused at once, no time-out waited for"
    assert guard.attempts() == [
        ("socket.getaddrinfo", list(TEST_NET)),
        ("socket.connect", list(TEST_NET)),
        ("socket.sendto", ["2001:db8::1", 9]),
    ]
    assert len(guard.entries("loaded")) == 1


def test_a_namespace_without_network_has_none() -> None:
    """The control for `unshare -n`: inside, only a loopback that is down."""
    prefix, refused = no_network_prefix()
    if not prefix:
        pytest.skip(f"no network namespace here ({refused}); the commands ran under the "
                    "offline guard alone")
    script = f"""
import socket
names = [name for _, name in socket.if_nameindex()]
try:
    socket.create_connection({TEST_NET!r}, timeout=0.2)
    print(names, "reached")
except OSError as exc:
    print(names, exc.errno)
"""
    done = subprocess.run([*prefix, sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['lo'] 101", "no interface but lo; network unreachable"


def test_commands_reach_for_no_network(tmp_path: Path) -> None:
    """config --init, config, routines, say --out, recognize (on what say wrote),
    voices, history, and a whole session in keyboard mode."""
    require_espeak()
    guard = Guard(tmp_path)
    fresh = str(tmp_path / "fresh-home")
    run(guard, "config", "--init", MASSAGE_ASSISTANT_HOME=fresh)
    assert (Path(fresh) / "config.toml").is_file()
    run(guard, "config", MASSAGE_ASSISTANT_HOME=fresh)
    run(guard, "routines")
    wav = tmp_path / "stop.wav"
    run(guard, "say", "Stop.", "--out", str(wav))
    assert wav.stat().st_size > 1000
    run(guard, "recognize", str(wav))
    assert run(guard, "voices").stdout.strip(), "at least one voice"
    run(guard, "history")
    session = run(guard, "start", "--routine", "quick", "--text", "--time-scale", "0.005")
    assert session.stdout.strip(), "the session's lines were printed"
    assert guard.attempts() == [], "no process tried to reach the network"
    assert len(guard.entries("loaded")) >= 8, "every command ran with the guard"


def acted_on(intent: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "command" and e["intent"] == intent and e["accepted"]


def test_a_spoken_session_reaches_for_no_network(room: Room, tmp_path: Path) -> None:
    """A session in the virtual room: speech out, the microphone in, the recognizer's
    own process, the stop spotter and classifier. The user stops it by voice (the word
    heard best) and ends it with a typed "end session" (certain; typing is no network
    path). Nothing but the room's unix socket and the recognizer's socket pair."""
    guard = Guard(tmp_path)
    prefix, _ = no_network_prefix()
    # Spoken fast (the network is what is tested): the first pause in its talk comes sooner.
    live = LiveSession(room, tmp_path, "--routine", "quick", "--time-scale", "0.05",
                       "--rate", "300", "--no-chimes",
                       env={k: v for k, v in guard.env().items()
                            if k in ("PYTHONPATH", "MASSAGE_OFFLINE_RECORD")},
                       prefix=prefix)
    try:
        with room.record() as rec:
            live.wait_for(lambda e: e["type"] == "step", 90)  # the first, "settle"
            for attempt in (1, 2, 3):  # as people do, said again when unheard
                live.wait_quiet(rec)
                mark = len(live.events())
                live.say("stop")
                try:
                    live.wait_for(acted_on("stop"), 10, after=mark)
                    break
                except AssertionError:
                    if attempt == 3:
                        raise
            assert live.proc.stdin is not None  # typed: ending is not what is tested
            live.proc.stdin.write("end session\n")
            live.proc.stdin.flush()
            assert live.finish(60) == 0, live.stderr()[-1500:]
    finally:
        live.close()
    assert [e for e in live.events() if e["type"] == "say"], "the assistant spoke"
    heard = live.accepted()
    assert ("stop", "voice") in heard and heard[-1] == ("end_session", "text"), heard
    assert guard.attempts() == [], "no process tried to reach the network"
    commands = [" ".join(e["command"]) for e in guard.entries("loaded")]
    assert any("recognizer_process" in c for c in commands), (
        "the recognizer's own process ran with the guard too", commands)


def test_the_sound_check_reaches_for_no_network(room: Room, tmp_path: Path) -> None:
    """`check` in the room: the test line played, "stop" listened for and said (espeak,
    as in tests/test_check.py), guarded and without network."""
    require_espeak()
    guard = Guard(tmp_path)
    prefix, _ = no_network_prefix()
    stop = synthesize("stop", voice="en-us", rate=150).astype(np.float32) / 32768.0 * 0.8
    listening = load_dialog().line("check.listening", seconds=8)
    env = guard.env(**room.pulse_env, MASSAGE_ASSISTANT_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([*prefix, *PROGRAM, "check"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("yes\n")
    proc.stdin.flush()
    said = 0
    try:
        for line in proc.stdout:
            if line.rstrip("\n") == listening:
                time.sleep(0.7)  # a person's reaction
                room.play(stop, sample_rate=RATE)
                said += 1
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()
    assert said >= 1, "the check listened for a stop"
    assert guard.attempts() == [], "no process tried to reach the network"
    assert guard.entries("loaded"), "the check ran with the guard"
