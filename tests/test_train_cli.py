"""`lerax-tui train` / `eval` (README "Command line"): --json last line, bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lerax_tui.cli import main

TINY_SET = [
    "--set",
    "width_size=8",
    "--set",
    "depth=1",
    "--set",
    "num_envs=2",
    "--set",
    "buffer_size=128",
    "--set",
    "batch_size=8",
    "--set",
    "learning_starts=32",
    "--set",
    "train_frequency=2",
    "--set",
    "target_update_interval=32",
    "--set",
    "eval_episodes=2",
]


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_train_json_writes_a_checkpoint_that_inspect_and_eval_accept(tmp_path, capsys):
    from lerax_tui.core import verify

    code = main(["train", "CartPole-v1", "--steps", "256", "--runs-dir", str(tmp_path), "--json", *TINY_SET])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = _last_json(captured.out)
    for key in (
        "run_dir",
        "checkpoint",
        "checkpoints",
        "env_id",
        "env_steps",
        "wall_s",
        "compile_s",
        "sps",
        "eval_return_mean",
        "eval_return_per_seed",
    ):
        assert key in out
    assert out["env_id"] == "CartPole-v1" and out["env_steps"] == 256 and len(out["eval_return_per_seed"]) == 1
    assert out["sps"] > 0 and out["wall_s"] >= out["compile_s"] > 0
    assert "step 256/256" in captured.err and "sps" in captured.err  # progress on stderr
    assert verify(out["checkpoint"]).status == "ok"
    # CartPole's preset evaluates every 5,000 steps and at the last step: the best policy is kept
    assert out["best_steps"] == [256] and len(out["best_eval_return_per_seed"]) == 1
    assert Path(out["best_checkpoint"]).name == "best.eqx" and verify(out["best_checkpoint"]).status == "ok"
    assert "eval @ 256: greedy" in captured.err and "best policies (steps 256)" in captured.err

    assert main(["inspect", out["checkpoint"], "--json"]) == 0
    assert _last_json(capsys.readouterr().out)["status"] == "ok"

    assert main(["eval", out["checkpoint"], "--episodes", "3", "--json"]) == 0
    ev = _last_json(capsys.readouterr().out)
    assert ev["env_id"] == "CartPole-v1" and ev["episodes"] == 3 and len(ev["returns"]) == 3
    assert set(ev) >= {"checkpoint", "return_mean", "return_std"}

    # --resume to a longer run continues in the same folder
    code = main(["train", "CartPole-v1", "--resume", out["run_dir"], "--steps", "320", "--json"])
    resumed = _last_json(capsys.readouterr().out)
    assert code == 0 and resumed["run_dir"] == out["run_dir"] and resumed["env_steps"] == 320


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "Nope-v9"], "unknown environment 'Nope-v9'"),
        (["train", "Pendulum-v1"], "Pendulum-v1 is not supported"),
        (["train", "CartPole-v1", "--set", "colour=blue"], "colour: unknown hyperparameter"),
        (["train", "CartPole-v1", "--set", "gamma=2"], "gamma: 2.0 is out of range (allowed [0.0, 1.0])"),
        (["train", "CartPole-v1", "--set", "width_size=wide"], "width_size: 'wide' is not a whole number"),
        (["train", "CartPole-v1", "--set", "learning_rate"], "expected KEY=VALUE"),
        (["train", "CartPole-v1", "--steps", "0"], "total_timesteps: 0 is out of range"),
        (
            ["train", "CartPole-v1", "--set", "buffer_size=4", "--set", "batch_size=4"],
            "buffer_size: 4 is smaller than num_envs",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, message):
    runs_dir = tmp_path / "runs"
    assert main([*argv, "--runs-dir", str(runs_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not runs_dir.exists()


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["train", "CartPole-v1", "--resume", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_eval_of_a_missing_checkpoint_is_bad_input_exit_2(tmp_path, capsys):
    # A path that names no file is bad input (2); 1 is for a file that exists and is not a good checkpoint.
    assert main(["eval", str(tmp_path / "nothing.eqx")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
