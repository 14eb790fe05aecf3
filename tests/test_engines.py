"""Engine choice: explicit model > environment > search folders > pocketsphinx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import ModelMissing
from assistant.listening.engines import choose_engine, describe_engine
from assistant.listening.vosk_model import find_vosk_model
from assistant.settings import ListenSettings


def fake_model(path: Path) -> Path:
    (path / "am").mkdir(parents=True)
    (path / "am" / "final.mdl").write_bytes(b"x")
    return path


def test_explicit_model_beats_environment_and_search(tmp_path: Path) -> None:
    found = fake_model(tmp_path / "models" / "vosk-a")
    explicit, env = tmp_path / "mine", tmp_path / "env"
    settings = ListenSettings(model_path=explicit, search_dirs=(found.parent,))
    assert choose_engine(settings, env).model_path == explicit
    settings = ListenSettings(search_dirs=(found.parent,))
    assert choose_engine(settings, env).model_path == env
    choice = choose_engine(settings, None)
    assert (choice.name, choice.model_path, choice.better_available) == ("vosk", found, False)


def test_search_takes_the_first_folder_that_looks_like_a_model(tmp_path: Path) -> None:
    (tmp_path / "models" / "aaa-not-a-model").mkdir(parents=True)
    second = fake_model(tmp_path / "models" / "vosk-b")
    fake_model(tmp_path / "models" / "vosk-c")
    assert find_vosk_model((tmp_path / "empty", tmp_path / "models")) == second
    conf_only = tmp_path / "other" / "m"
    (conf_only / "conf").mkdir(parents=True)
    (conf_only / "conf" / "model.conf").write_text("")
    assert find_vosk_model((conf_only,)) == conf_only


def test_auto_without_a_model_falls_back_to_pocketsphinx(tmp_path: Path) -> None:
    choice = describe_engine(ListenSettings(search_dirs=(tmp_path,)), None)
    assert (choice.name, choice.model_path, choice.better_available) == (
        "pocketsphinx", None, True)


def test_vosk_required_without_a_model_names_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="massage-assistant download-model"):
        choose_engine(ListenSettings(engine="vosk", search_dirs=(tmp_path,)), None)


def test_pocketsphinx_chosen_says_whether_vosk_would_be_better(tmp_path: Path) -> None:
    settings = ListenSettings(engine="pocketsphinx", search_dirs=(tmp_path,))
    assert not choose_engine(settings, None).better_available
    fake_model(tmp_path / "vosk-model")
    assert choose_engine(settings, None).better_available


def test_choosing_an_engine_does_not_load_vosk(tmp_path: Path) -> None:
    """Importing vosk costs each process 19.5 MB (it brings requests, ssl and tqdm); the
    program and the pocketsphinx recognizer's process only look for a model folder."""
    fake_model(tmp_path / "models" / "vosk-a")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from assistant.listening.engines import choose_engine\n"
        "from assistant.settings import ListenSettings\n"
        f"found = choose_engine(ListenSettings(search_dirs=(Path({str(tmp_path / 'models')!r}),"
        " Path('/nonexistent'))), None)\n"
        "print(found.name, 'vosk' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["vosk", "False"]
