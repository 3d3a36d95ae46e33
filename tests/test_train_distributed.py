"""``train --distributed``: two processes on localhost, two forced CPU devices each, one 4-device mesh.

Each test launches real ``lerax-tui`` processes (JAX compiles in them); they share the persistent
compilation cache, so a launch after the first of its configuration compiles little.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.configs import TINY

# No epsilon decay, and runs long enough for the largest chunk (4096 iterations): every launch
# here, whatever its --steps, then runs one compiled chunk, compiled once into the persistent cache.
SETTINGS = {**TINY, "exploration_fraction": 0.0}
TINY_SET = [a for k, v in SETTINGS.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]
STEPS, MORE_STEPS = 8192, 12288
WAIT_S = 240  # a hang guard for the subprocesses, not a speed requirement


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
    return dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _launch(logs: Path, args: list[str]) -> list[subprocess.Popen]:
    """Two processes running the same ``train`` command, stdout/stderr in ``logs``."""
    port, procs = _port(), []
    logs.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        cluster = [
            "--distributed",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(i),
        ]
        with open(logs / f"{i}.out", "w") as out, open(logs / f"{i}.err", "w") as err:  # the child keeps its copies
            command = [sys.executable, "-m", "lerax_tui", "train", "CartPole-v1", *args, *cluster]
            procs.append(subprocess.Popen(command, env=_env(2), stdout=out, stderr=err))
    return procs


def _wait(procs: list[subprocess.Popen], logs: Path) -> list[int]:
    try:
        codes = [p.wait(timeout=WAIT_S) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return codes


def _log(logs: Path, i: int) -> str:
    return (logs / f"{i}.err").read_text()[-3000:]


def _summary(logs: Path) -> dict:
    return json.loads((logs / "0.out").read_text().strip().splitlines()[-1])


def _steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _episodes(run_dir: Path) -> list[list[float]]:
    """Every seed's episode returns over the whole run, in order (chunk boundaries aside)."""
    per_seed: list[list[float]] = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        returns = json.loads(line)["episode_returns"]
        per_seed = per_seed or [[] for _ in returns]
        for s, r in enumerate(returns):
            per_seed[s] += r
    return per_seed


def _verified(path: Path) -> int:
    """The step of a policy checkpoint that loads and verifies."""
    from lerax_tui.core.verification import load_checkpoint

    _, report = load_checkpoint(path)
    assert report.manifest is not None
    return report.manifest.step


@pytest.mark.slow
def test_two_processes_train_like_one_and_resume(tmp_path):
    ref = subprocess.run(
        [sys.executable, "-m", "lerax_tui", "train", "CartPole-v1", "--seeds", "4", "--steps", str(STEPS)]
        + [*TINY_SET, "--runs-dir", str(tmp_path / "ref"), "--json"],
        env=_env(4),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert ref.returncode == 0, ref.stderr[-3000:]
    ref_dir = Path(json.loads(ref.stdout.strip().splitlines()[-1])["run_dir"])

    logs = tmp_path / "logs"
    args = ["--seeds", "4", "--steps", str(STEPS), *TINY_SET, "--runs-dir", str(tmp_path / "runs"), "--json"]
    codes = _wait(_launch(logs, args), logs)
    assert codes == [0, 0], _log(logs, 0) + _log(logs, 1)
    run_dir = Path(_summary(logs)["run_dir"])
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name]  # one folder for both

    folder = run_dir / "checkpoints"
    assert sorted(p.name for p in folder.glob("seed-*-final.eqx")) == [f"seed-{s}-final.eqx" for s in range(4)]
    for s in range(4):  # process 1 wrote seeds 2 and 3: every one verifies, at the last step
        assert _verified(folder / f"seed-{s}-final.eqx") == STEPS
    # each seed's parameters (and the whole resume state) are the one-process run's, to the byte
    for name in [f"seed-{s}-final.eqx" for s in range(4)] + ["resume.eqx"]:
        assert (folder / name).read_bytes() == (ref_dir / "checkpoints" / name).read_bytes(), name
    steps = _steps(run_dir)
    assert steps == sorted(set(steps)) and steps[-1] == STEPS  # complete and in order
    assert _episodes(run_dir) == _episodes(ref_dir)  # every seed's episodes, from both processes
    assert not (run_dir / ".lock").exists()

    logs = tmp_path / "resume-logs"
    codes = _wait(_launch(logs, ["--resume", str(run_dir), "--steps", str(MORE_STEPS), "--json"]), logs)
    assert codes == [0, 0], _log(logs, 0) + _log(logs, 1)
    assert f"from step {STEPS:,}" in _log(logs, 0)
    steps = _steps(run_dir)
    assert steps == sorted(set(steps)) and steps[-1] == MORE_STEPS and STEPS in steps
    for s in range(4):
        assert _verified(folder / f"seed-{s}-final.eqx") == MORE_STEPS
    assert json.loads((run_dir / "config.json").read_text())["resumed"]


def _wait_for_training(run_root: Path, procs: list[subprocess.Popen]) -> Path:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "a process ended before training"
        for metrics in run_root.glob("*/metrics.jsonl"):
            if len(metrics.read_text().splitlines()) >= 2:
                return metrics.parent
        time.sleep(0.2)
    raise AssertionError("training did not start")


