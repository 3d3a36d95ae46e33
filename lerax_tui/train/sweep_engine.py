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

import threading
from collections.abc import Callable, Sequence
from typing import Any

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

    return dqn.run_once(build, keys, _stacked_epsilon(configs))


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
    """The online policies of ``agents`` in ``state``, stacked on a leading axis (for
    :func:`evaluate_agents`); numpy indexing when ``state`` is a host copy (compiles nothing)."""
    return take_agents(state.seeds.online, agents)


def take_agents(policies: MLPQPolicy, agents: Sequence[int]) -> MLPQPolicy:
    """``agents`` of the stacked ``policies``, stacked."""
    index = np.asarray(list(agents), np.int64)
    return jax.tree.map(lambda x: x[index] if eqx.is_array(x) else x, policies)


def stack_policies(policies: Sequence[MLPQPolicy]) -> MLPQPolicy:
    """Single policies (same structure) stacked on a leading axis, on the host; the epsilon of
    each (a float or an array) becomes one array, so the stack has :func:`agent_policies`'s structure."""
    policies = [eqx.tree_at(lambda p: p.epsilon, p, np.float32(p.epsilon)) for p in policies]
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]) if eqx.is_array(xs[0]) else xs[0], *policies)


def _agent(policies: MLPQPolicy, i: int) -> MLPQPolicy:
    return jax.tree.map(lambda x: x[i] if eqx.is_array(x) else x, policies)


@eqx.filter_jit
def _returns_many(policies: MLPQPolicy, env: GymnaxEnv, keys: Array | np.ndarray, episodes: int, limit: int) -> Array:
    # what evaluate() splits each agent's key into
    split = jax.vmap(lambda k: jr.split(jr.wrap_key_data(k), episodes))(keys)
    return eqx.filter_vmap(lambda p, k: _episode_returns(p, env, k, limit, True))(policies, split)


_AHEAD: dict[tuple, Any] = {}
"""Evaluation programs compiled ahead (:func:`compile_evaluation`), by what they were compiled for."""


def _greedy(policies: MLPQPolicy, n: int) -> MLPQPolicy:
    # epsilon plays no part in greedy episodes: zeros, so every call with n agents is one program
    return eqx.tree_at(lambda p: p.epsilon, policies, np.zeros(n, np.float32))


def _signature(policies: MLPQPolicy, env: GymnaxEnv, keys: np.ndarray, episodes: int, limit: int) -> tuple:
    leaves = tuple(
        (np.shape(x), np.result_type(x).str) if eqx.is_array(x) else repr(x) for x in jax.tree.leaves(policies)
    )
    return id(env), episodes, limit, keys.shape, str(jax.tree.structure(policies)), leaves


def compile_evaluation(policies: MLPQPolicy, env: GymnaxEnv, *, episodes: int, keys: np.ndarray) -> None:
    """Compile ahead what :func:`evaluate_agents` runs for stacked ``policies`` (their number and
    structure), ``episodes`` and keys like ``keys``: a sweep does it on a thread while it trains, so
    its first evaluation does not stop training to compile. Later calls with that signature use it."""
    n = len(keys)
    if not 0 < episodes <= EPISODE_BATCH:
        return
    limit = int(env.max_episode_steps or DEFAULT_STEP_LIMIT)
    policies, keys = _greedy(policies, n), np.asarray(keys)
    signature = _signature(policies, env, keys, episodes, limit)
    if signature not in _AHEAD:
        if len(_AHEAD) >= 16:  # programs of sweeps long gone
            _AHEAD.clear()
        lowered = _returns_many.lower(policies, env, keys, episodes, limit)  # type: ignore[attr-defined]
        _AHEAD[signature] = lowered.compile()


def evaluate_agents(policies: MLPQPolicy, env: GymnaxEnv, *, episodes: int, keys: Any) -> list[np.ndarray]:
    """Greedy returns of stacked ``policies`` (one call for all), agent ``i`` on the ``episodes``
    episodes :func:`~lerax_tui.train.evaluation.evaluate` plays with key ``keys[i]`` (raw key data, as
    :func:`periodic_keys` gives them; the same returns). Epsilon plays no part in greedy episodes: it
    is passed as zeros, so every call with as many agents shares one compiled program whatever the
    policies' epsilon was stored as."""
    keys = np.asarray(keys)
    n = len(keys)
    if episodes <= 0:
        return [np.zeros((0,), np.float32) for _ in range(n)]
    if episodes > EPISODE_BATCH:  # memory stays one batch's: agent by agent, in batches
        return [
            evaluate(_agent(policies, i), env, episodes=episodes, key=jr.wrap_key_data(jnp.asarray(keys[i])))
            for i in range(n)
        ]
    limit = int(env.max_episode_steps or DEFAULT_STEP_LIMIT)
    policies, keys = _greedy(policies, n), np.asarray(keys)
    ahead = _AHEAD.get(_signature(policies, env, keys, episodes, limit))
    run = ahead if ahead is not None else _returns_many
    out = np.asarray(run(policies, env, keys, episodes, limit))
    return [out[i] for i in range(n)]


