"""The jitted DQN: training state, one chunk of iterations per call, multi-seed by vmap.

One *iteration* is one vector step: every one of the ``num_envs`` environments of every seed takes
one action. All intervals are counted in environment steps per seed (``step`` grows by ``num_envs``
per iteration) and the counter is shared by the seeds, so the decisions "train now" and "update the
target now" are unbatched: under ``vmap`` they stay real branches instead of both-sides selects.

A chunk runs ``n_active`` iterations (a traced count, at most the static ``max_iterations``) in a
``lax.fori_loop``, so the host can change the chunk length every call without recompiling. The
replay buffer is written in place once per iteration and only read by the gradient steps, so an
iteration costs the same at any ``buffer_size`` (``tests/test_train_hlo.py``, ``bench/scaling.py``).
"""

from __future__ import annotations

from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, Float, Int, PyTree

from lerax_tui.core.env import GymnaxEnv, GymnaxEnvState
from lerax_tui.core.policy import MLPQPolicy
from lerax_tui.train.buffer import ReplayBuffer, Transitions, buffer_add, buffer_init
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.hyper import Hyper, any_traced, epsilon_traced, hyper_of, lr_scale_traced, masked
from lerax_tui.train.learner import (  # noqa: F401 (re-exported)
    lr_scale_at,
    make_optimizer,
    q_batch,
    td_loss,
    td_targets,
    update_seed,
    update_target,
)
from lerax_tui.train.memory import buffer_bytes, check_engine, memory_available  # noqa: F401 (re-exported)
from lerax_tui.train.prng_cpu import use_straight_threefry

use_straight_threefry()  # same bits, no while loop per random draw on CPU (see prng_cpu)


@final
class SeedState(eqx.Module):
    """Everything one seed carries between iterations (a leading seed axis in :class:`DQNState`).

    Attributes:
        online: The trained policy; its ``epsilon`` leaf is the config's (the schedule is put in
            only while acting).
        target: The target policy (same structure as ``online``).
        opt_state: Adam's state for ``online.q_network``.
        buffer: The replay buffer.
        env_state: ``num_envs`` environment states.
        episode_return: Running return of each environment's current episode.
        episode_length: Running length of each environment's current episode.
        key: Raw PRNG key data (``uint32[2]``), so the state serialises as plain arrays.
    """

    online: MLPQPolicy
    target: MLPQPolicy
    opt_state: PyTree
    buffer: ReplayBuffer
    env_state: GymnaxEnvState
    episode_return: Float[Array, " envs"]
    episode_length: Int[Array, " envs"]
    key: Array


@final
class DQNState(eqx.Module):
    """The full training state: per-seed states stacked on axis 0, and the shared step counter."""

    seeds: SeedState
    step: Int[Array, ""]


@final
class ChunkOutput(eqx.Module):
    """What one chunk reports (small; converted to numpy by the host).

    Episode arrays are ``(max_iterations, num_seeds, num_envs)``; an entry is an episode that ended
    at that iteration in that env when ``episode_done`` is set. Iterations past ``n_active`` are
    never done. ``updates`` counts gradient steps (per seed in a sweep that traces when to train;
    ``epsilon`` is then the program config's, not each agent's).
    """

    episode_return: Float[Array, "iters seeds envs"]
    episode_length: Int[Array, "iters seeds envs"]
    episode_done: Bool[Array, "iters seeds envs"]
    episode_step: Int[Array, " iters"]
    loss_sum: Float[Array, " seeds"]
    updates: Int[Array, ...]
    epsilon: Float[Array, ""]
    step: Int[Array, ""]
    finite: Bool[Array, " seeds"]


