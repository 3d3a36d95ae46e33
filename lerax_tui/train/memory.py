"""Will the replay buffers fit? Their size, the memory the device has left, and the checks that
refuse a run before it allocates (instead of the process being killed)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lerax_tui.train.config import ConfigError, DQNConfig

if TYPE_CHECKING:  # importing this module starts no JAX: the forms check memory as the user types
    from lerax_tui.core.env import GymnaxEnv


def transition_bytes(observation_shape: tuple[int, ...] | None) -> int:
    """Bytes one stored transition takes: observation and next observation (float32), action
    (int32), reward (float32), terminated and truncated (bool)."""
    obs = 4 * math.prod(observation_shape or (1,))
    return 2 * obs + 4 + 4 + 1 + 1


def buffer_bytes(env: GymnaxEnv, config: DQNConfig) -> int:
    """Bytes the replay buffers of all seeds take (:func:`buffer_bytes_for` the env's observation)."""
    return buffer_bytes_for(tuple(env.observation_space.shape or ()), config)


def buffer_bytes_for(observation_shape: tuple[int, ...] | None, config: DQNConfig) -> int:
    """Bytes the replay buffers of all seeds take (:func:`transition_bytes` per transition)."""
    return config.num_seeds * config.buffer_size * transition_bytes(observation_shape)


def host_memory_available() -> int | None:
    """The host's ``MemAvailable`` in bytes (None where /proc/meminfo cannot say); no JAX."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_available() -> int | None:
    """Bytes the default device can still hold: the accelerator's limit, or on CPU the host's
    ``MemAvailable`` (None where neither is known)."""
    import jax

    device = jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        limit = stats.get("bytes_limit")
        return None if limit is None else int(limit) - int(stats.get("bytes_in_use", 0))
    return host_memory_available()


def memory_available_now() -> int | None:
    """:func:`memory_available` once JAX's backend is up in this process, the host's until then: asking the
    device would start the backend (on an accelerator, claiming most of its memory) while the user only
    edits a form. The app asks again after each run."""
    import sys

    if "jax" in sys.modules:
        try:
            from jax._src.xla_bridge import backends_are_initialized

            if backends_are_initialized():
                return memory_available()
        except ImportError:  # a JAX without this function: the host's until training checks the device
            pass
    return host_memory_available()


def check_engine(env: GymnaxEnv, config: DQNConfig, available: int | None = None, processes: int | None = None) -> None:
    """Cross-checks that need the environment (:func:`engine_problems`), made before anything allocates.

    Args:
        available: Bytes of memory for the buffers (default: :func:`memory_available`).
        processes: How many processes share the seeds (default: ``jax.process_count()`` when
            ``available`` is measured here, else 1); each host holds ``num_seeds / processes``.

    Raises:
        ConfigError: the first problem.
    """
    if available is None:
        import jax

        available, processes = memory_available(), processes or jax.process_count()
    found = engine_problems(env.observation_space.shape, config, available, processes or 1)
    if found:
        raise found[0]


def engine_problems(
    observation_shape: tuple[int, ...] | None, config: DQNConfig, available: int | None, processes: int = 1
) -> list[ConfigError]:
    """What the engine would refuse, without building anything (the form checks these as you type): one
    vector step not fitting the buffer, the 32-bit step counter overflowing, the replay buffers not fitting
    in ``available`` bytes (None: unknown, not checked) instead of the process being killed. With
    ``processes`` > 1 (``--distributed``) each host holds its share of the seeds, and ``available``
    is one host's."""
    found: list[ConfigError] = []
    if config.buffer_size < config.num_envs:
        found.append(
            ConfigError(
                "buffer_size", f"{config.buffer_size} is smaller than num_envs {config.num_envs} (one vector step)"
            )
        )
    if config.total_timesteps + config.num_envs >= 2**31:
        found.append(
            ConfigError(
                "total_timesteps",
                f"{config.total_timesteps} does not fit the 32-bit step counter (max {2**31 - 1 - config.num_envs})",
            )
        )
    held = -(-config.num_seeds // max(processes, 1))  # the seeds one host holds
    need = buffer_bytes_for(observation_shape, config) // config.num_seeds * held
    if available is not None and need > 0.8 * available:
        per_transition = transition_bytes(observation_shape)
        fits = int(0.8 * available) // per_transition // held
        seeds = (
            f"{config.num_seeds} seed(s)" if processes <= 1 else f"{held} seed(s) per process ({processes} processes)"
        )
        found.append(
            ConfigError(
                "buffer_size",
                f"{config.buffer_size} transitions x {seeds} need {need / 2**30:.1f} GiB of replay "
                f"buffer but only {available / 2**30:.1f} GiB is available (at most ~{fits:,} per seed fits)",
            )
        )
    return found
