"""A runs folder with one run of each status, written by the fake trainer (no JAX): finished
runs that differ in learning rate, seeds and width, a failed one, one killed before its end, one
stopped, and one continued from a lerax file (its config records the origin)."""

from __future__ import annotations

import json
from pathlib import Path

from lerax_tui.train.config import preset
from lerax_tui.train.events import Failed
from lerax_tui.train.outcome import OutcomeRecorder
from support.fake import FakeFactory

FINISHED = "CartPole-v1-20261124-120000-abc123"
SLOWER = "CartPole-v1-20261124-121500-d4e5f6"
SEEDS = "CartPole-v1-20261124-123000-0a1b2c"
FAILED = "CartPole-v1-20261124-124500-77aa00"
KILLED = "CartPole-v1-20261124-130000-beef01"
STOPPED = "CartPole-v1-20261124-131500-5709ed"
CONTINUED = "CartPole-v1-20261124-133000-c0ffee"
ORIGIN = {
    "path": "/data/lerax/cartpole_trained.eqx",
    "step": 0,
    "fingerprint": "607f1c79c3c9c856",
    "layout": "lerax",
    "env_id": "CartPole-v1",
    "run": None,
    "from": "policy-weights",
    "epsilon_start": 0.05,
    "exact": False,
}


def make_past_runs(runs_dir: Path) -> Path:
    """Seven run folders under ``runs_dir`` (returned), newest last by name."""

    def make(name: str, **changes) -> Path:
        config = preset("CartPole-v1").replace(**{"total_timesteps": 20_000, "eval_interval": 5_000, **changes})
        FakeFactory(options={"run_name": name})("CartPole-v1", {}, config, runs_dir, lambda e: None).run()
        return runs_dir / name

    make(FINISHED)
    make(SLOWER, learning_rate=3e-4)
    make(SEEDS, total_timesteps=1_000_000, num_seeds=4, width_size=256, eval_interval=100_000)
    failed = make(FAILED)
    OutcomeRecorder(failed).observe(Failed("training diverged at step 12000: non-finite loss"))
    killed = make(KILLED)
    (killed / "result.json").unlink()
    (killed / "checkpoints/final.json").unlink()
    stopped = make(STOPPED, total_timesteps=40_000)
    result = json.loads((stopped / "result.json").read_text())
    (stopped / "result.json").write_text(
        json.dumps({**result, "status": "stopped", "final_eval_return_per_seed": None})
    )
    continued = make(CONTINUED, epsilon_start=0.05)
    config = json.loads((continued / "config.json").read_text())
    (continued / "config.json").write_text(json.dumps({**config, "origin": ORIGIN}))
    return runs_dir
