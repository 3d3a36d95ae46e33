"""``train --distributed``: two processes on localhost, two forced CPU devices each, one 4-device mesh.

Each test launches real ``lerax-tui`` processes (JAX compiles in them); they share the persistent
compilation cache, so a launch after the first of its configuration compiles little. Four launches
compile: the one-process reference, the distributed run stopped by SIGTERM, its distributed resume
and the run whose process is killed (the refusals stop before anything is built).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from support import cluster as c
from support.configs import TINY

# No epsilon decay, and runs long enough for the largest chunk (4096 iterations): every launch
# here, whatever its --steps, then runs one compiled chunk, compiled once into the persistent cache.
SETTINGS = {**TINY, "exploration_fraction": 0.0}
TINY_SET = [a for k, v in SETTINGS.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]
STEPS = 32768  # long enough to stop mid-run after the first chunk's report


def _train(logs: Path, args: list[str]) -> list:
    return c.launch(logs, ["train", "CartPole-v1", *args])


@pytest.mark.slow
def test_two_processes_stop_resume_and_train_like_one(tmp_path):
    """SIGTERM to both (what SLURM sends) mid-run, a distributed resume, and then every seed's
    parameters and the whole resume state are an uninterrupted one-process run's, to the byte."""
    ref = c.run_one(
        ["train", "CartPole-v1", "--seeds", "4", "--steps", str(STEPS), *TINY_SET]
        + ["--runs-dir", str(tmp_path / "ref"), "--json"]
    )
    assert ref.returncode == 0, ref.stderr[-3000:]
    ref_dir = Path(c.last_json(ref.stdout)["run_dir"])

    logs = tmp_path / "logs"
    procs = _train(logs, ["--seeds", "4", "--steps", str(STEPS), *TINY_SET, "--runs-dir", str(tmp_path / "runs")])
    run_dir = c.wait_for_metrics(tmp_path / "runs", "*/metrics.jsonl", procs, lines=1)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    codes = c.wait(procs)
    assert codes == [143, 143], c.log(logs, 0) + c.log(logs, 1)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name]  # one folder for both
    folder = run_dir / "checkpoints"
    stopped = {c.verified(folder / f"seed-{s}-final.eqx") for s in range(4)}  # process 1 wrote seeds 2, 3
    assert len(stopped) == 1  # every seed stopped at the same step
    at = stopped.pop()
    assert 0 < at < STEPS  # mid-run
    from lerax_tui.train.lifecycle import resume_point

    assert resume_point(run_dir).step == at

    logs = tmp_path / "resume-logs"
    codes = c.wait(_train(logs, ["--resume", str(run_dir), "--json"]))
    assert codes == [0, 0], c.log(logs, 0) + c.log(logs, 1)
    assert f"from step {at:,}" in c.log(logs, 0)
    assert "done; process 0 prints the summary" in c.log(logs, 1)
    assert Path(c.last_json((logs / "0.out").read_text())["run_dir"]) == run_dir
    for s in range(4):
        assert c.verified(folder / f"seed-{s}-final.eqx") == STEPS
    for name in [f"seed-{s}-final.eqx" for s in range(4)] + ["resume.eqx"]:
        assert (folder / name).read_bytes() == (ref_dir / "checkpoints" / name).read_bytes(), name
    steps = c.steps(run_dir)
    assert steps == sorted(set(steps)) and steps[-1] == STEPS and at in steps  # complete and in order
    assert c.episodes(run_dir) == c.episodes(ref_dir)  # every seed's episodes, from both processes
    assert json.loads((run_dir / "config.json").read_text())["resumed"]
    assert not (run_dir / ".lock").exists()


@pytest.mark.slow
def test_a_killed_process_stops_the_other(tmp_path):
    args = ["--seeds", "4", "--steps", "100000000", *TINY_SET, "--set", "checkpoint_interval=2048"]
    logs = tmp_path / "kill-logs"
    procs = _train(logs, [*args, "--runs-dir", str(tmp_path / "kill")])
    run_dir = c.wait_for_metrics(tmp_path / "kill", "*/metrics.jsonl", procs)
    procs[1].kill()
    codes = c.wait(procs)  # bounded: wait raises if process 0 hangs
    assert codes[0] == 1, c.log(logs, 0)
    assert "lost the other processes" in c.log(logs, 0)
    assert "Traceback" not in c.log(logs, 0)
    summary = (logs / "0.out").read_text()  # no final checkpoint this run: said so, not "None"
    assert "checkpoint   no final checkpoint written by this run" in summary and "None" not in summary
    for path in (run_dir / "checkpoints").glob("seed-*.eqx"):  # what was written stays verifiable
        c.verified(path)


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
    codes = c.wait(_train(logs, ["--seeds", "3", "--runs-dir", str(tmp_path / "runs")]))
    assert codes == [2, 2]
    for i in range(2):
        assert "--seeds 3 does not divide evenly over 4 devices (2 processes): use a multiple of 4" in c.log(logs, i)
        assert "Traceback" not in c.log(logs, i)
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
        codes = c.wait(_train(logs, ["--resume", str(run_dir), "--steps", "512"]))
    assert codes == [2, 2]
    assert "being written by another process" in c.log(logs, 0)
    assert "process 0 could not open the run folder" in c.log(logs, 1)


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
