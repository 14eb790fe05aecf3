"""scripts/download_model.py up to the network: file:// zips built here, never the real URL."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

dm = load_script("download_model")


def make_zip(path: Path, members: dict[str, bytes]) -> tuple[str, int]:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


MODEL = {
    "vosk-model-tiny/am/final.mdl": b"acoustic model",
    "vosk-model-tiny/conf/model.conf": b"--sample-frequency=16000\n",
    "vosk-model-tiny/graph/words.txt": b"stop 1\n",
}


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_the_defaults_are_the_known_small_english_model() -> None:
    assert dm.DEFAULT_URL.endswith("/vosk-model-small-en-us-0.15.zip")
    assert dm.EXPECTED_BYTES == 41_205_931
    assert len(dm.EXPECTED_SHA256) == 64
    assert dm.DEFAULT_DEST.name == "models"


def test_a_good_zip_is_checked_and_unpacked_into_place(tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-tiny.zip"
    sha, size = make_zip(archive, MODEL)
    dest = tmp_path / "models"
    code = dm.main(["--url", archive.as_uri(), "--dest", str(dest),
                    "--sha256", sha, "--size", str(size)])
    assert code == 0
    assert (dest / "vosk-model-tiny" / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert leftovers(dest) == ["vosk-model-tiny"]


def test_an_existing_model_is_not_fetched_again(tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-tiny.zip"
    make_zip(archive, MODEL)
    dest = tmp_path / "models"
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest)]) == 0
    archive.unlink()
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest)]) == 0


def test_a_checksum_mismatch_fails_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "vosk-model-tiny.zip"
    make_zip(archive, MODEL)
    dest = tmp_path / "models"
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest), "--sha256", "0" * 64]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_a_size_mismatch_fails_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "vosk-model-tiny.zip"
    _, size = make_zip(archive, MODEL)
    dest = tmp_path / "models"
    for wrong in (size + 10, size - 10):
        assert dm.main(["--url", archive.as_uri(), "--dest", str(dest), "--size", str(wrong)]) == 1
        assert "expected" in capsys.readouterr().err
        assert leftovers(dest) == []


def test_the_default_url_checks_the_known_size_and_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "vosk-model-small-en-us-0.15.zip"
    make_zip(archive, MODEL)
    monkeypatch.setattr(dm, "DEFAULT_URL", archive.as_uri())
    dest = tmp_path / "models"
    assert dm.main(["--dest", str(dest)]) == 1
    assert "expected 41205931" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_offline_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "models"
    code = dm.main(["--url", "http://127.0.0.1:9/vosk-model.zip", "--dest", str(dest)])
    assert code == 1
    assert "offline" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_a_missing_local_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    assert dm.main(["--url", (tmp_path / "nope.zip").as_uri(), "--dest", str(dest)]) == 1
    assert "could not reach" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_not_a_zip_fails_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "vosk-model-tiny.zip"
    fake.write_bytes(b"<html>proxy login page</html>")
    dest = tmp_path / "models"
    assert dm.main(["--url", fake.as_uri(), "--dest", str(dest)]) == 1
    assert "not a zip" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_a_zip_without_a_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "photos.zip"
    make_zip(archive, {"photos/cat.jpg": b"meow"})
    dest = tmp_path / "models"
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest)]) == 1
    assert "does not hold a vosk model" in capsys.readouterr().err
    assert leftovers(dest) == []


def test_unsafe_paths_in_the_zip_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    make_zip(archive, {**MODEL, "../../outside.txt": b"gotcha"})
    dest = tmp_path / "a" / "models"
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest)]) == 1
    assert leftovers(dest) == []
    assert not (tmp_path / "outside.txt").exists()


def test_force_replaces_an_existing_model(tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-tiny.zip"
    make_zip(archive, MODEL)
    dest = tmp_path / "models"
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest)]) == 0
    make_zip(archive, {**MODEL, "vosk-model-tiny/am/final.mdl": b"newer"})
    assert dm.main(["--url", archive.as_uri(), "--dest", str(dest), "--force"]) == 0
    assert (dest / "vosk-model-tiny" / "am" / "final.mdl").read_bytes() == b"newer"
    assert leftovers(dest) == ["vosk-model-tiny"]


def test_offline_hint_names_only_options_that_exist(tmp_path: Path) -> None:
    """The real `massage-assistant download-model`, kept off the network by a proxy that
    refuses: every option its hint suggests is one the named command has."""
    import os
    import re
    import subprocess
    import sys

    dest = tmp_path / "models"
    env = {**os.environ, "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}
    program = [sys.executable, "-m", "assistant"]
    proc = subprocess.run([*program, "download-model", "--dest", str(dest)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    hint = proc.stderr.strip().splitlines()[-1]
    assert "offline" in hint
    suggested = re.findall(r"`massage-assistant ([a-z-]+) ((?:--[a-z-]+ ?[A-Z]*\s*)+)`", hint)
    mentioned = set(re.findall(r"--[a-z-]+", hint))
    assert mentioned == {o for _, opts in suggested for o in re.findall(r"--[a-z-]+", opts)}
    for command, options in suggested:
        helped = subprocess.run([*program, command, "--help"], capture_output=True, text=True,
                                timeout=60).stdout
        for option in re.findall(r"--[a-z-]+", options):
            assert option in helped, f"{command} has no {option}"
    assert str(dest) in hint, "where to unzip it by hand"
