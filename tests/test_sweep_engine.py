"""A sweep program: configurations x seeds on one agent axis, with the varying hyperparameters traced.
Each member trains as its own ``train --seeds K`` run would (same keys, same values to float32
rounding), and the compiled program still never copies the replay buffer."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hlo_check import buffer_sized_work
from support.configs import TINY

from lerax_tui.train import dqn
from lerax_tui.train import sweep_engine as se
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.hyper import hyper_of, stack_hyper

# Every traced key differs between the two, intervals included (per-agent "train now" / "update now").
VARIED = (
    dict(learning_rate=1e-3, gamma=0.9, double_dqn=True, epsilon_start=1.0, epsilon_end=0.05, max_grad_norm=0.5),
    dict(
        learning_rate=3e-3,
        gamma=0.95,
        double_dqn=False,
        epsilon_start=0.8,
        epsilon_end=0.2,
        exploration_fraction=0.5,
        max_grad_norm=0.0,
        loss="mse",
        learning_starts=100,
        train_frequency=4,
        target_update_interval=64,
        tau=0.5,
        lr_schedule="linear",
    ),
)


def _params(q_network):
    return jax.tree.leaves(eqx.filter(q_network, eqx.is_array))


def test_only_varying_keys_are_traced():
    base = DQNConfig(**TINY)
    assert jax.tree.leaves(eqx.filter(hyper_of(base), eqx.is_array)) == []
    hyper = stack_hyper([base.replace(gamma=0.9), base.replace(gamma=0.99)], 3)
    assert hyper.gamma.shape == (6,) and float(hyper.gamma[3]) == pytest.approx(0.99)
    assert hyper.learning_rate == base.learning_rate and hyper.huber is True
    assert se.program_hyper([base, base]) is None  # same values: a plain program


@pytest.mark.slow
def test_members_train_as_their_separate_runs(cartpole):
    base = DQNConfig(**TINY, num_seeds=2)
    configs = [base.replace(**o) for o in VARIED]
    state = se.init_program(cartpole, configs)
    for i, config in enumerate(configs):  # bit for bit, though init_program compiles at another level
        initial = jax.tree.leaves(eqx.filter(dqn.init_state(cartpole, config), eqx.is_array))
        mine = jax.tree.leaves(eqx.filter(se.member_state(state, i, 2), eqx.is_array))
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(initial, mine, strict=True))
    chunk = dqn.make_chunk_fn(cartpole, se.program_config(configs), 128, state, se.program_hyper(configs))
    state, out = chunk(state, 128)
    assert out.updates.shape == (4,) and len(set(np.asarray(out.updates).tolist())) == 2
    for i, config in enumerate(configs):
        alone = dqn.init_state(cartpole, config)
        alone, alone_out = dqn.make_chunk_fn(cartpole, config, 128, alone)(alone, 128)
        member = se.member_state(state, i, 2)
        for a, b in zip(_params(member.seeds.online.q_network), _params(alone.seeds.online.q_network), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
        np.testing.assert_allclose(out.loss_sum[2 * i : 2 * i + 2], alone_out.loss_sum, rtol=1e-5)
        np.testing.assert_array_equal(out.episode_return[:, 2 * i : 2 * i + 2], alone_out.episode_return)
        assert int(np.asarray(out.updates)[2 * i]) == int(alone_out.updates)
    # a member's slice joins back into the program's state unchanged
    again = se.join_states([se.member_state(state, i, 2) for i in range(2)])
    for a, b in zip(jax.tree.leaves(eqx.filter(again, eqx.is_array)), jax.tree.leaves(eqx.filter(state, eqx.is_array))):
        assert jnp.array_equal(a, b)


@pytest.mark.slow
def test_batched_evaluation_matches_the_runners(cartpole):
    import jax.random as jr

    from lerax_tui.train.evaluation import evaluate, evaluate_final
    from lerax_tui.train.sweep_hooks import agent_policy, host_copy

    base = DQNConfig(**TINY, num_seeds=2)
    configs = [base.replace(gamma=0.9), base.replace(gamma=0.99, seed=2**31 - 1)]  # seed + 1 passes int32
    state = se.init_program(cartpole, configs)
    online = host_copy(
        state.seeds.online
    )  # numpy copies: evaluation and best checkpoints index them, compiling nothing
    assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(eqx.filter(online, eqx.is_array)))
    keys = se.periodic_keys(se.base_keys(configs, 2), 3 * 2**30)  # a step past int32 too
    # compiled ahead (a sweep does it on a thread while training) and used by the call after
    se._AHEAD.clear()
    se.compile_evaluation(se.take_agents(online, range(4)), cartpole, episodes=3, keys=keys)
    assert len(se._AHEAD) == 1
    ahead = next(iter(se._AHEAD.values()))
    calls = []
    se._AHEAD[next(iter(se._AHEAD))] = lambda *args: (calls.append(1), ahead(*args))[1]
    got = se.evaluate_agents(se.take_agents(online, range(4)), cartpole, episodes=3, keys=keys)
    assert calls == [1]
    finals = se.evaluate_agents(
        se.take_agents(online, range(4)), cartpole, episodes=3, keys=se.final_keys(se.base_keys(configs, 2))
    )
    for a in range(4):
        config = configs[a // 2]
        policy = dqn.seed_policy(state, a, config)
        # the runner's own key for this seed and step (runner._evaluate_periodic)
        key = jr.fold_in(jr.fold_in(jr.key(config.seed + a % 2), 0xE7A1), 3 * 2**30)
        np.testing.assert_array_equal(got[a], evaluate(policy, cartpole, episodes=3, key=key))
        want_final = evaluate_final([None, None][: a % 2] + [policy], cartpole, config.replace(eval_episodes=3))
        np.testing.assert_array_equal(finals[a], want_final[a % 2])
        # a best checkpoint's policy (epsilon a float) evaluates as the stacked one does
        mine = agent_policy(online, a, config.epsilon)
        assert isinstance(mine.epsilon, float)
        again = se.evaluate_agents(se.stack_policies([mine]), cartpole, episodes=3, keys=keys[a : a + 1])
        np.testing.assert_array_equal(again[0], got[a])


@pytest.mark.slow
def test_a_sweep_program_never_copies_the_buffer(cartpole):
    capacity = 5003
    base = DQNConfig(**{**TINY, "buffer_size": capacity, "total_timesteps": 4096}, num_seeds=2)
    configs = [base.replace(**o) for o in VARIED]
    state = se.init_program(cartpole, configs)
    compiled = dqn.make_chunk_fn(cartpole, se.program_config(configs), 4, state, se.program_hyper(configs)).compile(
        state
    )
    assert buffer_sized_work(compiled.as_text(), capacity) == []
