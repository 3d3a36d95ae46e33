"""One sweep program on the device: configurations x seeds flattened onto the engine's agent axis.

Agent ``c * seeds + s`` is seed ``s`` of the program's configuration ``c``; its PRNG key is the one
seed ``s`` of a plain ``train --seeds K`` run of that configuration gets, so a member starts from the
same weights and meets the same episodes as the equivalent separate run. The per-agent values of
the keys that vary become a :class:`~lerax_tui.train.hyper.Hyper` of arrays, constants of the
compiled chunk; everything else is the program config's (``configs[0]`` with ``num_seeds`` =
agents), so the shapes match every member's.

A member's slice of the state (:func:`member_state`) is an ordinary ``num_seeds = K`` run's state:
its ``resume.eqx`` resumes with ``train --resume`` and a sweep resume joins the slices again
(:func:`join_states`).
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array

from lerax_tui.core.env import GymnaxEnv
from lerax_tui.core.policy import MLPQPolicy
from lerax_tui.train import dqn
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.evaluation import DEFAULT_STEP_LIMIT, EPISODE_BATCH, _episode_returns, evaluate
from lerax_tui.train.hyper import Hyper, stack_hyper


def program_config(configs: Sequence[DQNConfig]) -> DQNConfig:
    """The engine config of a program running ``configs`` (same shape keys), each with its seeds."""
    return configs[0].replace(num_seeds=sum(c.num_seeds for c in configs))


def program_hyper(configs: Sequence[DQNConfig]) -> Hyper | None:
    """Per-agent values of the keys that vary among ``configs`` (None when none does: a plain program)."""
    hyper = stack_hyper(configs, configs[0].num_seeds)
    return hyper if jax.tree.leaves(eqx.filter(hyper, eqx.is_array)) else None


def _stacked_epsilon(configs: Sequence[DQNConfig]) -> Array:
    return jnp.asarray(np.repeat(np.asarray([c.epsilon for c in configs], np.float32), configs[0].num_seeds))


def init_program(env: GymnaxEnv, configs: Sequence[DQNConfig]) -> dqn.DQNState:
    """Step 0 of every agent: each configuration's seeds from the keys its own run would use, each
    policy's stored epsilon its configuration's."""
    config = program_config(configs)
    dqn.check_engine(env, config)
    keys = jnp.concatenate([dqn.seed_keys(c) for c in configs])

    @eqx.filter_jit
    def build(keys, epsilon):
        seeds = eqx.filter_vmap(lambda k: dqn.init_seed(env, config, k))(keys)
        seeds = eqx.tree_at(lambda s: (s.online.epsilon, s.target.epsilon), seeds, (epsilon, epsilon))
        return dqn.DQNState(seeds=seeds, step=jnp.zeros((), jnp.int32))

    return build(keys, _stacked_epsilon(configs))


def member_state(state: dqn.DQNState, index: int, seeds: int) -> dqn.DQNState:
    """The ``index``-th configuration's agents as a ``num_seeds = seeds`` run's state (a copy)."""
    lo = index * seeds
    return dqn.DQNState(
        seeds=jax.tree.map(lambda x: x[lo : lo + seeds] if eqx.is_array(x) else x, state.seeds), step=state.step
    )


def join_states(states: Sequence[dqn.DQNState]) -> dqn.DQNState:
    """Members' states (all at one step) as one program's state."""
    seeds = jax.tree.map(lambda *xs: jnp.concatenate(xs) if eqx.is_array(xs[0]) else xs[0], *[s.seeds for s in states])
    return dqn.DQNState(seeds=seeds, step=states[0].step)


def agent_policies(state: dqn.DQNState, agents: Sequence[int]) -> MLPQPolicy:
    """The online policies of ``agents``, stacked on a leading axis (for :func:`evaluate_agents`)."""
    index = jnp.asarray(list(agents), jnp.int32)
    return jax.tree.map(lambda x: x[index] if eqx.is_array(x) else x, state.seeds.online)


def stack_policies(policies: Sequence[MLPQPolicy]) -> MLPQPolicy:
    """Single policies (same structure) stacked on a leading axis."""
    return jax.tree.map(
        lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]) if eqx.is_array(xs[0]) else xs[0], *policies
    )


def _agent(policies: MLPQPolicy, i: int) -> MLPQPolicy:
    return jax.tree.map(lambda x: x[i] if eqx.is_array(x) else x, policies)


@eqx.filter_jit
def _returns_many(policies: MLPQPolicy, env: GymnaxEnv, keys: Array, limit: int) -> Array:
    return eqx.filter_vmap(lambda p, k: _episode_returns(p, env, k, limit, True))(policies, keys)


def evaluate_agents(policies: MLPQPolicy, env: GymnaxEnv, *, episodes: int, keys: Sequence[Array]) -> list[np.ndarray]:
    """Greedy returns of stacked ``policies`` (one call for all), agent ``i`` on the ``episodes``
    episodes ``keys[i]`` gives :func:`~lerax_tui.train.evaluation.evaluate` (the same returns)."""
    if episodes <= 0:
        return [np.zeros((0,), np.float32) for _ in keys]
    if episodes > EPISODE_BATCH:  # memory stays one batch's: agent by agent, in batches
        return [evaluate(_agent(policies, i), env, episodes=episodes, key=k) for i, k in enumerate(keys)]
    limit = int(env.max_episode_steps or DEFAULT_STEP_LIMIT)
    split = jnp.stack([jr.split(k, episodes) for k in keys])
    out = np.asarray(_returns_many(policies, env, split, limit))
    return [out[i] for i in range(len(keys))]


def periodic_key(config: DQNConfig, seed: int, step: int) -> Array:
    """The key the runner's periodic evaluation of seed ``seed`` uses at ``step``."""
    return jr.fold_in(jr.fold_in(jr.key(config.seed + seed), 0xE7A1), step)


def final_key(config: DQNConfig, seed: int) -> Array:
    """The key :func:`~lerax_tui.train.evaluation.evaluate_final` uses for seed ``seed``."""
    return jr.fold_in(jr.key(config.seed + seed), 0x5EED)
