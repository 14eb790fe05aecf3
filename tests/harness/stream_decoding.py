"""The real-people streams of tests/test_hearing_streams.py, decoded early and gently.

Decoding them is the suite's largest piece of work (about 650 CPU-seconds), while the
room tests before it mostly wait on real-time sound. So `conftest.py` starts the decode
as soon as collection has chosen those tests, at the lowest CPU priority (nice 19: any
other test's work comes first), those tests run last, and the module's fixture collects
the result. Run alone, the fixture starts it itself and waits.

Layout of the work folder: `streams/` (../shared/audio/make_stream.py's output),
`cuts/`, `decoded.json` (written last, by rename) and `log.txt` (the runner's stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = "tests.test_hearing_streams"
"""The module whose `python -m` runs one decoding job (or, with `--all`, every one)."""
EARLY = pytest.StashKey[tuple["subprocess.Popen[bytes]", Path]]()
"""The decode conftest.py started, and its work folder."""
EARLY_NICE = 19
"""Behind every test of a suite at normal priority. A suite already niced (scripts/test.sh
runs the tests that need no real time at nice 10, the room tests apart) decodes at its
own priority: lower still, the decode waited behind the room tests while the tests that
need it waited for it."""
WAIT_S = 1800.0
"""Longest the fixture waits for a decode already running (it takes 4-5 minutes alone)."""


def start(work: Path, nice: int) -> subprocess.Popen[bytes]:
    """Every stream built and decoded in a process group of its own, at `nice`. Not a
    session of its own: where the kernel groups CPU time by session (autogroup), a new
    session would take an equal share with the whole suite, whatever its nice."""
    work.mkdir(parents=True, exist_ok=True)
    log = (work / "log.txt").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", RUNNER, "--all", str(work)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=log, process_group=0,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
    finally:
        log.close()


def collect(proc: subprocess.Popen[bytes], work: Path) -> dict[str, object]:
    """What `start` decoded, once it ends; its log's tail in the error if it failed."""
    try:
        code = proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError(f"decoding the streams took over {WAIT_S:.0f} s") from None
    log = (work / "log.txt").read_text(errors="replace")[-3000:]
    assert code == 0, f"decoding the streams failed ({code}):\n{log}"
    found: dict[str, object] = json.loads((work / "decoded.json").read_text())
    return found


def stop(proc: subprocess.Popen[bytes]) -> None:
    """The runner and the jobs it started, ended (a suite cut short leaves none behind)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def decode_all(work: Path, jobs: list[str], build: Callable[[Path], None]) -> None:
    """The `--all` runner: the streams built, then each job in a process of its own, two
    at a time (one per core). Not multiprocessing: its resource tracker would outlive the
    pool (tests/test_recognizer_process.py looks for one)."""
    streams = work / "streams"
    build(streams)
    cuts = work / "cuts"

    def run(job: str) -> object:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", RUNNER, job, str(streams), str(cuts / job.replace("/", "-"))],
            capture_output=True, text=True, check=False, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"job {job} failed:\n{done.stderr[-2000:]}")
        print(f"{job}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        return json.loads(done.stdout)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(run, jobs), strict=True))
    partial = work / "decoded.json.part"
    partial.write_text(json.dumps(results))
    partial.rename(work / "decoded.json")


def start_early(session: pytest.Session, shared: Path) -> None:
    """From conftest.py: the decode started now, niced, when the run holds a test that
    needs it and ../shared is there (else the fixture skips as it always did)."""
    wanted = any(item.path.name == "test_hearing_streams.py"
                 and "decoded" in getattr(item, "fixturenames", ()) for item in session.items)
    if wanted and shared.is_dir():
        work = Path(tempfile.mkdtemp(prefix="hearing-streams-"))
        nice = EARLY_NICE if os.nice(0) == 0 else 0
        session.config.stash[EARLY] = (start(work, nice=nice), work)


def last(items: list[pytest.Item]) -> None:
    """The tests that need the decode moved to the end of the run (in their order), so
    every other test runs while it decodes."""
    items.sort(key=lambda item: item.path.name == "test_hearing_streams.py")


def end_early(session: pytest.Session) -> None:
    early = session.config.stash.get(EARLY, None)
    if early is not None:
        stop(early[0])
        shutil.rmtree(early[1], ignore_errors=True)
