"""Replay buffer: ring wrap-around, and sampling that only ever reads filled slots."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.train.buffer import Transitions, buffer_add, buffer_init, buffer_sample, buffer_sample_nstep


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


def _nstep_buffer():
    """Two envs, capacity 10, seven vector steps (so the ring has wrapped and steps 0-1 are gone).

    Env 0 earns ``t + 1`` at step ``t`` and terminates at step 4; env 1 earns ``100 (t + 1)`` and is
    truncated at step 5. Observations are ``10 t + env``, next observations ``+ 0.5``.
    """
    buf = buffer_init(10, (1,))
    for t in range(7):
        obs = jnp.asarray([[10.0 * t], [10.0 * t + 1]])
        buf = buffer_add(
            buf,
            Transitions(
                observation=obs,
                action=jnp.asarray([t, t], jnp.int32),
                reward=jnp.asarray([t + 1.0, 100.0 * (t + 1)]),
                next_observation=obs + 0.5,
                terminated=jnp.asarray([t == 4, False]),
                truncated=jnp.asarray([False, t == 5]),
            ),
        )
    return buf


def test_nstep_windows_stop_at_episode_ends_and_the_newest_step():
    batch, discount = jax.jit(lambda b, k: buffer_sample_nstep(b, 4096, n=3, stride=2, gamma=0.5, key=k))(
        _nstep_buffer(), jax.random.key(0)
    )
    got = {
        float(o): (float(r), float(nxt), float(d), int(a))
        for o, r, nxt, d, a in zip(
            batch.observation[:, 0], batch.reward, batch.next_observation[:, 0], discount, batch.action
        )
    }
    expected = {
        # env 0: 3 steps that end in the termination at step 4: no bootstrap
        20.0: (3 + 0.5 * 4 + 0.25 * 5, 40.5, 0.0, 2),
        30.0: (4 + 0.5 * 5, 40.5, 0.0, 3),
        40.0: (5.0, 40.5, 0.0, 4),
        # env 0 after the reset: the window stops at the newest step (6) and bootstraps from it
        50.0: (6 + 0.5 * 7, 60.5, 0.25, 5),
        60.0: (7.0, 60.5, 0.5, 6),
        # env 1: a full window bootstraps with gamma ** 3; truncation at step 5 stops it but bootstraps
        21.0: (300 + 0.5 * 400 + 0.25 * 500, 41.5, 0.125, 2),
        31.0: (400 + 0.5 * 500 + 0.25 * 600, 51.5, 0.125, 3),
        41.0: (500 + 0.5 * 600, 51.5, 0.25, 4),
        51.0: (600.0, 51.5, 0.5, 5),
        61.0: (700.0, 61.5, 0.5, 6),
    }
    assert got == expected  # exact in float32; every filled slot drawn, nothing from overwritten steps 0-1


def test_nstep_with_one_step_is_the_one_step_target():
    buf = _nstep_buffer()
    batch, discount = buffer_sample_nstep(buf, 512, n=1, stride=2, gamma=0.9, key=jax.random.key(1))
    reward = np.asarray(batch.reward)
    np.testing.assert_allclose(np.asarray(batch.next_observation[:, 0]), np.asarray(batch.observation[:, 0]) + 0.5)
    np.testing.assert_allclose(np.asarray(discount), 0.9 * (1 - np.asarray(batch.terminated)))
    assert set(np.round(reward).tolist()) == {3, 4, 5, 6, 7, 300, 400, 500, 600, 700}