def epsilon_at(config: DQNConfig, step: Int[Array, ""]) -> Float[Array, ""]:
    """Linear schedule from ``epsilon_start`` to ``epsilon_end`` over ``exploration_fraction`` of
    the run (in env steps per seed), then flat: ``optax.linear_schedule``.

    optax computes ``(start - end) * (1 - t) + end`` where the former hand-written schedule computed
    ``start + t * (end - start)``: the values differ by at most one float32 ulp (6e-8) at most steps.
    """
    decay_steps = config.exploration_fraction * config.total_timesteps
    if decay_steps <= 0:  # no decay: straight to the end value (optax would hold the start value)
        return jnp.asarray(config.epsilon_end, jnp.float32)
    schedule = optax.linear_schedule(config.epsilon_start, config.epsilon_end, decay_steps)
    return jnp.asarray(schedule(step), jnp.float32)


def _where_done(done: Bool[Array, " envs"], reset: GymnaxEnvState, current: GymnaxEnvState) -> GymnaxEnvState:
    def pick(r, c):
        mask = done.reshape(done.shape + (1,) * (c.ndim - 1))
        return jnp.where(mask, r, c)

    return jax.tree.map(pick, reset, current)


def init_seed(env: GymnaxEnv, config: DQNConfig, key_data: Array) -> SeedState:
    """The state of one seed at step 0 (call under ``vmap`` for several)."""
    k_policy, k_env, k_run = jr.split(jr.wrap_key_data(key_data), 3)
    online = MLPQPolicy(env, epsilon=config.epsilon, width_size=config.width_size, depth=config.depth, key=k_policy)
    online = eqx.tree_at(lambda p: p.epsilon, online, jnp.asarray(config.epsilon, jnp.float32))
    opt_state = make_optimizer(config).init(eqx.filter(online.q_network, eqx.is_array))
    env_state = jax.vmap(lambda k: env.initial(key=k))(jr.split(k_env, config.num_envs))
    obs = env_state.observation
    buffer = buffer_init(config.buffer_size, obs.shape[1:], obs.dtype)
    return SeedState(
        online=online,
        target=online,
        opt_state=opt_state,
        buffer=buffer,
        env_state=env_state,
        episode_return=jnp.zeros((config.num_envs,), jnp.float32),
        episode_length=jnp.zeros((config.num_envs,), jnp.int32),
        key=jr.key_data(k_run),
    )


def seed_keys(config: DQNConfig) -> Array:
    """Raw key data for each seed: seed ``k`` uses ``config.seed + k``."""
    return jnp.stack([jr.key_data(jr.key(config.seed + k)) for k in range(config.num_seeds)])


def init_state(env: GymnaxEnv, config: DQNConfig) -> DQNState:
    """The full state at step 0, every seed stacked on axis 0 (jitted: one compile, no op-by-op)."""
    check_engine(env, config)

    @eqx.filter_jit
    def build(keys):
        return DQNState(seeds=eqx.filter_vmap(lambda k: init_seed(env, config, k))(keys), step=jnp.zeros((), jnp.int32))

    return run_once(build, seed_keys(config))


INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def run_once(build: Any, *args: Any) -> Any:
    """Run a jitted program that runs once (an initial state), compiled at XLA backend level 1: the
    default optimisation spends 5-8 s of a 2-core machine on the policies' threefry initialisers, for
    a program that runs in 0.1 s; level 1 takes under 1 s and gives the same bits
    (``tests/test_train_dqn.py`` compares it with a default compile; level 0 does not: env first
    observations differ in the last bit). Inside a caller's jit or ``eval_shape`` (a distributed run
    builds its state sharded there) ``build`` is traced into that program instead."""
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(args)):
        return build(*args)
    return build.lower(*args).compile(compiler_options=INIT_COMPILER_OPTIONS)(*args)


def with_q_network(state: DQNState, q_network: eqx.nn.MLP) -> DQNState:
    """``state`` with every seed's online and target networks set to ``q_network``'s weights."""

    def put(stacked: eqx.nn.MLP) -> eqx.nn.MLP:
        return jax.tree.map(
            lambda s, p: jnp.broadcast_to(jnp.asarray(p, s.dtype), s.shape) if eqx.is_array(s) else s,
            stacked,
            q_network,
        )

    seeds = state.seeds
    return eqx.tree_at(
        lambda st: (st.seeds.online.q_network, st.seeds.target.q_network),
        state,
        (put(seeds.online.q_network), put(seeds.target.q_network)),
    )


