"""Hostile command lines (issue 11): one line on stderr and the README's exit status, never a traceback.

0 ok, 1 a checkpoint problem (a file that exists and cannot be trusted), 2 bad usage or bad input
(including a path that names no readable file). Calls ``main`` in-process, so the classes of input
are covered without a subprocess each; ``bench/hostile_inputs.py`` runs 179 of them as real processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lerax_tui.cli import main


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def odd(tmp_path) -> dict[str, Path]:
    (tmp_path / "a-file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    return {
        "file": tmp_path / "a-file",
        "fifo": tmp_path / "fifo",
        "folder": tmp_path / "folder",
        "long": tmp_path / ("x" * 300),
    }


@pytest.mark.parametrize(
    "where, message",
    [
        ("file", "is not a folder"),
        ("under-file", "which is not a folder"),
        ("/dev/null", "character device"),
        ("fifo", "FIFO"),
        ("long", "too long"),
    ],
)
def test_a_runs_dir_that_cannot_hold_runs_is_exit_2(tmp_path, odd, capsys, where, message):
    """Before: tracebacks (exit 1) for --runs-dir a file, under a file, /dev/null, a 300-char name."""
    runs_dir = {"under-file": odd["file"] / "runs", "/dev/null": Path("/dev/null")}.get(where) or odd[where]
    assert main(["train", "CartPole-v1", "--steps", "64", "--runs-dir", str(runs_dir)]) == 2
    assert message in one_line(capsys)
    assert main(["--runs-dir", str(runs_dir)]) == 2  # the app refuses it before opening
    assert message in one_line(capsys)


def test_a_run_folder_that_cannot_be_created_is_exit_2(capsys):
    """/sys does not let anyone (root included) create a folder: the OSError becomes one line."""
    assert main(["train", "CartPole-v1", "--steps", "64", "--runs-dir", "/sys/lerax-tui-runs"]) == 2
    line = one_line(capsys)
    assert "cannot create a run folder" in line or "not writable" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "{ok}", "--seed", str(2**63)], "--seed: 9223372036854775808 is out of range"),
        (["eval", "{ok}", "--seed", "-1"], "--seed: -1 is out of range"),
        (["eval", "{ok}", "--episodes", str(10**9)], "--episodes: 1000000000 is out of range"),
        (["eval", "{ok}", "--episodes", "0"], "--episodes: 0 is out of range"),
        (["inspect", "{ok}", "--set", "depth=-1"], "depth: -1 is out of range"),
        (["inspect", "{ok}", "--set", "width_size=0"], "width_size: 0 is out of range"),
        (["inspect", "{ok}", "--set", "epsilon=nan"], "epsilon: nan is not finite"),
        (["inspect", "{ok}", "--set", "=3"], "expected KEY=VALUE"),
        (["inspect", "{ok}", "--env", "Nope-v0"], "unknown environment"),
        (["inspect", "{ok}", "--env", "Pendulum-v1"], "not supported"),
        (["train", "CartPole-v1", "--seed", str(2**63)], "seed: 9223372036854775808 is out of range"),
        (
            ["train", "CartPole-v1", "--set", "seed=99999999999999999999999"],
            "seed: 99999999999999999999999 is out of range",
        ),
        (["train", "CartPole-v1", "--set", "width_size=1e400"], "width_size"),
        (["eval", ""], "empty path"),
        (["export", "", "--format", "lerax", "-o", "out"], "empty path"),
        (["export", "{ok}", "--format", "lerax", "-o", ""], "empty path"),
    ],
)
def test_numbers_and_names_out_of_range_are_exit_2(saved_checkpoint, capsys, argv, message):
    """Before: `eval --seed 2**63` and `inspect --set depth=-1` were tracebacks."""
    argv = [a.replace("{ok}", str(saved_checkpoint)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    assert code == 2
    assert message in one_line(capsys)


@pytest.mark.parametrize(
    "kind", ["missing", "missing-no-suffix", "folder", "run-folder", "fifo", "/dev/null", "/dev/zero", "loop"]
)
def test_a_path_that_names_no_readable_file_is_exit_2_for_eval_and_inspect(tmp_path, odd, capsys, kind):
    """Before: eval/inspect on a FIFO hung; `eval DIR` said "DIR.eqx does not exist" (exit 1)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (tmp_path / "loop.eqx").symlink_to(tmp_path / "loop.eqx")
    path = {
        "missing": tmp_path / "nothing.eqx",
        "missing-no-suffix": tmp_path / "nothing",
        "folder": odd["folder"],
        "run-folder": run,
        "fifo": odd["fifo"],
        "/dev/null": Path("/dev/null"),
        "/dev/zero": Path("/dev/zero"),
        "loop": tmp_path / "loop.eqx",
    }[kind]
    expected = {
        "missing": "does not exist",
        "missing-no-suffix": "does not exist",
        "folder": "is a folder, not a checkpoint",
        "run-folder": "checkpoints/final.eqx",
        "fifo": "FIFO",
        "/dev/null": "character device",
        "/dev/zero": "character device",
        "loop": "symbolic link loop",
    }[kind]
    assert main(["eval", str(path)]) == 2
    line = one_line(capsys)
    assert expected in line and f"{path}.eqx" not in line
    assert main(["inspect", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])  # --json still prints the report
    assert report["status"] in ("missing", "not-a-checkpoint") and expected in captured.err


