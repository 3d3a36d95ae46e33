"""When the host calls the jitted chunk, and for how many iterations: chunk sizing and the steps at
which a checkpoint or an evaluation falls due (pure arithmetic, no JAX)."""

from __future__ import annotations

import math

from lerax_tui.train.config import DQNConfig

TARGET_CHUNK_S = 0.2
"""Chunks are sized to take about this long (0.1-0.3 s): pause, stop and progress stay responsive."""
FIRST_CHUNK_ITERATIONS = 16
MAX_REPORT_ENTRIES = 1 << 17
"""Episode report arrays are (iterations, seeds, envs): keep them to ~128k entries per chunk."""
MAX_CHUNK_ITERATIONS = 4096


def max_chunk_iterations(config: DQNConfig) -> int:
    """The compiled chunk size: a power of two bounded by the report size and the run's length."""
    per_iteration = config.num_envs * config.num_seeds
    cap = max(1, MAX_REPORT_ENTRIES // per_iteration)
    need = max(1, math.ceil(config.total_timesteps / config.num_envs))
    n = 1
    while n * 2 <= min(cap, MAX_CHUNK_ITERATIONS) and n < need:
        n *= 2
    return n


def next_chunk_iterations(n: int, dt: float, max_iterations: int, target_s: float = TARGET_CHUNK_S) -> int:
    """The next chunk's length after ``n`` iterations took ``dt`` seconds: aiming at ``target_s``
    (:data:`TARGET_CHUNK_S` for a run), growing at most 4x and shrinking at most 4x a chunk."""
    if dt <= 0:
        return min(max_iterations, n * 4)
    wanted = int(n * target_s / dt)
    return int(max(1, min(max_iterations, n * 4, max(n // 4, wanted))))


def next_checkpoint(config: DQNConfig, step: int) -> int | None:
    """The next multiple of ``checkpoint_interval`` after ``step`` (None: final checkpoints only)."""
    interval = config.checkpoint_interval
    if interval <= 0:
        return None
    return (step // interval + 1) * interval


def next_eval(config: DQNConfig, step: int) -> int | None:
    """The next periodic evaluation: the next multiple of ``eval_interval``, or the run's last step
    (so the final policy is a candidate for best too). None without evaluations: ``eval_interval``
    or ``eval_episodes`` 0."""
    interval = config.eval_interval
    if interval <= 0 or config.eval_episodes <= 0:
        return None
    return min((step // interval + 1) * interval, max(config.total_timesteps, step + 1))


def chunk_iterations(config: DQNConfig, step: int, wanted: int, *boundaries: int | None) -> int:
    """Iterations for the next chunk: ``wanted``, cut so the chunk ends at the run's end and at the
    first step at or past each boundary (a checkpoint or an evaluation falls due there)."""
    n = min(wanted, math.ceil((config.total_timesteps - step) / config.num_envs))
    for boundary in boundaries:
        if boundary is not None:
            n = min(n, max(1, math.ceil((boundary - step) / config.num_envs)))
    return n