@pytest.mark.slow
def test_a_killed_process_stops_the_other_and_sigterm_stops_both(tmp_path):
    args = ["--seeds", "4", "--steps", "100000000", *TINY_SET, "--set", "checkpoint_interval=2048"]

    logs = tmp_path / "kill-logs"
    procs = _launch(logs, [*args, "--runs-dir", str(tmp_path / "kill")])
    run_dir = _wait_for_training(tmp_path / "kill", procs)
    procs[1].kill()
    codes = _wait(procs, logs)  # bounded: _wait raises if process 0 hangs
    assert codes[0] == 1, _log(logs, 0)
    assert "lost the other processes" in _log(logs, 0)
    assert "Traceback" not in _log(logs, 0)
    for path in (run_dir / "checkpoints").glob("seed-*.eqx"):  # what was written stays verifiable
        _verified(path)

    logs = tmp_path / "term-logs"
    procs = _launch(logs, [*args, "--runs-dir", str(tmp_path / "term")])
    run_dir = _wait_for_training(tmp_path / "term", procs)
    for p in procs:  # what SLURM sends every task at the end of its time
        p.send_signal(signal.SIGTERM)
    codes = _wait(procs, logs)
    assert codes == [143, 143], _log(logs, 0) + _log(logs, 1)
    folder = run_dir / "checkpoints"
    steps = {_verified(folder / f"seed-{s}-final.eqx") for s in range(4)}
    assert len(steps) == 1 and steps.pop() > 0  # every seed stopped at the same step
    from lerax_tui.train.lifecycle import resume_point

    assert resume_point(run_dir).step == _verified(folder / "seed-0-final.eqx")


def test_cluster_options_are_checked_before_jax_starts():
    from lerax_tui.train.distributed import ClusterError, parse_spec, seed_count_problem

    assert parse_spec(None, None, None, environ={}).coordinator is None  # auto-detect
    spec = parse_spec(
        None,
        None,
        None,
        environ={"LERAX_TUI_COORDINATOR": "h:1", "LERAX_TUI_NUM_PROCESSES": "2", "LERAX_TUI_PROCESS_ID": "1"},
    )
    assert (spec.coordinator, spec.num_processes, spec.process_id) == ("h:1", 2, 1)
    for bad, words in [
        (("h:1", 2, None), "--process-id missing"),
        (("h:1", 2, 2), "give 0 to 1"),
        (("h", 2, 0), "HOST:PORT"),
        (("h:1", "two", 0), "whole number"),
    ]:
        with pytest.raises(ClusterError, match=words):
            parse_spec(*bad, environ={})
    assert seed_count_problem(8, 4, 2) is None
    assert "use a multiple of 4 (4, 8, 12, 16" in (seed_count_problem(6, 4, 2) or "")


def test_a_seed_count_that_does_not_divide_and_a_locked_run_stop_every_process(tmp_path):
    """Both are refused before anything compiles (exit 2, one line, nothing written)."""
    logs = tmp_path / "seeds"
    codes = _wait(_launch(logs, ["--seeds", "3", "--runs-dir", str(tmp_path / "runs")]), logs)
    assert codes == [2, 2]
    for i in range(2):
        assert "--seeds 3 does not divide evenly over 4 devices (2 processes): use a multiple of 4" in _log(logs, i)
        assert "Traceback" not in _log(logs, i)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())

    from lerax_tui.core import make_env
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.lifecycle import config_record, create_run_dir

    config = DQNConfig(**{**SETTINGS, "num_seeds": 4})
    run_dir, lock = create_run_dir(
        tmp_path / "held", "CartPole-v1", config_record(make_env("CartPole-v1"), {}, config, None, exact=False)
    )
    with lock:  # another writer holds the folder
        logs = tmp_path / "locked"
        codes = _wait(_launch(logs, ["--resume", str(run_dir), "--steps", "512"]), logs)
    assert codes == [2, 2]
    assert "being written by another process" in _log(logs, 0)
    assert "process 0 could not open the run folder" in _log(logs, 1)


def test_the_memory_check_counts_the_seeds_one_process_holds():
    """A --distributed run or sweep spreads its replay buffers over the processes: each host is
    asked for its share only (both checks refuse the same count on one process)."""
    from lerax_tui.train.config import ConfigError, DQNConfig
    from lerax_tui.train.memory import buffer_bytes_for, engine_problems
    from lerax_tui.train.sweep_spec import build_spec

    config = DQNConfig(num_seeds=8, buffer_size=100_000, batch_size=64)
    whole = buffer_bytes_for((4,), config)
    host = int(whole / 2 / 0.8) + 1  # room for half the seeds, not for all of them
    assert [e.field for e in engine_problems((4,), config, host)] == ["buffer_size"]
    assert engine_problems((4,), config, host, processes=2) == []
    found = engine_problems((4,), config, host // 2, processes=2)
    assert "x 4 seed(s) per process (2 processes)" in str(found[0])

    spec = build_spec(DQNConfig(buffer_size=100_000, batch_size=64), {"learning_rate": [1e-3, 1e-2]}, seeds=4)
    host = int(spec.program_bytes((4,)) / 2 / 0.8) + 1
    with pytest.raises(ConfigError, match="8 agents"):
        spec.check_memory((4,), host)
    spec.check_memory((4,), host, processes=2)
    with pytest.raises(ConfigError, match=r"GiB of replay buffer per process \(2 processes\)"):
        spec.check_memory((4,), host // 2, processes=2)
