"""A gymnax environment behind lerax's env-like interface (the catalogue itself is ``core.env_catalogue``).

Unlike lerax's own adapter, termination and truncation stay apart: ``terminal`` is the natural end
of an episode (bootstrapping stops there) and ``truncate`` is the time limit (bootstrapping goes on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Key

from lerax_tui.core.env_catalogue import NEEDS_DOWNLOAD, EnvInfo, catalogue, family  # noqa: F401 (catalogue re-exported)
from lerax_tui.core.spaces import AbstractSpace, Box, Discrete


class EnvError(ValueError):
    """An environment id that cannot be built, or whose spaces we cannot represent."""


def space_from_gymnax(space: Any) -> AbstractSpace:
    """Convert a gymnax ``Discrete`` or ``Box`` space.

    Raises:
        EnvError: For any other gymnax space (Dict, Tuple, ...).
    """
    from gymnax.environments import spaces as gym_spaces

    if isinstance(space, gym_spaces.Discrete):
        return Discrete(int(space.n))
    if isinstance(space, gym_spaces.Box):
        shape = tuple(int(s) for s in space.shape)
        return Box(
            low=np.broadcast_to(np.asarray(space.low), shape),
            high=np.broadcast_to(np.asarray(space.high), shape),
            shape=shape,
        )
    raise EnvError(f"gymnax space {type(space).__name__} is not supported (only Discrete and Box)")


@final
class GymnaxEnvState(eqx.Module):
    """The adapter's state: gymnax's state plus what the last transition produced."""

    env_state: Any
    observation: Array
    reward: Float[Array, ""]
    terminal: Bool[Array, ""]
    truncated: Bool[Array, ""]

    @property
    def unwrapped(self) -> Any:
        return self.env_state


@final
class GymnaxEnv(eqx.Module):
    """A gymnax environment with lerax's env-like interface.

    Attributes:
        name: ``GymnaxToLeraxEnv(<id>)``, as lerax names its adapter.
        env_id: The gymnax id.
        action_space: The converted action space.
        observation_space: The converted observation space.
        env: The gymnax environment object (static).
        params: The gymnax ``EnvParams`` (a pytree).

    Args:
        env_id: A registered gymnax id.
        **env_params: Overrides of the env's default ``EnvParams`` fields.

    Raises:
        EnvError: Unknown id, an id that needs a download, an unknown parameter, a parameter of the
            wrong type or out of range (``core.env_params``), or spaces we cannot represent.
    """

    name: str = eqx.field(static=True)
    env_id: str = eqx.field(static=True)
    action_space: AbstractSpace
    observation_space: AbstractSpace
    env: Any = eqx.field(static=True)
    params: Any

    def __init__(self, env_id: str, **env_params: Any):
        import gymnax

        if not isinstance(env_id, str):
            raise EnvError(f"an environment id is a string, not {type(env_id).__name__} {str(env_id)[:40]}")
        if env_id not in gymnax.registered_envs:
            close = [e for e in gymnax.registered_envs if env_id.lower().split("-")[0] in e.lower()]
            hint = f" (did you mean {', '.join(close)}?)" if close else " (see `lerax-tui envs`)"
            raise EnvError(f"unknown environment {env_id!r}{hint}")
        if env_id in NEEDS_DOWNLOAD:
            raise EnvError(f"{env_id} cannot be built offline: {NEEDS_DOWNLOAD[env_id]}")
        env, params = gymnax.make(env_id)
        if env_params:
            from lerax_tui.core.env_params import EnvParamError, check_env_params

            try:  # values come from files and users: typed and range-checked against the defaults
                params = params.replace(**check_env_params(env_id, params, env_params))
            except EnvParamError as e:
                raise EnvError(str(e)) from None
        self.name = f"GymnaxToLeraxEnv({env_id})"
        self.env_id = env_id
        self.env = env
        self.params = params
        self.action_space = space_from_gymnax(env.action_space(params))
        self.observation_space = space_from_gymnax(env.observation_space(params))

    def initial(self, *, key: Key[Array, ""]) -> GymnaxEnvState:
        observation, env_state = self.env.reset_env(key, self.params)
        env_state = jax.tree.map(jnp.asarray, env_state)
        return GymnaxEnvState(
            env_state=env_state,
            observation=jnp.asarray(observation),
            reward=jnp.zeros((), dtype=float),
            terminal=jnp.array(False),
            truncated=jnp.array(False),
        )

    def transition(self, state: GymnaxEnvState, action: Array, *, key: Key[Array, ""]) -> GymnaxEnvState:
        observation, env_state, reward, terminated, _ = self.env.step_env(key, state.env_state, action, self.params)
        env_state = jax.tree.map(jnp.asarray, env_state)
        truncated = jnp.logical_and(self.env.is_truncated(env_state, self.params), jnp.logical_not(terminated))
        return GymnaxEnvState(
            env_state=env_state,
            observation=jnp.asarray(observation),
            reward=jnp.asarray(reward, dtype=float),
            terminal=jnp.asarray(terminated, dtype=bool),
            truncated=jnp.asarray(truncated, dtype=bool),
        )

    def observation(self, state: GymnaxEnvState, *, key: Key[Array, ""] | None = None) -> Array:
        return state.observation

    def reward(
        self, state: GymnaxEnvState, action: Array, next_state: GymnaxEnvState, *, key: Key[Array, ""] | None = None
    ) -> Float[Array, ""]:
        return next_state.reward

    def terminal(self, state: GymnaxEnvState, *, key: Key[Array, ""] | None = None) -> Bool[Array, ""]:
        """True when the episode ended naturally (no bootstrapping past it)."""
        return state.terminal

    def truncate(self, state: GymnaxEnvState) -> Bool[Array, ""]:
        """True when the episode hit the time limit without terminating (bootstrapping continues)."""
        return state.truncated

    def action_mask(self, state: GymnaxEnvState, *, key: Key[Array, ""] | None = None) -> None:
        return None

    @property
    def max_episode_steps(self) -> int | None:
        steps = getattr(self.params, "max_steps_in_episode", None)
        return int(steps) if steps is not None else None

    def param_dict(self) -> dict[str, Any]:
        """The env parameters as JSON-able values (for config.json and manifests)."""
        out = {}
        for k, v in asdict(self.params).items():
            arr = np.asarray(v)
            out[k] = arr.item() if arr.ndim == 0 else arr.tolist()
        return out


def make_env(env_id: str, **env_params: Any) -> GymnaxEnv:
    """Build the adapted gymnax environment ``env_id``.

    Any registered id that can be built offline is returned, supported or not; the policy itself
    raises for a non-Discrete action space.

    Args:
        env_id: A gymnax id, e.g. ``"CartPole-v1"``.
        **env_params: Overrides of the environment's ``EnvParams`` fields.

    Returns:
        The adapted environment.

    Raises:
        EnvError: If the id is unknown, needs a download, or has spaces we cannot represent.
    """
    return GymnaxEnv(env_id, **env_params)


def non_default_params(env_id: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entries of ``params`` (e.g. a manifest's ``env_params``, which records every parameter)
    that differ from ``env_id``'s defaults: what to pass to :func:`make_env` to rebuild that env.

    Values stay as JSON gives them (lists stay lists; :func:`make_env` checks and converts them).
    Names the env does not have are kept, so :func:`make_env` refuses them with its message.

    Raises:
        EnvError: ``env_id`` cannot be built.
    """
    if not params:
        return {}
    defaults = make_env(env_id).param_dict()
    return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def _describe_gymnax_space(space: Any) -> str:
    shape = getattr(space, "shape", None)
    n = getattr(space, "n", None)
    if n is not None and type(space).__name__ == "Discrete":
        return f"Discrete({int(n)})"
    return f"{type(space).__name__}{tuple(shape) if shape is not None else ''}"


def _probe(env_id: str) -> EnvInfo:
    fam = family(env_id)
    if env_id in NEEDS_DOWNLOAD:
        return EnvInfo(env_id, fam, None, "?", None, False, NEEDS_DOWNLOAD[env_id], None)
    try:
        import gymnax

        env, params = gymnax.make(env_id)
        gym_action = env.action_space(params)
        gym_obs = env.observation_space(params)
    except Exception as e:  # a registered env that fails to build is reported, not raised
        return EnvInfo(env_id, fam, None, "?", None, False, f"could not be built: {type(e).__name__}: {e}", None)
    action = _describe_gymnax_space(gym_action)
    obs_shape = tuple(int(s) for s in getattr(gym_obs, "shape", ()) or ())
    steps = getattr(params, "max_steps_in_episode", None)
    steps = int(steps) if steps is not None else None
    if type(gym_action).__name__ != "Discrete":
        return EnvInfo(
            env_id,
            fam,
            obs_shape,
            action,
            None,
            False,
            f"continuous action space ({action}): an MLPQPolicy needs Discrete actions",
            steps,
        )
    num_actions = int(gym_action.n)
    if type(gym_obs).__name__ != "Box":
        return EnvInfo(
            env_id,
            fam,
            obs_shape,
            action,
            num_actions,
            False,
            f"observation space {type(gym_obs).__name__} is not a Box",
            steps,
        )
    return EnvInfo(env_id, fam, obs_shape, action, num_actions, True, None, steps)


def probe_catalogue() -> tuple[EnvInfo, ...]:
    """:func:`~lerax_tui.core.env_catalogue.catalogue` as the installed gymnax builds it (seconds: every
    env is made). The static table must equal this; ``tests/test_core_env.py`` checks that it does."""
    import gymnax

    return tuple(_probe(env_id) for env_id in gymnax.registered_envs)
