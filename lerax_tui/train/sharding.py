"""Seeds over devices: the seed axis of the training state split across every local device."""

from __future__ import annotations

import equinox as eqx
import jax

from lerax_tui.train.dqn import DQNState


def shard_seeds(state: DQNState) -> DQNState:
    """Spread the seed axis over every local device when there are several and it divides evenly.

    The step counter is replicated; jit propagates the layout through ``run_chunk``.
    """
    devices = jax.local_devices()
    num_seeds = state.seeds.episode_return.shape[0]
    if len(devices) < 2 or num_seeds % len(devices):
        return state
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(devices, ("seeds",))
    split = NamedSharding(mesh, PartitionSpec("seeds"))
    replicated = NamedSharding(mesh, PartitionSpec())
    arrays, static = eqx.partition(state.seeds, eqx.is_array)
    return DQNState(
        seeds=eqx.combine(jax.device_put(arrays, split), static), step=jax.device_put(state.step, replicated)
    )
