"""``sweep --distributed``: two processes on localhost, two forced CPU devices each, one 4-device
mesh holding a sweep's 2 configurations x 2 seeds (one agent per device).

Three launches: the one-process reference over 4 local devices, the distributed sweep stopped by
SIGTERM mid-run (what SLURM sends), and its distributed ``--resume``. A stopped-and-resumed sweep
continues exactly, so every member ends byte-identical to the uninterrupted reference.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from support import cluster as c
from support.configs import TINY

SETTINGS = {**TINY, "exploration_fraction": 0.0}
TINY_SET = [a for k, v in SETTINGS.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]
STEPS = 32768  # long enough to stop mid-run after the first chunk's report (~0.01 s of training in)
SWEEP = ["sweep", "CartPole-v1", "--grid", "learning_rate=0.001,0.003", "--seeds", "2", "--steps", str(STEPS)]


def _statuses(sweep_dir: Path) -> list[str]:
    return [entry["status"] for entry in json.loads((sweep_dir / "sweep.json").read_text())["configs"]]


def _members(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.startswith("config-"))


@pytest.mark.slow
def test_a_distributed_sweep_stops_resumes_and_ends_like_one_process(tmp_path):
    ref = c.run_one([*SWEEP, *TINY_SET, "--runs-dir", str(tmp_path / "ref"), "--json"])
    assert ref.returncode == 0, ref.stderr[-3000:]
    ref_dir = Path(c.last_json(ref.stdout)["sweep_dir"])
    assert _statuses(ref_dir) == ["finished", "finished"]

    logs = tmp_path / "logs"
    procs = c.launch(logs, [*SWEEP, *TINY_SET, "--runs-dir", str(tmp_path / "runs"), "--json"])
    c.wait_for_metrics(tmp_path / "runs", "sweep-*/config-*/metrics.jsonl", procs, lines=1)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    codes = c.wait(procs)
    assert codes == [143, 143], c.log(logs, 0) + c.log(logs, 1)
    (sweep_dir,) = (tmp_path / "runs").iterdir()  # one folder for both processes
    assert _statuses(sweep_dir) == ["stopped", "stopped"]
    stopped = set()
    for member in _members(sweep_dir):  # process 1 wrote config-001's seeds: every one verifies
        stopped |= {c.verified(member / "checkpoints" / f"seed-{s}-final.eqx") for s in range(2)}
    assert len(stopped) == 1 and 0 < stopped.pop() < STEPS  # every agent stopped at the same step, mid-run

    logs = tmp_path / "resume-logs"
    codes = c.wait(c.launch(logs, ["sweep", "CartPole-v1", "--resume", str(sweep_dir), "--json"]))
    assert codes == [0, 0], c.log(logs, 0) + c.log(logs, 1)
    assert "done; process 0 prints the summary" in c.log(logs, 1)
    assert _statuses(sweep_dir) == ["finished", "finished"]
    summary = c.last_json((logs / "0.out").read_text())
    assert [x["status"] for x in summary["configs"]] == ["finished", "finished"]
    for member, ref_member in zip(_members(sweep_dir), _members(ref_dir), strict=True):
        folder = member / "checkpoints"
        for s in range(2):
            assert c.verified(folder / f"seed-{s}-final.eqx") == STEPS
        # each member's parameters (and its whole resume state) are the one-process sweep's, to the byte
        for name in ["seed-0-final.eqx", "seed-1-final.eqx", "resume.eqx"]:
            assert (folder / name).read_bytes() == (ref_member / "checkpoints" / name).read_bytes(), (member, name)
        steps = c.steps(member)
        assert steps == sorted(set(steps)) and steps[-1] == STEPS  # complete and in order
        assert c.episodes(member) == c.episodes(ref_member)  # every seed's episodes, from both processes
        assert not (member / ".lock").exists()
    assert not (sweep_dir / ".lock").exists()


def test_a_sweep_that_does_not_divide_is_refused_naming_what_does():
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.dist_sweep import agent_count_problem
    from lerax_tui.train.sweep_spec import build_spec

    spec = build_spec(DQNConfig(), {"learning_rate": [1e-3, 3e-3, 1e-2]}, seeds=2)
    assert agent_count_problem(spec, 2, 2) is None
    problem = agent_count_problem(spec, 4, 2) or ""
    assert "6 agents (3 configuration(s) x 2 seed(s)) in one program do not divide evenly over 4 devices" in problem
    assert "use --seeds 4, 8, 12, 16" in problem
    spec = build_spec(DQNConfig(), {"learning_rate": [1e-3, 3e-3], "buffer_size": [1000, 2000, 4000]}, seeds=1)
    assert "use --seeds 4, 8" in (agent_count_problem(spec, 8, 2) or "")  # 2 configurations per program
