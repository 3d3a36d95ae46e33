"""The gymnax adapter keeps termination and truncation apart; the catalogue covers every id."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from lerax_tui.core import catalogue, make_env
from lerax_tui.core.env import EnvError


def test_catalogue_lists_every_registered_id_with_reasons():
    import gymnax

    rows = {r.env_id: r for r in catalogue()}
    assert list(rows) == list(gymnax.registered_envs)
    assert rows["CartPole-v1"].supported and rows["CartPole-v1"].num_actions == 2
    assert not rows["Pendulum-v1"].supported and "continuous" in rows["Pendulum-v1"].reason
    assert not rows["MNISTBandit-bsuite"].supported and "download" in rows["MNISTBandit-bsuite"].reason
    assert all(r.reason for r in rows.values() if not r.supported)


def test_static_catalogue_is_what_gymnax_builds():
    """The JAX-free table equals what building every env reports (update it when gymnax changes)."""
    from lerax_tui.core.env import probe_catalogue

    assert catalogue() == probe_catalogue()


def test_catalogue_imports_neither_jax_nor_gymnax():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lerax_tui.core.env_catalogue import catalogue, family\n"
        "from lerax_tui.train.config import preset\n"
        "assert len(catalogue()) > 20 and family('Breakout-MinAtar') == 'minatar'\n"
        "preset('Acrobot-v1')\n"
        "bad = [m for m in ('jax', 'gymnax', 'equinox') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_and_download_envs_are_clear_errors():
    with pytest.raises(EnvError, match="unknown environment"):
        make_env("CartPole-v9")
    with pytest.raises(EnvError, match="offline"):
        make_env("MNISTBandit-bsuite")
    with pytest.raises(EnvError, match="no parameter"):
        make_env("CartPole-v1", not_a_param=3)


def test_env_like_interface(cartpole):
    assert cartpole.name == "GymnaxToLeraxEnv(CartPole-v1)"
    state = cartpole.initial(key=jax.random.key(0))
    obs = cartpole.observation(state, key=jax.random.key(1))
    assert obs.shape == (4,)
    nxt = cartpole.transition(state, jnp.int32(1), key=jax.random.key(2))
    assert float(cartpole.reward(state, 1, nxt, key=jax.random.key(3))) == 1.0
    assert not bool(cartpole.terminal(nxt)) and not bool(cartpole.truncate(nxt))
    assert cartpole.action_mask(nxt, key=jax.random.key(4)) is None


def test_truncation_at_time_limit_is_not_termination():
    env = make_env("CartPole-v1", max_steps_in_episode=5)
    state = env.initial(key=jax.random.key(0))
    flags = []
    for i in range(5):
        state = env.transition(state, jnp.int32(i % 2), key=jax.random.key(i))
        flags.append((bool(env.terminal(state)), bool(env.truncate(state))))
    assert flags[:-1] == [(False, False)] * 4
    assert flags[-1] == (False, True)


def test_termination_is_not_truncation():
    env = make_env("CartPole-v1")
    state = env.initial(key=jax.random.key(0))
    for i in range(200):  # always push right: the pole falls within ~10 steps
        state = env.transition(state, jnp.int32(1), key=jax.random.key(i))
        if bool(env.terminal(state)):
            break
    assert bool(env.terminal(state)) and not bool(env.truncate(state))
