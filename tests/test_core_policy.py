"""The seed page's MLPQPolicy behaviours, one by one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.core import AbstractQPolicy, Box, Discrete, MLPQPolicy, make_env


def test_attributes_follow_the_seed(cartpole):
    policy = MLPQPolicy(cartpole, key=jax.random.key(0))
    assert policy.name == "MLPQPolicy" and MLPQPolicy.name == "MLPQPolicy"
    assert isinstance(policy, AbstractQPolicy)
    assert isinstance(policy.action_space, Discrete) and policy.action_space.n == 2
    assert isinstance(policy.observation_space, Box) and policy.observation_space.flat_size == 4
    assert policy.epsilon == 0.1
    mlp = policy.q_network
    assert (mlp.in_size, mlp.out_size, mlp.width_size, mlp.depth) == (4, 2, 64, 2)


def test_constructor_arguments_are_keyword_only_and_used(cartpole):
    with pytest.raises(TypeError):
        MLPQPolicy(cartpole, 0.2, key=jax.random.key(0))  # epsilon is keyword-only
    p = MLPQPolicy(cartpole, epsilon=0.3, width_size=16, depth=1, key=jax.random.key(1))
    assert p.epsilon == 0.3 and p.q_network.width_size == 16 and p.q_network.depth == 1
    assert len(p.q_network.layers) == 2


def test_field_order_matches_lerax(cartpole):
    import dataclasses

    names = [f.name for f in dataclasses.fields(MLPQPolicy)]
    assert names == ["action_space", "observation_space", "epsilon", "q_network"]
    assert dataclasses.fields(Discrete)[0].metadata.get("static") is True


def test_non_discrete_action_space_raises_value_error():
    with pytest.raises(ValueError, match="Discrete"):
        MLPQPolicy(make_env("Pendulum-v1"), key=jax.random.key(0))


def test_reset_returns_none_and_q_values_shape(small_policy):
    assert small_policy.reset(key=jax.random.key(0)) is None
    state, q = small_policy.q_values(None, jnp.zeros(4))
    assert state is None and q.shape == (2,)


def test_greedy_without_key_is_argmax(small_policy):
    obs = jnp.array([0.01, 0.2, -0.03, 0.1])
    _, q = small_policy.q_values(None, obs)
    state, action = small_policy(None, obs)
    assert state is None and int(action) == int(jnp.argmax(q))


def test_action_mask_is_honoured_greedy_and_random(small_policy):
    obs = jnp.array([0.01, 0.2, -0.03, 0.1])
    for allowed in (0, 1):
        mask = jnp.arange(2) == allowed
        assert int(small_policy(None, obs, action_mask=mask)[1]) == allowed
        explorer = jax.tree_util.tree_map(lambda x: x, small_policy)
        explorer = __import__("equinox").tree_at(lambda p: p.epsilon, explorer, 1.0)
        actions = {int(explorer(None, obs, action_mask=mask, key=jax.random.key(k))[1]) for k in range(20)}
        assert actions == {allowed}


def test_epsilon_greedy_frequency(small_policy):
    """With epsilon e, a non-greedy action appears about e/2 of the time for 2 actions."""
    import equinox as eqx

    obs = jnp.array([0.01, 0.2, -0.03, 0.1])
    greedy = int(small_policy(None, obs)[1])
    keys = jax.random.split(jax.random.key(7), 4000)
    for eps in (0.0, 0.5, 1.0):
        p = eqx.tree_at(lambda m: m.epsilon, small_policy, eps)
        acts = jax.vmap(lambda k, p=p: p(None, obs, key=k)[1])(keys)
        non_greedy = float(np.mean(np.asarray(acts) != greedy))
        assert abs(non_greedy - eps / 2) < 0.03, (eps, non_greedy)


def test_traced_epsilon_does_not_recompile(small_policy):
    import equinox as eqx

    traces = []

    @eqx.filter_jit
    def act(policy, eps, key):
        traces.append(1)
        policy = eqx.tree_at(lambda p: p.epsilon, policy, eps)
        return policy(None, jnp.zeros(4), key=key)[1]

    for eps in (1.0, 0.5, 0.1):
        act(small_policy, jnp.float32(eps), jax.random.key(0))
    assert len(traces) == 1


def test_box_and_discrete_spaces():
    box = Box(low=-1.0, high=jnp.ones((2, 3)))
    assert box.shape == (2, 3) and box.flat_size == 6
    assert box.flatten_sample(jnp.ones((2, 3))).shape == (6,)
    assert bool(box.contains(jnp.zeros((2, 3)))) and not bool(box.contains(jnp.zeros(6)))
    d = Discrete(3)
    assert d.flat_size == 1 and bool(d.contains(2)) and not bool(d.contains(3))
    with pytest.raises(ValueError):
        Discrete(0)
