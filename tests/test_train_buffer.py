"""Replay buffer: ring wrap-around, and sampling that only ever reads filled slots."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.train.buffer import Transitions, buffer_add, buffer_init, buffer_sample


def _batch(values):
    v = jnp.asarray(values, jnp.float32)
    n = v.shape[0]
    return Transitions(
        observation=jnp.stack([v, -v], axis=1),
        action=v.astype(jnp.int32),
        reward=v,
        next_observation=jnp.stack([v + 0.5, -v], axis=1),
        terminated=jnp.zeros((n,), bool),
        truncated=jnp.ones((n,), bool),
    )


def test_wraps_round_and_overwrites_oldest():
    buf = buffer_init(5, (2,))
    buf = buffer_add(buf, _batch([1, 2, 3]))
    assert int(buf.size) == 3 and int(buf.position) == 3
    buf = buffer_add(buf, _batch([4, 5, 6]))
    assert int(buf.size) == 5 and int(buf.position) == 1
    np.testing.assert_array_equal(np.asarray(buf.data.reward), [6, 2, 3, 4, 5])
    np.testing.assert_array_equal(np.asarray(buf.data.observation[:, 1]), [-6, -2, -3, -4, -5])
    assert np.asarray(buf.data.truncated).all()
    buf = buffer_add(buf, _batch([7, 8, 9, 10, 11]))  # a whole capacity in one write
    assert int(buf.position) == 1
    np.testing.assert_array_equal(np.asarray(buf.data.reward), [11, 7, 8, 9, 10])


def test_samples_only_filled_slots():
    buf = buffer_init(1000, (2,))
    buf = buffer_add(buf, _batch([7, 8, 9]))
    batch = jax.jit(lambda b, k: buffer_sample(b, 4096, key=k))(buf, jax.random.key(0))
    rewards = set(np.asarray(batch.reward).tolist())
    assert rewards == {7.0, 8.0, 9.0}  # never an empty (zero) slot, and every filled one drawn
    # a transition stays whole: next_observation belongs to the same slot as reward
    np.testing.assert_allclose(np.asarray(batch.next_observation[:, 0]), np.asarray(batch.reward) + 0.5)


def test_rejects_batch_larger_than_capacity():
    with pytest.raises(ValueError, match="smaller than one vector step"):
        buffer_add(buffer_init(2, (2,)), _batch([1, 2, 3]))
