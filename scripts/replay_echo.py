"""Replay a session's echo canceller from the capture `--save-audio DIR` keeps.

Prints where the user was noticed over the assistant (the listener holds the line
there), with the session's own barge-ins beside them when DIR's events are given,
and the canceller's figures. Run it on the code as it was to see the session's own
decisions, and again after a change to see what the change would have done.

    .venv/bin/python scripts/replay_echo.py DIR/echo_inputs.bin
    .venv/bin/python scripts/replay_echo.py DIR/echo_inputs.bin --events events.jsonl \\
        --cleaned heard_again.wav
"""

from __future__ import annotations

import argparse
import json
import sys
import wave
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.errors import AssistantError  # noqa: E402
from assistant.listening.echo_replay import replay  # noqa: E402


def session_barge_ins(events: Path) -> list[tuple[float, str]]:
    """(seconds into the microphone stream, how it ended) of each barge-in in the log."""
    found: list[tuple[float, str]] = []
    with events.open() as lines:
        for line in lines:
            event = json.loads(line)
            if event["type"] == "barge_in":
                found.append((float(event["at"]), "command"))
            elif event["type"] == "barge_in_end" and found:
                found[-1] = (found[-1][0], str(event["why"]))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", type=Path, help="echo_inputs.bin from --save-audio")
    ap.add_argument("--events", type=Path, help="the session's --events file, to compare")
    ap.add_argument("--cleaned", type=Path, help="write what the recognizer hears (WAV)")
    args = ap.parse_args(argv)
    try:
        result = replay(args.capture)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"noticed over the assistant ({len(result.onsets)}): "
          + " ".join(f"{t:.2f}" for t in result.onsets))
    if args.events is not None:
        theirs = session_barge_ins(args.events)
        print(f"the session's barge-ins ({len(theirs)}): "
              + " ".join(f"{t:.2f}({why})" for t, why in theirs))
    print(f"re-measurements asked: {result.relearns}")
    print(result.canceller.stats)
    if args.cleaned is not None:
        with wave.open(str(args.cleaned), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(result.canceller.rate)
            out.writeframes(b"".join(result.cleaned))
    return 0


if __name__ == "__main__":
    sys.exit(main())
