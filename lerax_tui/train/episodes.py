"""The episodes a chunk completed, decoded on the host from its masked report arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lerax_tui.train.dqn import ChunkOutput


@dataclass(frozen=True)
class Episodes:
    """Episodes completed in a chunk, per seed, in completion order."""

    returns: list[np.ndarray]
    lengths: list[np.ndarray]
    steps: list[np.ndarray]


def completed_episodes(out: ChunkOutput) -> Episodes:
    """Pull the masked episode entries out of a (host, numpy) :class:`ChunkOutput`, per seed."""
    done = np.asarray(out.episode_done)
    steps = np.broadcast_to(np.asarray(out.episode_step)[:, None], done[:, 0, :].shape)
    returns, lengths, ends = [], [], []
    for s in range(done.shape[1]):
        mask = done[:, s, :]
        returns.append(np.asarray(out.episode_return)[:, s, :][mask])
        lengths.append(np.asarray(out.episode_length)[:, s, :][mask])
        ends.append(steps[mask])
    return Episodes(returns, lengths, ends)
