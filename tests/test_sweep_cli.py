"""`lerax-tui sweep`: bad grids are refused before anything exists; a tiny sweep writes ordinary run
folders that eval and train --resume take as they are; a diverging configuration fails alone; a
signal stops the sweep resumably and --resume finishes it. The end-to-end tests compile: slow."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support.configs import TINY

from lerax_tui.cli import main
from lerax_tui.core.pairs import verified_entry
from lerax_tui.train import runs
from lerax_tui.train.outcome import RunStatus, read_result
from lerax_tui.train.sweep_record import ConfigStatus, read_sweep

TINY_SET = [a for k, v in TINY.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--grid", "learnin_rate=1e-3"], "learnin_rate: unknown hyperparameter"),
        (["--grid", "learning_rate=fast,1e-3"], "learning_rate: 'fast' is not a number"),
        (["--grid", "gamma=0.9,1.5"], "gamma: 1.5 is out of range"),
        (["--grid", "gamma="], "gamma: empty list"),
        (["--grid", "gamma"], "--grid: 'gamma' is not KEY=VALUES"),
        (["--sample", "learning_rate=1e-4:1e-2:log"], "--sample needs --samples N"),
        (["--grid", "learning_rate=1e-3", "--set", "learning_rate=1e-2"], "is both fixed by --set and swept"),
        (
            ["--grid", "epsilon_start=1,0.01", "--set", "epsilon_end=0.05"],
            "epsilon_end: 0.05 is above epsilon_start 0.01 (configuration 1",
        ),
        (["--seeds", "0"], "--seeds: 0 is out of range"),
        (["--grid", "seed=1,2"], "seed: cannot be swept"),
    ],
)
def test_bad_grids_are_one_line_exit_2_and_make_nothing(tmp_path, capsys, extra, message):
    code = main(["sweep", "CartPole-v1", "--runs-dir", str(tmp_path / "runs"), *TINY_SET, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "runs").exists()


def test_more_agents_than_memory_holds_is_refused_before_a_folder(tmp_path, capsys):
    args = ["--set", "buffer_size=100000000", "--grid", "learning_rate=1e-3,1e-2", "--seeds", "1024"]
    code = main(["sweep", "CartPole-v1", "--runs-dir", str(tmp_path / "runs"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--seeds: 2048 agents (2 configuration(s) x 1024 seed(s)) in one program need" in err, err
    assert not (tmp_path / "runs").exists()


def test_unknown_env_and_bad_resume_folder(tmp_path, capsys):
    assert main(["sweep", "NoSuchEnv-v0", "--grid", "gamma=0.9"]) == 2
    assert "unknown environment 'NoSuchEnv-v0'" in capsys.readouterr().err
    assert main(["sweep", "CartPole-v1", "--resume", str(tmp_path)]) == 2
    assert "is not a sweep folder (no sweep.json in it)" in capsys.readouterr().err
    assert main(["sweep", "CartPole-v1", "--resume", str(tmp_path), "--seeds", "2"]) == 2
    assert "a resumed sweep keeps its configurations: drop --seeds" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_writes_ordinary_runs_and_a_diverging_configuration_fails_alone(tmp_path, capsys, monkeypatch):
    import equinox as eqx
    import jax.numpy as jnp

    from lerax_tui.train import sweep_engine

    def poisoned(env, configs):  # configuration 1 starts with an infinite weight: its first loss is not finite
        state = init_program(env, configs)
        weight = state.seeds.online.q_network.layers[0].weight
        return eqx.tree_at(lambda s: s.seeds.online.q_network.layers[0].weight, state, weight.at[2:].set(jnp.inf))

    init_program = sweep_engine.init_program
    monkeypatch.setattr(sweep_engine, "init_program", poisoned)
    runs_dir = tmp_path / "runs"
    grid = ["--grid", "learning_rate=1e-3,1e-2"]
    code = main(
        ["sweep", "CartPole-v1", "--steps", "512", "--seeds", "2", "--runs-dir", str(runs_dir), "--json"]
        + TINY_SET
        + ["--set", "eval_interval=256"]
        + grid
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert {"sweep_dir", "configs", "ranking", "programs", "wall_s", "compile_s", "sps"} <= set(out)
    assert out["programs"] == 1 and out["sps"] > 0 and out["ranking"] == [0, 1]
    good, bad = out["configs"]
    assert good["overrides"] == {"learning_rate": 1e-3} and good["status"] == "finished"
    assert bad["overrides"] == {"learning_rate": 1e-2}
    assert len(good["eval_return_per_seed"]) == 2 and good["eval_return_mean"] > 0
    assert good["best_eval_return_mean"] is not None
    assert bad["status"] == "failed" and "diverged" in bad["error"] and bad["eval_return_mean"] is None
    assert "configuration 1 failed: training diverged" in captured.err

    sweep_dir = Path(out["sweep_dir"])
    record = read_sweep(sweep_dir)
    assert [c.status for c in record.configs] == [ConfigStatus.FINISHED, ConfigStatus.FAILED]
    result = record.configs[0].result  # the final evaluation as --json reports it, with its spread (the app shows it)
    assert result is not None and result.eval_return_mean == good["eval_return_mean"]
    spread_of_means = float(np.std(result.eval_return_per_seed))  # pooled episodes spread at least as much
    assert result.eval_return_std is not None and result.eval_return_std >= spread_of_means - 1e-9
    member = sweep_dir / "config-000"
    saved = runs.read_run_config(member)
    assert saved.env_id == "CartPole-v1" and saved.num_seeds == 2 and saved.config["learning_rate"] == 1e-3
    names = {p.name for p in (member / "checkpoints").glob("*.eqx")}
    assert {"seed-0-final.eqx", "seed-1-final.eqx", "seed-0-best.eqx", "seed-1-best.eqx", "resume.eqx"} <= names
    assert runs.read_metrics(member)[-1].step == 512
    assert not (sweep_dir / "config-001" / "checkpoints" / "seed-0-final.eqx").exists()
    assert not (sweep_dir / ".lock").exists() and not (member / ".lock").exists()
    # each member's result.json, as a plain run's (the Runs table reads status and returns from it)
    done, failed = read_result(member), read_result(sweep_dir / "config-001")
    assert done is not None and done.status == RunStatus.FINISHED and done.step == 512
    assert done.final == pytest.approx(good["eval_return_per_seed"]) and len(done.best or ()) == 2
    assert failed is not None and failed.status == RunStatus.FAILED and "diverged" in (failed.error or "")

    # a member is a run like any other: eval reads its checkpoints, train --resume continues it
    assert main(["eval", str(member / "checkpoints" / "seed-1-final.eqx"), "--episodes", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["episodes"] == 2
    assert main(["train", "CartPole-v1", "--resume", str(member), "--steps", "576", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["env_steps"] == 576 and resumed["run_dir"] == str(member)


def _signal_when_training(root: Path, signum: int) -> None:
    def watch():  # compiling takes a while on a loaded machine: wait up to ten minutes
        for _ in range(60000):
            if any(p.stat().st_size > 0 for p in root.glob("*/*/metrics.jsonl")):
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()


@pytest.mark.slow
def test_a_signal_stops_the_sweep_resumably_and_resume_finishes_it(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    _signal_when_training(runs_dir, signal.SIGTERM)
    args = ["--grid", "gamma=0.9,0.99", "--grid", "n_step=1,2", "--steps", "20000", "--set", "eval_interval=0"]
    code = main(["sweep", "CartPole-v1", "--runs-dir", str(runs_dir), "--json", *TINY_SET, *args])
    captured = capsys.readouterr()
    assert code == 143, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["stopped_early"] and out["signal"] == "SIGTERM" and "Traceback" not in captured.err
    sweep_dir = Path(out["sweep_dir"])
    statuses = [c.status for c in read_sweep(sweep_dir).configs]
    # n_step is a shape key: two programs (n_step 1: configurations 0 and 2); the first was stopped,
    # the second never started
    assert statuses == [ConfigStatus.STOPPED, ConfigStatus.PENDING, ConfigStatus.STOPPED, ConfigStatus.PENDING]
    stopped_at = verified_entry(sweep_dir / "config-000" / "checkpoints" / "resume.eqx")[0]["step"]
    assert 0 < stopped_at < 20000
    assert f"--resume {sweep_dir}" in captured.err.strip().splitlines()[-1]
    ended = [read_result(sweep_dir / f"config-00{i}") for i in range(4)]
    assert [r.status if r else None for r in ended] == [RunStatus.STOPPED, None, RunStatus.STOPPED, None]

    code = main(["sweep", "CartPole-v1", "--resume", str(sweep_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["programs"] == 2 and [c["status"] for c in out["configs"]] == ["finished"] * 4
    assert f"from step {stopped_at:,}" in captured.err
    for i in range(4):
        steps = [r.step for r in runs.read_metrics(sweep_dir / f"config-00{i}")]
        assert steps == sorted(steps) and steps[-1] == 20000
        ended_again = read_result(sweep_dir / f"config-00{i}")
        assert ended_again is not None and ended_again.status == RunStatus.FINISHED and ended_again.step == 20000