def test_a_file_that_is_not_a_checkpoint_is_exit_1(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.eqx").write_bytes(b"")
    for name in ("notes.txt", "empty.eqx"):
        assert main(["eval", str(tmp_path / name)]) == 1
        assert f"{name}: " in one_line(capsys)  # its status: not-a-checkpoint, truncated...


@pytest.mark.parametrize(
    "config, message",
    [
        ([], "holds a list"),
        ({"env_id": "CartPole-v1"}, "config is missing"),
        ({"env_id": ["CartPole-v1"], "config": {}}, "env_id is a list"),
        ({"env_id": "CartPole-v1", "config": {"width_size": "wide"}}, "width_size"),
        (
            {"env_id": "CartPole-v1", "config": {}, "env_params_overrides": {"max_steps_in_episode": 2_000_000_000}},
            "max_steps_in_episode",
        ),
        ("deep", "nested deeper"),
        ("fifo", "FIFO"),
    ],
)
def test_resume_on_a_broken_config_json_is_exit_2(tmp_path, capsys, config, message):
    """Before: `--resume` on a config.json without "config" or that is a list was a traceback."""
    run = tmp_path / "CartPole-v1-20260101-000000-abcdef"
    (run / "checkpoints").mkdir(parents=True)
    if config == "fifo":
        os.mkfifo(run / "config.json")
    else:
        (run / "config.json").write_text("[" * 100_000 + "]" * 100_000 if config == "deep" else json.dumps(config))
    assert main(["train", "CartPole-v1", "--resume", str(run)]) == 2
    assert message in one_line(capsys)


def test_the_app_refuses_what_it_cannot_open_before_opening(tmp_path, odd, capsys):
    assert main(["--env", "Nope-v0", "--runs-dir", str(tmp_path)]) == 2
    assert "unknown environment" in one_line(capsys)
    for path, message in ((tmp_path / "nothing", "does not exist"), (odd["fifo"], "FIFO"), (odd["file"], "not a .eqx")):
        assert main(["--checkpoints", str(path), "--runs-dir", str(tmp_path)]) == 2
        assert message in one_line(capsys)


def test_an_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    """The last-resort net in main(); every known input has its own message before it."""
    from lerax_tui import cli

    def boom(args):
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(cli, "cmd_envs", boom)
    assert main(["envs"]) == 1
    assert "unexpected RuntimeError: something unforeseen" in one_line(capsys)
