"""The bad-input table: each input `advisor diagnose` cannot use ends in exit code 2 and one
line on stderr, never a traceback, and no file of the user's changes (compared by hash)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from advisor.cli import main
from tests.conftest import FIXTURES

BAD = FIXTURES / "scripts" / "bad"
SCRIPTS = FIXTURES / "scripts"
FAST = ("--no-fix", "--epochs", "2")


def file_hashes(*folders: Path) -> dict[Path, str]:
    """Every file under ``folders`` (caches aside) by its SHA-256."""
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shell's working folder, holding files of the user's that nothing may touch."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"the user's own model")
    (tmp_path / "curves.png").write_bytes(b"the user's own picture")
    return tmp_path


BAD_INPUTS = {
    # Keras' own refusals, in Keras' words.
    "cardinality": ([str(BAD / "cardinality_mismatch.py")], "Data cardinality is ambiguous"),
    "validation-split-0.999": (
        [str(BAD / "validation_split_all.py")],
        "not sufficient to split it into a validation and training set",
    ),
    "epochs-none": ([str(BAD / "epochs_none.py")], "epochs=None"),
    # Scripts that end or hide their fit in ways a plain run would not show.
    "fit-in-thread": ([str(BAD / "fit_in_thread.py")], "called in a thread"),
    "os-exit": ([str(BAD / "os_exit_before_fit.py")], "called os._exit(3) before calling"),
    "raises": ([str(BAD / "raises.py")], "raises.py:6: the script raised FileNotFoundError"),
    "no-fit": ([str(BAD / "no_fit.py")], "without calling model.fit()"),
    "syntax-error": ([str(BAD / "syntax_error.py")], "SyntaxError"),
    # Arguments of the advisor's own.
    "seed-negative": (["--seed", "-1", str(BAD / "no_fit.py")], "--seed must be"),
    "export-exists": (
        ["--export", "model.keras", str(BAD / "cardinality_mismatch.py")],
        "already exists",
    ),
    "export-unwritable": (
        ["--export", "/proc/advisor-test.keras", str(BAD / "cardinality_mismatch.py")],
        "cannot write in folder /proc",
    ),
    "export-into-a-file": (
        ["--export", "model.keras/fixed.keras", str(BAD / "cardinality_mismatch.py")],
        "model.keras is not a folder",
    ),
    "plot-exists": (
        ["--plot", "curves.png", *FAST, str(BAD / "cardinality_mismatch.py")],
        "already exists",
    ),
    "plot-unwritable": (
        ["--plot", "/proc/advisor-test.png", *FAST, str(BAD / "cardinality_mismatch.py")],
        "cannot write in folder /proc",
    ),
}


@pytest.mark.parametrize(("args", "expected"), list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_changes_no_file(
    user_folder: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    before = file_hashes(user_folder, SCRIPTS)
    options = [] if "--no-fix" in args or "--export" in args else list(FAST)
    code = main(["diagnose", *options, *args])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert file_hashes(user_folder, SCRIPTS) == before


def test_a_fit_in_a_thread_stops_the_script_before_it_runs_on(
    user_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagnose", *FAST, str(BAD / "fit_in_thread.py")]) == 2
    assert "(thread trainer)" in capsys.readouterr().err
    # The script's model.save after join() never ran.
    assert not (user_folder / "after_thread.keras").exists()


def test_a_script_writing_to_descriptor_1_does_not_break_the_json(
    capfd: pytest.CaptureFixture[str],
) -> None:
    code = main(["diagnose", "--format", "json", *FAST, str(BAD / "writes_stdout_fd.py")])
    out, err = capfd.readouterr()
    assert code in (0, 1)
    assert json.loads(out)["reports"]
    assert "written to fd 1 by the script" in err


def test_advise_refuses_what_keras_refuses() -> None:
    import numpy as np

    import advisor
    from tests.test_advise_api import compiled_model

    x = np.zeros((80, 2), dtype="float32")
    y = np.zeros(60, dtype="float32")
    with pytest.raises(advisor.AdvisorError, match="Data cardinality is ambiguous"):
        advisor.advise(compiled_model(), (x, y), epochs=1, progress=False)
    with pytest.raises(advisor.AdvisorError, match="validation_split"):
        advisor.advise(
            compiled_model(), (x, y[:1].repeat(80)), validation_split=0.999, progress=False
        )
    with pytest.raises(advisor.AdvisorError, match="seed must be"):
        advisor.advise(compiled_model(), (x, x[:, 0]), seed=-1, progress=False)


def test_label_encoder_fit_is_not_counted_as_a_second_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "train.py"
    shutil.copy(BAD / "tiny.py", tmp_path / "tiny.py")
    script.write_text(
        "from sklearn.preprocessing import LabelEncoder\n"
        "from tiny import compiled_model, x, y\n"
        "labels = LabelEncoder().fit(y).transform(y)\n"
        "encoder = LabelEncoder()\n"
        "encoder.fit(y)\n"
        "model = compiled_model()\n"
        "model.fit(x, labels, epochs=2, validation_split=0.25, verbose=0)\n"
    )
    assert main(["diagnose", "--format", "json", *FAST, str(script)]) in (0, 1)
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert not any("more than once" in note for note in report["notes"])


def test_a_relative_export_is_saved_where_the_shell_was_not_where_the_script_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shell, elsewhere = tmp_path / "shell", tmp_path / "elsewhere"
    shell.mkdir()
    elsewhere.mkdir()
    (elsewhere / "fixed.keras").write_bytes(b"the user's model in the script's folder")
    monkeypatch.chdir(shell)
    script = str(BAD / "chdir_before_fit.py")
    code = main(
        ["diagnose", "--epochs", "2", "--export", "fixed.keras", script, "--", str(elsewhere)]
    )
    err = capsys.readouterr().err
    assert code in (0, 1), err
    assert Path.cwd() == shell
    assert (elsewhere / "fixed.keras").read_bytes() == b"the user's model in the script's folder"
    assert (shell / "fixed.keras").is_file()
    assert f"saved the fixed model to {shell / 'fixed.keras'}" in err or "saved your plan" in err
    assert sorted(p.name for p in shell.iterdir()) == ["fixed.keras"]  # no temporary left


@pytest.mark.parametrize(
    ("save", "expected"),
    [(".", "is a folder"), ("model.keras", "already exists"), ("/proc/h.json", "cannot write")],
    ids=["folder", "existing-file", "unwritable"],
)
def test_monitor_refuses_a_save_path_it_cannot_use_when_it_is_made(
    user_folder: Path, save: str, expected: str
) -> None:
    import advisor

    before = file_hashes(user_folder)
    with pytest.raises(ValueError, match=expected):
        advisor.Monitor(save=save)
    assert file_hashes(user_folder) == before


def test_monitor_saves_where_it_was_made_and_never_over_a_file_that_appeared(
    user_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import advisor

    monkeypatch.syspath_prepend(str(BAD))
    from tiny import compiled_model, x, y

    first = advisor.Monitor(save="history.json", verbose=0)
    second = advisor.Monitor(save="history.json", verbose=0)
    (user_folder / "elsewhere").mkdir()
    monkeypatch.chdir(user_folder / "elsewhere")
    compiled_model().fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[first])
    saved = (user_folder / "history.json").read_bytes()
    assert json.loads(saved).keys() >= {"loss", "val_loss"}
    compiled_model().fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[second])
    assert "already exists" in capsys.readouterr().err
    assert (user_folder / "history.json").read_bytes() == saved
    assert list((user_folder / "elsewhere").iterdir()) == []


def test_an_export_that_fails_part_way_leaves_nothing_and_the_report_is_still_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    def disk_full(model: keras.Model, path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", disk_full)
    target = tmp_path / "fixed.keras"
    script = str(BAD / "chdir_before_fit.py")
    args = ["--epochs", "2", "--format", "json", "--export", str(target), script]
    code = main(["diagnose", *args, "--", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "No space left on device" in captured.err and "Traceback" not in captured.err
    assert json.loads(captured.out)["reports"]  # the diagnosis is not lost
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary
