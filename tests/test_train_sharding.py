"""Several seeds spread over several devices (two fake CPU devices, in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np
    from lerax_tui.core import make_env
    from lerax_tui.train import dqn
    from lerax_tui.train.config import DQNConfig
    env = make_env("CartPole-v1")
    config = DQNConfig(width_size=8, depth=1, num_envs=2, total_timesteps=64, buffer_size=64, batch_size=8,
                       learning_starts=8, train_frequency=2, target_update_interval=16, num_seeds=2)
    state = dqn.shard_seeds(dqn.init_state(env, config))
    chunk = dqn.make_chunk_fn(env, config, 32, state)
    state, out = chunk(state, 32)
    w = state.seeds.online.q_network.layers[0].weight
    print(json.dumps({"devices": len(jax.devices()), "weight_devices": len(w.sharding.device_set),
                      "step": int(out.step), "finite": np.asarray(out.finite).tolist(),
                      "returns_shape": list(out.episode_return.shape)}))
    """
)


@pytest.mark.slow
def test_seeds_are_sharded_over_two_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"devices": 2, "weight_devices": 2, "step": 64, "finite": [True, True], "returns_shape": [32, 2, 2]}


def _train(tmp_path, xla_flags: str, seeds: int) -> dict:
    from support.configs import TINY

    sets = [a for k, v in TINY.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]
    env = dict(os.environ, XLA_FLAGS=xla_flags, JAX_PLATFORMS="cpu", LERAX_TUI_JAX_CACHE="off")
    argv = ["train", "CartPole-v1", "--seeds", str(seeds), "--steps", "128", "--runs-dir", str(tmp_path), "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "lerax_tui", *argv, *sets], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_lerax_tui_train_splits_its_seeds_over_the_cores_unless_told_not_to(tmp_path):
    cores = len(os.sched_getaffinity(0))
    split = _train(tmp_path, "", 2)
    assert split["devices"] == min(cores, 2) and split["env_steps"] == 128 and len(split["eval_return_per_seed"]) == 2
    # an XLA_FLAGS device count is the user's choice: one device stays one
    assert _train(tmp_path, "--xla_force_host_platform_device_count=1", 2)["devices"] == 1
