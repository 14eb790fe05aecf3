"""The echo canceller's capture: a session's barge-in decisions replay exactly offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import AssistantError
from assistant.listening.echo_capture import read_capture
from assistant.listening.echo_replay import replay
from tests.test_echo_canceller import MIC_BLOCK, RATE, Scene, cancel, dry_room, scene

__all__ = ["scene"]  # the module-scoped fixture, shared with the canceller's tests


def captured(scene: Scene, folder: Path) -> tuple[bytes, list[bool], Path]:
    """A session's worth: the user's stop over the assistant, a hold for nothing before;
    the canceller as the program builds it (comfort noise as by default)."""
    _, mic = dry_room(scene)
    mic = mic + scene.user[: len(mic)]
    path = folder / "echo_inputs.bin"
    speaking: list[bool] = []
    out, _, _ = cancel(scene.played, mic, suppress=False, speaking=speaking,
                       comfort=(-50.0, -70.0), relearn_at=(scene.user_span[0] / RATE - 2.0,),
                       capture=path)
    pcm = np.clip(np.round(out * 32768), -32768, 32767).astype("<i2").tobytes()
    return pcm, speaking, path


def test_a_replay_hears_and_notices_exactly_what_the_session_did(
    scene: Scene, tmp_path: Path
) -> None:
    heard, speaking, path = captured(scene, tmp_path)
    again = replay(path)
    assert b"".join(again.cleaned) == heard
    assert again.relearns == 1
    rose = [i for i in range(len(speaking)) if speaking[i] and (i == 0 or not speaking[i - 1])]
    assert rose, "the user's stop is noticed"
    assert again.onsets == [round((i + 1) * MIC_BLOCK / RATE, 2) for i in rose]


def test_a_capture_cut_short_replays_up_to_its_last_whole_block(
    scene: Scene, tmp_path: Path
) -> None:
    heard, _, path = captured(scene, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    again = replay(path)
    done = b"".join(again.cleaned)
    assert 0 < len(done) < len(heard)
    assert heard.startswith(done)


def test_a_file_that_is_not_a_capture_is_named(tmp_path: Path) -> None:
    wrong = tmp_path / "heard.wav"
    wrong.write_bytes(b"RIFF" + bytes(40))
    with pytest.raises(AssistantError, match=r"heard\.wav is not an echo canceller capture"):
        read_capture(wrong)


def test_a_damaged_record_is_named_not_skipped(scene: Scene, tmp_path: Path) -> None:
    _, _, path = captured(scene, tmp_path)
    data = bytearray(path.read_bytes())
    data[8 + 16] = ord("X")  # the first record's kind, after the magic and the header
    path.write_bytes(bytes(data))
    with pytest.raises(AssistantError, match=r"echo_inputs\.bin: no record of kind b'X'"):
        replay(path)
