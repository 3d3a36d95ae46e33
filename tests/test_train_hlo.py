"""An iteration's cost does not depend on the replay buffer's size: the compiled chunk never copies
the buffer or builds anything of its size, it only writes it in place (checked on XLA's optimised
HLO and its memory analysis, not by timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hlo_check import buffer_sized_work

# A capacity no other array dimension in these small configs can equal.
CAPACITY = 5003
SMALL = dict(
    width_size=8,
    depth=1,
    total_timesteps=4096,
    buffer_size=CAPACITY,
    batch_size=8,
    learning_starts=8,
    target_update_interval=16,
    eval_episodes=0,
)


def compiled_chunk(env, config, max_iterations=4):
    """The chunk function's compiled form, as the runner compiles it."""
    from lerax_tui.train import dqn

    state = dqn.init_state(env, config)
    return dqn.make_chunk_fn(env, config, max_iterations, state).compile(state), dqn.buffer_bytes(env, config)


# Every algorithm path. Before the fix, the ones with 1 seed and 1 env copied the whole buffer
# several times per iteration (a DUS write into a buffer the gradient-step loop also carried).
CASES = {
    "1 seed, 1 env, 1-step, double": dict(num_envs=1, train_frequency=1),
    "1 seed, 1 env, n-step, vanilla, Polyak, linear lr": dict(
        num_envs=1, n_step=3, double_dqn=False, tau=0.5, lr_schedule="linear"
    ),
    "1 seed, 4 envs, several updates per iteration": dict(num_envs=4, train_frequency=2, gradient_steps=2),
    "3 seeds, 1 env, 1-step": dict(num_envs=1, num_seeds=3, train_frequency=1),
    "3 seeds, 4 envs, n-step, vanilla": dict(num_envs=4, num_seeds=3, n_step=2, double_dqn=False, train_frequency=4),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_chunk_never_copies_the_buffer(cartpole, case):
    from lerax_tui.train.config import DQNConfig

    compiled, buffer_bytes = compiled_chunk(cartpole, DQNConfig(**SMALL, **CASES[case]))
    assert buffer_sized_work(compiled.as_text(), CAPACITY) == []
    # No scratch memory on the buffer's scale either (a copy of it would be one).
    memory = compiled.memory_analysis()
    if memory is not None:
        assert memory.temp_size_in_bytes < buffer_bytes / 8, (memory.temp_size_in_bytes, buffer_bytes)
        assert memory.alias_size_in_bytes >= buffer_bytes  # the donated state is updated in place


def test_the_check_sees_a_copy_inside_a_loop():
    hlo = textwrap.dedent(
        f"""\
        %body (p: (s32[], f32[{CAPACITY},4])) -> (s32[], f32[{CAPACITY},4]) {{
          %p = (s32[], f32[{CAPACITY},4]{{1,0}}) parameter(0)
          %b = f32[{CAPACITY},4]{{1,0}} get-tuple-element(%p), index=1
          %copy.1 = f32[{CAPACITY},4]{{1,0}} copy(%b)
          ROOT %t = (s32[], f32[{CAPACITY},4]{{1,0}}) tuple(%i, %copy.1)
        }}

        ENTRY %main (a: f32[{CAPACITY},4]) -> f32[{CAPACITY},4] {{
          %w = (s32[], f32[{CAPACITY},4]{{1,0}}) while(%init), condition=%cond, body=%body
        }}
        """
    )
    found = buffer_sized_work(hlo, CAPACITY)
    assert [in_loop for _, in_loop in found] == [True] and "copy(%b)" in found[0][0]


SHARDED = textwrap.dedent(
    """
    import json, sys, jax
    from lerax_tui.core import make_env
    from lerax_tui.train import dqn
    from lerax_tui.train.config import DQNConfig
    sys.path.insert(0, sys.argv[1])
    from hlo_check import buffer_sized_work
    small, capacity = json.loads(sys.argv[2])
    env = make_env("CartPole-v1")
    report = {"devices": len(jax.devices())}
    for name, extra in {"1-step": {}, "n-step": {"n_step": 3, "double_dqn": False}}.items():
        config = DQNConfig(**small, num_envs=2, num_seeds=2, train_frequency=2, **extra)
        state = dqn.shard_seeds(dqn.init_state(env, config))
        compiled = dqn.make_chunk_fn(env, config, 4, state).compile(state)
        buffer = state.seeds.buffer.data.observation
        report[name] = {"buffer_devices": len(buffer.sharding.device_set),
                        "found": buffer_sized_work(compiled.as_text(), capacity)}
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_the_sharded_chunk_never_copies_the_buffer():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    args = [os.path.dirname(__file__), json.dumps([SMALL, CAPACITY])]
    proc = subprocess.run([sys.executable, "-c", SHARDED, *args], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {
        "devices": 2,
        "1-step": {"buffer_devices": 2, "found": []},
        "n-step": {"buffer_devices": 2, "found": []},
    }