def state_skeleton(env: GymnaxEnv, config: DQNConfig) -> DQNState:
    """The state's shapes and dtypes, without allocating it (for loading ``resume.eqx``)."""
    check_engine(env, config)
    return eqx.filter_eval_shape(
        lambda keys: DQNState(
            seeds=eqx.filter_vmap(lambda k: init_seed(env, config, k))(keys), step=jnp.zeros((), jnp.int32)
        ),
        seed_keys(config),
    )


def act_seed(seed: SeedState, env: GymnaxEnv, epsilon: Float[Array, ""], num_envs: int):
    """One vector step of one seed: act epsilon-greedily, step, store, auto-reset.

    Returns:
        ``(seed, (return, length, done))`` where the arrays describe episodes ending this step.
    """
    key, k_act, k_step, k_reset = jr.split(jr.wrap_key_data(seed.key), 4)
    policy = eqx.tree_at(lambda p: p.epsilon, seed.online, epsilon)
    observation = seed.env_state.observation
    actions = jax.vmap(lambda o, k: policy(None, o, key=k)[1])(observation, jr.split(k_act, num_envs))
    after = jax.vmap(lambda s, a, k: env.transition(s, a, key=k))(seed.env_state, actions, jr.split(k_step, num_envs))
    done = after.terminal | after.truncated
    fresh = jax.vmap(lambda k: env.initial(key=k))(jr.split(k_reset, num_envs))
    buffer = buffer_add(
        seed.buffer,
        Transitions(
            observation=observation,
            action=actions,
            reward=after.reward,
            next_observation=after.observation,
            terminated=after.terminal,
            truncated=after.truncated,
        ),
    )
    ep_return = seed.episode_return + after.reward.astype(jnp.float32)
    ep_length = seed.episode_length + 1
    seed = SeedState(
        online=seed.online,
        target=seed.target,
        opt_state=seed.opt_state,
        buffer=buffer,
        env_state=_where_done(done, fresh, after),
        episode_return=jnp.where(done, 0.0, ep_return),
        episode_length=jnp.where(done, 0, ep_length),
        key=jr.key_data(key),
    )
    return seed, (ep_return, ep_length, done)


def _params_finite(q_network: eqx.nn.MLP) -> Bool[Array, ""]:
    leaves = jax.tree.leaves(eqx.filter(q_network, eqx.is_array))
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _arrays(tree: Any) -> Any:
    return eqx.filter(tree, eqx.is_array)


def iterate(
    seeds: SeedState,
    step: Int[Array, ""],
    static: SeedState,
    env: GymnaxEnv,
    config: DQNConfig,
    *,
    many: bool,
    hyper: Hyper | None = None,
):
    """One iteration of every seed, on the array part of the seed states (``static`` holds the rest:
    the MLP's activation functions are leaves that ``vmap``/``fori_loop`` cannot carry).

    With ``many`` the seed states carry a leading seed axis and everything is vmapped over it;
    without, they are one seed's, unbatched (see :func:`run_chunk`). ``hyper`` (a sweep program's,
    :mod:`~lerax_tui.train.hyper`) may hold per-agent values; without it, the config's.

    Returns:
        ``(seeds, step, per-env episode arrays, loss_sum, updates)``; ``updates`` is per agent when
        a sweep traces ``learning_starts`` or ``train_frequency``.
    """
    hp = hyper if hyper is not None else hyper_of(config)
    hp_arrays, hp_static = eqx.partition(hp, eqx.is_array)
    assert many or not jax.tree.leaves(hp_arrays), "per-agent hyperparameters need the agent axis"

    def over(fn, *shared: int):
        """``fn`` vmapped over the agents (``shared``: positions of arguments without the axis)."""
        if not many:
            return fn
        return lambda *args: jax.vmap(fn, in_axes=tuple(None if i in shared else 0 for i in range(len(args))))(*args)

    num_envs = config.num_envs
    after = step + num_envs
    if any_traced(hp, "epsilon_start", "epsilon_end", "exploration_fraction"):
        epsilon = epsilon_traced(hp, config.total_timesteps, step)
    else:
        epsilon = epsilon_at(config, step)
    lr_scale: Array | None
    if any_traced(hp, "linear_lr"):
        lr_scale = lr_scale_traced(hp, config.total_timesteps, step)
    else:
        lr_scale = lr_scale_at(config, step) if config.lr_schedule != "constant" else None

    def act(seed_arrays, epsilon):
        seed, episodes = act_seed(eqx.combine(seed_arrays, static), env, epsilon, num_envs)
        return _arrays(seed), episodes

    seeds, episodes = over(act, *([1] if jnp.ndim(epsilon) == 0 else []))(seeds, epsilon)

    rounds = after // hp.train_frequency - step // hp.train_frequency
    n_updates = jnp.where(after >= hp.learning_starts, rounds * config.gradient_steps, 0)

    # The gradient steps carry only what they change; the buffer and the target are constants of
    # the loop, read in place (a carried buffer is copied whole every iteration).
    def learn(learner, buffer, target, hp_agent, lr_scale):
        online, opt_state, key = learner
        online, opt_state, key, loss = update_seed(
            eqx.combine(online, static.online),
            opt_state,
            key,
            eqx.combine(target, static.target),
            buffer,
            config,
            lr_scale,
            eqx.combine(hp_agent, hp_static),
        )
        return (_arrays(online), opt_state, key), loss

    learn_all = over(learn, *([4] if lr_scale is None or jnp.ndim(lr_scale) == 0 else []))

    def one_update(_, carry):
        learner, loss_sum = carry
        learner, loss = learn_all(learner, seeds.buffer, seeds.target, hp_arrays, lr_scale)
        return learner, loss_sum + loss

    def one_masked_update(i, carry):  # per-agent counts (a sweep): the agents with none left keep theirs
        learner, loss_sum = carry
        new, loss = learn_all(learner, seeds.buffer, seeds.target, hp_arrays, lr_scale)
        due = i < n_updates
        return jax.vmap(masked)(due, new, learner), loss_sum + jnp.where(due, loss, 0.0)

    loss_shape = seeds.episode_return.shape[:-1]
    learner = (seeds.online, seeds.opt_state, seeds.key)
    carry = (learner, jnp.zeros(loss_shape, jnp.float32))
    if jnp.ndim(n_updates):
        (online, opt_state, key), loss_sum = jax.lax.fori_loop(0, jnp.max(n_updates), one_masked_update, carry)
    elif -(-num_envs // config.train_frequency) * config.gradient_steps == 1:  # never more than one: a branch
        (online, opt_state, key), loss_sum = jax.lax.cond(n_updates > 0, lambda: one_update(0, carry), lambda: carry)
    else:
        (online, opt_state, key), loss_sum = jax.lax.fori_loop(0, n_updates, one_update, carry)

    def mix(online, target, hp_agent):
        tau = eqx.combine(hp_agent, hp_static).tau
        return _arrays(update_target(eqx.combine(online, static.online), eqx.combine(target, static.target), tau))

    do_target = after // hp.target_update_interval > step // hp.target_update_interval
    if jnp.ndim(do_target):  # per agent (a sweep): mix where due, in one branch taken when any is
        target = jax.lax.cond(
            jnp.any(do_target),
            lambda: jax.vmap(masked)(do_target, over(mix)(online, seeds.target, hp_arrays), seeds.target),
            lambda: seeds.target,
        )
    else:
        target = jax.lax.cond(do_target, lambda: over(mix)(online, seeds.target, hp_arrays), lambda: seeds.target)
    seeds = eqx.tree_at(
        lambda s: (s.online, s.opt_state, s.key, s.target),
        seeds,
        (online, opt_state, key, target),
        is_leaf=lambda x: x is None,
    )
    return seeds, after, episodes, loss_sum, n_updates


def run_chunk(
    arrays: DQNState,
    n_active: Int[Array, ""],
    *,
    static: DQNState,
    env: GymnaxEnv,
    config: DQNConfig,
    max_iterations: int,
    hyper: Hyper | None = None,
) -> tuple[DQNState, ChunkOutput]:
    """Advance ``n_active <= max_iterations`` iterations of the state ``combine(arrays, static)``
    (unjitted; see :func:`make_chunk_fn`). Returns the new array part and the chunk's report.

    With one seed the seed axis is dropped for the whole chunk (XLA's batched matmuls with a batch
    of one are ~35% slower on CPU than plain ones) and put back at the end, outside the loop.
    ``hyper``: a sweep program's per-agent hyperparameters (:func:`iterate`).
    """
    num_seeds = arrays.seeds.episode_return.shape[0]
    many = num_seeds > 1
    shape = (max_iterations, num_seeds, config.num_envs)
    n_active = jnp.minimum(jnp.asarray(n_active, jnp.int32), max_iterations)
    seeds = arrays.seeds if many else jax.tree.map(lambda x: x[0], arrays.seeds)
    per_seed = (lambda x: x) if many else (lambda x: x[None])

    def body(i, carry):
        seeds, step, ret, length, done, ep_step, loss_sum, updates = carry
        seeds, step, (r, lengths, d), loss, n = iterate(seeds, step, static.seeds, env, config, many=many, hyper=hyper)
        return (
            seeds,
            step,
            ret.at[i].set(per_seed(r)),
            length.at[i].set(per_seed(lengths)),
            done.at[i].set(per_seed(d)),
            ep_step.at[i].set(step),
            loss_sum + per_seed(loss),
            updates + n,
        )

    reports = (
        jnp.zeros(shape, jnp.float32),
        jnp.zeros(shape, jnp.int32),
        jnp.zeros(shape, bool),
        jnp.zeros((max_iterations,), jnp.int32),
    )
    per_agent_updates = hyper is not None and any_traced(hyper, "learning_starts", "train_frequency")
    updates = jnp.zeros((num_seeds,) if per_agent_updates else (), jnp.int32)
    init = (seeds, arrays.step, *reports, jnp.zeros((num_seeds,), jnp.float32), updates)
    seeds, step, ret, length, done, ep_step, loss_sum, updates = jax.lax.fori_loop(0, n_active, body, init)
    arrays = DQNState(seeds=jax.tree.map(per_seed, seeds), step=step)
    finite = jax.vmap(lambda q: _params_finite(q))(arrays.seeds.online.q_network)
    out = ChunkOutput(
        episode_return=ret,
        episode_length=length,
        episode_done=done,
        episode_step=ep_step,
        loss_sum=loss_sum,
        updates=updates,
        epsilon=epsilon_at(config, step),
        step=step,
        finite=finite & jnp.isfinite(loss_sum),
    )
    return arrays, out


def seed_policy(state: DQNState, index: int, config: DQNConfig) -> MLPQPolicy:
    """Seed ``index``'s online policy with the config's epsilon as a Python float (for saving)."""
    policy = jax.tree.map(lambda x: x[index] if eqx.is_array(x) else x, state.seeds.online)
    return eqx.tree_at(lambda p: p.epsilon, policy, float(config.epsilon))


# Re-exported at the end (they import DQNState from here): the runner, tests and benches use dqn.X.
from lerax_tui.train.chunk_fn import ChunkFn, make_chunk_fn  # noqa: E402, F401
from lerax_tui.train.episodes import Episodes, completed_episodes  # noqa: E402, F401
from lerax_tui.train.sharding import shard_seeds  # noqa: E402, F401
