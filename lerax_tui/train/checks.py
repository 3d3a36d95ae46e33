"""Checks made before anything is written: the env is one a DQN can act in, a policy fits the
config, a config continues a saved run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lerax_tui.train.config import ConfigError, DQNConfig

if TYPE_CHECKING:  # both import JAX; the checks are imported before training starts
    from lerax_tui.core.env import GymnaxEnv
    from lerax_tui.core.policy import MLPQPolicy

# Changing these on resume keeps the state's structure (and the meaning of what was learned).
RESUMABLE_CHANGES = ("total_timesteps", "checkpoint_interval", "eval_episodes", "eval_interval")


def check_env(env_id: str, env_params: dict | None):
    """Build the environment and check that a DQN can act in it.

    Raises:
        EnvError: Unknown id, id needing a download, or unknown env parameter.
        ValueError: If the action space is not Discrete or the observation space not a Box.
    """
    from lerax_tui.core.env import make_env
    from lerax_tui.core.spaces import Box, Discrete

    env = make_env(env_id, **(env_params or {}))
    if not isinstance(env.action_space, Discrete):
        raise ValueError(
            f"{env_id} is not supported: its action space is {type(env.action_space).__name__}, DQN needs Discrete actions"
        )
    if not isinstance(env.observation_space, Box):
        raise ValueError(
            f"{env_id} is not supported: its observation space is {type(env.observation_space).__name__}, not a Box"
        )
    return env


def check_same_config(saved: dict, config: DQNConfig) -> None:
    """Raise ConfigError unless ``config`` continues ``saved`` (only RESUMABLE_CHANGES may differ)."""
    if not isinstance(saved, dict):
        raise ConfigError("config", f"the saved configuration is a {type(saved).__name__}, not an object")
    for name, value in config.to_dict().items():
        if name not in RESUMABLE_CHANGES and saved.get(name) != value:
            raise ConfigError(
                name,
                f"{value!r} differs from the run's {saved.get(name)!r}; only {', '.join(RESUMABLE_CHANGES)} may change on resume",
            )


def check_policy_fits(policy: MLPQPolicy, env: GymnaxEnv, config: DQNConfig) -> None:
    """Raise ValueError unless ``policy`` has the structure ``config`` builds for ``env``."""
    import equinox as eqx
    import jax

    from lerax_tui.core.fingerprint import lerax_tui_fingerprint
    from lerax_tui.core.policy import MLPQPolicy

    skeleton = eqx.filter_eval_shape(
        MLPQPolicy, env, epsilon=config.epsilon, width_size=config.width_size, depth=config.depth, key=jax.random.key(0)
    )
    if lerax_tui_fingerprint(eqx.tree_at(lambda p: p.epsilon, policy, config.epsilon)) != lerax_tui_fingerprint(
        skeleton
    ):
        raise ValueError(
            f"init_policy does not fit: it is width_size={policy.q_network.width_size}, depth={policy.q_network.depth} "
            f"for {policy.q_network.in_size} inputs and {policy.q_network.out_size} actions; the config builds "
            f"width_size={config.width_size}, depth={config.depth} for {env.env_id}"
        )
