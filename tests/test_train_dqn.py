"""The jitted DQN: TD targets, bootstrapping at truncation only, target cadence, epsilon, determinism."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from support.configs import TINY

from lerax_tui.core import MLPQPolicy, make_env
from lerax_tui.train import dqn
from lerax_tui.train.buffer import Transitions
from lerax_tui.train.config import ConfigError, DQNConfig


@pytest.fixture(scope="module")
def env():
    return make_env("CartPole-v1")


def _q(policy, obs):
    return np.asarray(jax.vmap(lambda o: policy.q_values(None, o)[1])(obs))


def _batch(terminated, truncated):
    obs = jnp.asarray([[0.1, 0.2, -0.1, 0.05], [0.0, -0.3, 0.2, 0.1], [0.3, 0.1, 0.0, -0.2]], jnp.float32)
    return Transitions(
        observation=obs,
        action=jnp.asarray([0, 1, 1], jnp.int32),
        reward=jnp.asarray([1.0, 0.5, -1.0], jnp.float32),
        next_observation=obs[::-1] * 1.5,
        terminated=jnp.asarray(terminated),
        truncated=jnp.asarray(truncated),
    )


@pytest.mark.parametrize("double", [True, False])
def test_td_target_on_hand_built_batch(env, double):
    online = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(1))
    target = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(2))
    config = DQNConfig(gamma=0.9, loss="mse", double_dqn=double)
    batch = _batch([False, True, False], [False, False, True])
    q, q_next_online, q_next_target = (
        _q(online, batch.observation),
        _q(online, batch.next_observation),
        _q(target, batch.next_observation),
    )
    if double:  # online picks, target values
        value = q_next_target[np.arange(3), q_next_online.argmax(1)]
    else:
        value = q_next_target.max(1)
    # row 1 terminated: no bootstrap; row 2 truncated: bootstraps like row 0
    y = np.asarray(batch.reward) + 0.9 * np.array([1.0, 0.0, 1.0]) * value
    expected = np.mean((q[np.arange(3), np.asarray(batch.action)] - y) ** 2)
    loss = dqn.td_loss(online.q_network, online, target, batch, config)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_truncation_bootstraps_and_termination_does_not(env):
    online = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(3))
    config = DQNConfig(gamma=0.99, loss="mse")
    plain = dqn.td_loss(online.q_network, online, online, _batch([False] * 3, [False] * 3), config)
    truncated = dqn.td_loss(online.q_network, online, online, _batch([False] * 3, [True] * 3), config)
    terminated = dqn.td_loss(online.q_network, online, online, _batch([True] * 3, [False] * 3), config)
    assert float(truncated) == pytest.approx(float(plain))
    assert float(terminated) != pytest.approx(float(plain))
    q = _q(online, _batch([True] * 3, [False] * 3).observation)
    taken = q[np.arange(3), [0, 1, 1]]
    assert float(terminated) == pytest.approx(float(np.mean((taken - np.array([1.0, 0.5, -1.0])) ** 2)), rel=1e-5)


def test_epsilon_schedule():
    config = DQNConfig(total_timesteps=1000, epsilon_start=1.0, epsilon_end=0.1, exploration_fraction=0.5)
    got = [float(dqn.epsilon_at(config, jnp.asarray(s))) for s in (0, 250, 500, 750, 1000)]
    np.testing.assert_allclose(got, [1.0, 0.55, 0.1, 0.1, 0.1], rtol=1e-6)
    assert float(dqn.epsilon_at(config.replace(exploration_fraction=0.0), jnp.asarray(0))) == pytest.approx(0.1)


def test_lr_schedule_scales_adam_steps():
    config = DQNConfig(total_timesteps=1000, lr_schedule="linear")
    got = [float(dqn.lr_scale_at(config, jnp.asarray(s))) for s in (0, 250, 1000, 1200)]
    np.testing.assert_allclose(got, [1.0, 0.75, 0.0, 0.0], rtol=1e-6)
    assert float(dqn.lr_scale_at(config.replace(lr_schedule="constant"), jnp.asarray(900))) == 1.0


def test_max_grad_norm_zero_means_no_clipping():
    grads = {"w": jnp.full((4,), 100.0)}
    # Adam normalises its first step to -lr * sign(g), so look at the clip's effect on Adam's first moment
    clip, free = dqn.make_optimizer(DQNConfig(max_grad_norm=1.0)), dqn.make_optimizer(DQNConfig(max_grad_norm=0.0))
    clip_state, free_state = clip.init(grads), free.init(grads)
    assert jax.tree.structure(clip_state) == jax.tree.structure(free_state)  # resume files do not depend on it
    _, clip_after = clip.update(grads, clip_state)
    _, free_after = free.update(grads, free_state)
    np.testing.assert_allclose(np.asarray(clip_after[1][0].mu["w"]), 0.1 * 0.5, rtol=1e-5)  # (1 - b1) * 100/200
    np.testing.assert_allclose(np.asarray(free_after[1][0].mu["w"]), 0.1 * 100.0, rtol=1e-5)


def _qnet_equal(a, b) -> bool:
    la = jax.tree.leaves(eqx.filter(a.q_network, eqx.is_array))
    lb = jax.tree.leaves(eqx.filter(b.q_network, eqx.is_array))
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


@pytest.mark.slow
def test_target_update_cadence_in_env_steps(env):
    # 2 envs: 2 env steps per iteration; learning from step 0, one update per iteration;
    # the target must copy the online net exactly when the step crosses a multiple of 6.
    config = DQNConfig(**{**TINY, "learning_starts": 0, "target_update_interval": 6, "total_timesteps": 64})
    state = dqn.init_state(env, config)
    chunk = dqn.make_chunk_fn(env, config, 1, state)
    seen = {}
    for _ in range(7):
        state, out = chunk(state, 1)
        step = int(out.step)
        online = jax.tree.map(lambda x: x[0] if eqx.is_array(x) else x, state.seeds.online)
        target = jax.tree.map(lambda x: x[0] if eqx.is_array(x) else x, state.seeds.target)
        seen[step] = _qnet_equal(online, target)
        assert int(out.updates) == 1
    assert seen == {2: False, 4: False, 6: True, 8: False, 10: False, 12: True, 14: False}


@pytest.mark.slow
def test_chunking_is_deterministic_and_invisible(env):
    config = DQNConfig(**{**TINY, "num_seeds": 2})
    a = dqn.init_state(env, config)
    b = dqn.init_state(env, config)
    chunk = dqn.make_chunk_fn(env, config, 32, a)
    a, out_a = chunk(a, 30)  # one chunk of 30 ...
    for n in (7, 16, 7):  # ... equals three chunks of 7 + 16 + 7
        b, out_b = chunk(b, n)
    assert int(a.step) == int(b.step) == 60
    for x, y in zip(jax.tree.leaves(eqx.filter(a, eqx.is_array)), jax.tree.leaves(eqx.filter(b, eqx.is_array))):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # multi-seed shapes, and the seeds really differ
    assert out_a.episode_return.shape == (32, 2, 2)
    assert out_a.loss_sum.shape == (2,) and out_a.finite.shape == (2,)
    w = np.asarray(a.seeds.online.q_network.layers[0].weight)
    assert w.shape[0] == 2 and not np.array_equal(w[0], w[1])
    episodes = dqn.completed_episodes(jax.device_get(out_a))
    assert len(episodes.returns) == 2
    for r, l, s in zip(episodes.returns, episodes.lengths, episodes.steps):
        assert len(r) == len(l) == len(s) and (np.diff(s) >= 0).all()
        np.testing.assert_allclose(r, l)  # CartPole: reward 1 per step


def test_engine_checks_name_the_field(env):
    with pytest.raises(ConfigError, match="buffer_size: 4 is smaller than num_envs 8"):
        dqn.check_engine(env, DQNConfig(buffer_size=4, batch_size=4, num_envs=8))


def test_a_buffer_that_does_not_fit_in_memory_is_a_config_error(env):
    config = DQNConfig(buffer_size=1_000_000, num_seeds=4)
    need = dqn.buffer_bytes(env, config)
    assert need == 4 * 1_000_000 * (2 * 4 * 4 + 10)  # CartPole: 4 float32 twice + action, reward, two flags
    with pytest.raises(
        ConfigError,
        match=r"buffer_size: 1000000 transitions x 4 seed\(s\) need 0.2 GiB .* 0.1 GiB is available \(at most ~\d",
    ):
        dqn.check_engine(env, config, available=need // 2)
    dqn.check_engine(env, config, available=need * 2)  # fits: no error
    assert dqn.memory_available() is None or dqn.memory_available() > 0


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_batched_q_values_equal_the_policy_call(env, depth):
    policy = MLPQPolicy(env, width_size=16, depth=depth, key=jax.random.key(7))
    obs = jax.random.normal(jax.random.key(8), (33, 4))
    np.testing.assert_allclose(np.asarray(dqn.q_batch(policy, obs)), _q(policy, obs), rtol=1e-5, atol=1e-6)


def test_loss_gradient_ignores_the_targets(env):
    """The gradient is that of mean((Q(s,a) - y)^2) with the TD targets y held fixed: no gradient flows
    through the next-state forward passes of the online or the target network."""
    online = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(1))
    target = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(2))
    config = DQNConfig(gamma=0.9, loss="mse", double_dqn=True)
    batch = _batch([False] * 3, [False] * 3)
    y = dqn.td_targets(online, target, batch, config)
    grads = eqx.filter_grad(dqn.td_loss)(online.q_network, online, target, batch, config)

    def fixed(q_network):
        q = dqn.q_batch(eqx.tree_at(lambda p: p.q_network, online, q_network), batch.observation)
        return jnp.mean(jnp.square(q[jnp.arange(3), batch.action] - y))

    expected = eqx.filter_grad(fixed)(online.q_network)
    for g, e in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-5, atol=1e-7)


def test_nstep_discount_replaces_gamma(env):
    online = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(1))
    target = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(2))
    config = DQNConfig(gamma=0.9, loss="mse", double_dqn=False)
    batch = _batch([False, True, False], [False] * 3)
    discount = jnp.asarray([0.729, 0.0, 0.81])  # 3 steps; terminated; 2 steps
    y = dqn.td_targets(online, target, batch, config, discount)
    value = _q(target, batch.next_observation).max(1)
    np.testing.assert_allclose(np.asarray(y), np.asarray(batch.reward) + np.asarray(discount) * value, rtol=1e-6)


@pytest.mark.slow
def test_nstep_runs_trains_on_nstep_targets(env):
    """With ``n_step`` 3 the same seed trains on different targets (so a different loss) and stays finite."""
    losses = {}
    for n in (1, 3):
        config = DQNConfig(**{**TINY, "n_step": n, "learning_starts": 8, "gamma": 0.9})
        state = dqn.init_state(env, config)
        state, out = dqn.make_chunk_fn(env, config, 16, state)(state, 16)
        assert bool(out.finite.all()) and int(out.updates) > 0
        losses[n] = float(out.loss_sum[0])
    assert losses[1] != pytest.approx(losses[3], rel=1e-3)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Breakout-MinAtar"])
def test_the_cheaply_compiled_initial_state_has_the_default_compiles_bits(env_id):
    # init_state compiles at XLA backend level 1 (seconds less per start); it must give exactly what
    # the default optimisation gives, or every run's seeds would silently start elsewhere
    env = make_env(env_id)
    config = DQNConfig(**{**TINY, "num_seeds": 3})

    @eqx.filter_jit
    def build(keys):
        seeds = eqx.filter_vmap(lambda k: dqn.init_seed(env, config, k))(keys)
        return dqn.DQNState(seeds=seeds, step=jnp.zeros((), jnp.int32))

    default = build(dqn.seed_keys(config))
    cheap = dqn.init_state(env, config)
    a = jax.tree.leaves(eqx.filter(default, eqx.is_array))
    b = jax.tree.leaves(eqx.filter(cheap, eqx.is_array))
    assert len(a) == len(b) > 10
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
