"""Greedy evaluation: N episodes side by side, each bounded by the environment's episode limit."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Key

from lerax_tui.core.env import GymnaxEnv
from lerax_tui.core.policy import AbstractQPolicy
from lerax_tui.train.config import DQNConfig

# Bound for environments that declare no episode limit, so evaluation always ends.
DEFAULT_STEP_LIMIT = 10_000
# Episodes evaluated side by side at most; more run in batches of this many.
EPISODE_BATCH = 1024


@eqx.filter_jit
def _episode_returns(
    policy: AbstractQPolicy, env: GymnaxEnv, keys: Key[Array, " episodes"], limit: int, greedy: bool
) -> Array:
    def one(key):
        reset_key, run_key = jr.split(key)
        state = env.initial(key=reset_key)

        def cond(carry):
            _, _, done, t, _ = carry
            return jnp.logical_not(done) & (t < limit)

        def body(carry):
            state, total, _, t, key = carry
            key, step_key = jr.split(key)
            act_key = None
            if not greedy:  # split apart, so greedy episodes keep the keys they always had
                step_key, act_key = jr.split(step_key)
            _, action = policy(None, env.observation(state), key=act_key)
            state = env.transition(state, action, key=step_key)
            done = env.terminal(state) | env.truncate(state)
            return state, total + state.reward.astype(jnp.float32), done, t + 1, key

        init = (state, jnp.zeros((), jnp.float32), jnp.array(False), jnp.zeros((), jnp.int32), run_key)
        return jax.lax.while_loop(cond, body, init)[1]

    return jax.vmap(one)(keys)


def evaluate(
    policy: AbstractQPolicy, env: GymnaxEnv, *, episodes: int, key: Key[Array, ""], greedy: bool = True
) -> np.ndarray:
    """Returns of ``episodes`` greedy episodes (the policy's epsilon is ignored: ``key=None``), or
    with ``greedy=False`` episodes acting epsilon-greedily with the policy's own epsilon (a policy
    with epsilon 1 gives the uniform-random baseline).

    Episodes run side by side (vmapped, at most ``EPISODE_BATCH`` at a time) and each stops at
    termination, truncation, or the environment's ``max_episode_steps`` (10,000 when it declares none).

    Args:
        policy: A Q policy (``__call__(None, obs) -> (None, action)``).
        env: The adapted environment (:func:`lerax_tui.core.make_env`).
        episodes: How many episodes.
        key: PRNG key for the initial states and environment randomness.

    Returns:
        ``float32[episodes]`` returns, in episode order.
    """
    if episodes <= 0:
        return np.zeros((0,), np.float32)
    limit = int(env.max_episode_steps or DEFAULT_STEP_LIMIT)
    keys = jr.split(key, episodes)
    if episodes <= EPISODE_BATCH:
        return np.asarray(_episode_returns(policy, env, keys, limit, bool(greedy)))
    # In batches, so memory stays that of EPISODE_BATCH episodes however many are asked for. Each
    # episode keeps its own key (same returns as one big batch); the last batch is padded with
    # repeated keys so one compiled shape serves every batch.
    out = np.empty(episodes, np.float32)
    for start in range(0, episodes, EPISODE_BATCH):
        batch = keys[start : start + EPISODE_BATCH]
        n = batch.shape[0]
        if n < EPISODE_BATCH:
            batch = jnp.concatenate([batch, keys[: EPISODE_BATCH - n]])
        out[start : start + n] = np.asarray(_episode_returns(policy, env, batch, limit, bool(greedy)))[:n]
    return out


def evaluate_final(policies: list[AbstractQPolicy | None], env: GymnaxEnv, config: DQNConfig) -> list[np.ndarray]:
    """Each seed's policy on that seed's final-evaluation episodes.

    The final and the best policies of a run meet the same episodes (the key depends on the seed
    only), so their figures compare without selection bias; a seed without a policy gets an empty
    array.
    """
    return [
        np.zeros((0,), np.float32)
        if policy is None
        else evaluate(policy, env, episodes=config.eval_episodes, key=jr.fold_in(jr.key(config.seed + s), 0x5EED))
        for s, policy in enumerate(policies)
    ]