def base_keys(configs: Sequence[DQNConfig], seeds: int) -> np.ndarray:
    """Raw data of ``jr.key(config.seed + s)`` for every agent of a program (configuration-major)."""
    return np.stack([np.asarray(jr.key_data(jr.key(c.seed + s))) for c in configs for s in range(seeds)])


@jax.jit
def _periodic(base: Array, step: Array) -> Array:
    return jax.vmap(lambda k: jr.key_data(jr.fold_in(jr.fold_in(jr.wrap_key_data(k), 0xE7A1), step)))(base)


@jax.jit
def _final(base: Array) -> Array:
    return jax.vmap(lambda k: jr.key_data(jr.fold_in(jr.wrap_key_data(k), 0x5EED)))(base)


def periodic_keys(base: np.ndarray, step: int) -> np.ndarray:
    """Each agent's periodic-evaluation key data at ``step`` (the runner's
    ``fold_in(fold_in(key(seed + s), 0xE7A1), step)``), every agent in one call."""
    return np.asarray(_periodic(jnp.asarray(base), jnp.asarray(step, jnp.uint32)))


def final_keys(base: np.ndarray) -> np.ndarray:
    """Each agent's final-evaluation key data (:func:`~lerax_tui.train.evaluation.evaluate_final`'s
    ``fold_in(key(seed + s), 0x5EED)``), every agent in one call."""
    return np.asarray(_final(jnp.asarray(base)))


def _same_layout(a: dqn.DQNState, b: dqn.DQNState) -> bool:
    """Whether a chunk compiled for ``a`` runs ``b`` as is: same tree, static parts, shapes, dtypes, shardings."""
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    if str(ta) != str(tb):
        return False
    for x, y in zip(la, lb, strict=True):
        if eqx.is_array(x) != eqx.is_array(y):
            return False
        if eqx.is_array(x):
            if x.shape != y.shape or x.dtype != y.dtype or getattr(x, "sharding", None) != getattr(y, "sharding", None):
                return False
        elif x is not y and x != y:
            return False
    return True


def build_program(
    env: GymnaxEnv,
    config: DQNConfig,
    max_iterations: int,
    hyper: Hyper | None,
    make_state: Callable[[], dqn.DQNState],
    *,
    ahead: bool = True,
) -> tuple[dqn.DQNState, dqn.ChunkFn]:
    """The program's first state (``make_state()``, which places it on the devices) and its chunk
    function (``config``'s, with ``hyper``) compiled for it.

    With ``ahead``, the chunk compiles on a second thread, for a zero state of the one-process
    layout, while ``make_state`` builds the real one (itself a compile: a program's init), so the two
    compiles overlap on a machine with a core to spare. Where the layouts differ after all, or
    compiling ahead failed, the chunk compiles again for the real state: the result is the same
    either way. Without it (a distributed program), one after the other."""
    if not ahead:
        state = make_state()
        chunk = dqn.make_chunk_fn(env, config, max_iterations, state, hyper)
        chunk.compile(state)
        return state, chunk
    skeleton = dqn.state_skeleton(env, config)
    chunk = dqn.make_chunk_fn(env, config, max_iterations, skeleton, hyper)
    zeros = jax.tree.map(
        lambda x: jax.device_put(np.zeros(x.shape, x.dtype)) if isinstance(x, jax.ShapeDtypeStruct) else x, skeleton
    )
    failed: list[BaseException] = []

    def compile_zeros() -> None:
        try:
            chunk.compile(dqn.shard_seeds(zeros))
        except Exception as e:  # compiled again below, in this thread, where it raises for real
            failed.append(e)

    thread = threading.Thread(target=compile_zeros, name="sweep-compile", daemon=True)
    thread.start()
    try:
        state = make_state()
    finally:
        thread.join()
    if failed or not _same_layout(dqn.shard_seeds(zeros), state):
        chunk.compile(state)
    return state, chunk
