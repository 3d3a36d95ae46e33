"""A fixed-capacity replay buffer that lives in device memory as a pytree.

Writes go round a ring; sampling draws uniform indices over the filled part only, in O(batch)
(``randint`` over ``size``, never a ``choice`` weighted by a mask over the whole capacity).
"""

from __future__ import annotations

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, Key


@final
class Transitions(eqx.Module):
    """A batch of transitions (leading axis = batch).

    ``next_observation`` is the observation the step produced, before any automatic reset, so a
    truncated transition can still bootstrap from it.
    """

    observation: Array
    action: Int[Array, " n"]
    reward: Float[Array, " n"]
    next_observation: Array
    terminated: Bool[Array, " n"]
    truncated: Bool[Array, " n"]


@final
class ReplayBuffer(eqx.Module):
    """Ring buffer of :class:`Transitions` with ``capacity`` slots.

    Attributes:
        data: The stored transitions, each field with a leading ``capacity`` axis.
        position: The next slot to write.
        size: How many slots hold a transition (grows to ``capacity``, then stays).
    """

    data: Transitions
    position: Int[Array, ""]
    size: Int[Array, ""]

    @property
    def capacity(self) -> int:
        return self.data.action.shape[0]


def buffer_init(capacity: int, observation_shape: tuple[int, ...], observation_dtype=jnp.float32) -> ReplayBuffer:
    """An empty buffer of ``capacity`` transitions (all slots zero, ``size`` 0)."""
    obs = jnp.zeros((capacity, *observation_shape), dtype=observation_dtype)
    data = Transitions(
        observation=obs,
        action=jnp.zeros((capacity,), jnp.int32),
        reward=jnp.zeros((capacity,), jnp.float32),
        next_observation=obs,
        terminated=jnp.zeros((capacity,), bool),
        truncated=jnp.zeros((capacity,), bool),
    )
    return ReplayBuffer(data=data, position=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))


def buffer_add(buffer: ReplayBuffer, batch: Transitions) -> ReplayBuffer:
    """Write a batch of ``n <= capacity`` transitions at the ring position (wrapping round).

    Raises:
        ValueError: If the batch is larger than the buffer (at trace time).
    """
    n = batch.action.shape[0]
    capacity = buffer.capacity
    if n > capacity:
        raise ValueError(f"buffer_size {capacity} is smaller than one vector step of {n} transitions")
    index = (buffer.position + jnp.arange(n, dtype=jnp.int32)) % capacity
    data = jax.tree.map(lambda store, new: store.at[index].set(new.astype(store.dtype)), buffer.data, batch)
    return ReplayBuffer(
        data=data,
        position=(buffer.position + n) % capacity,
        size=jnp.minimum(buffer.size + n, capacity),
    )


def buffer_sample(buffer: ReplayBuffer, batch_size: int, *, key: Key[Array, ""]) -> Transitions:
    """``batch_size`` transitions drawn uniformly, with replacement, from the filled slots.

    The caller must only sample a buffer with ``size >= 1``; the index is clipped so an empty buffer
    returns slot 0 rather than reading out of range.
    """
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda store: store[index], buffer.data)


def buffer_sample_nstep(
    buffer: ReplayBuffer, batch_size: int, *, n: int, stride: int, gamma: float, key: Key[Array, ""]
) -> tuple[Transitions, Float[Array, " n"]]:
    """``batch_size`` uniform draws, each turned into an ``n``-step transition.

    The buffer is written ``stride`` transitions per vector step (one per environment), so the
    transition that follows slot ``i`` in the same environment sits at ``i + stride``. From a drawn
    slot the window runs forward for up to ``n`` steps and stops early at the first step that ends
    an episode (terminated or truncated) or at the newest transition written. Every drawn slot is
    used (recent ones get shorter windows), so sampling stays uniform over the filled part.

    Returns:
        ``(batch, discount)``: ``batch.reward`` is the discounted sum of the window's rewards,
        ``batch.next_observation``, ``terminated`` and ``truncated`` are those of its last step,
        and ``discount`` is ``gamma ** steps`` with 0 where that last step terminated, so the TD
        target is ``reward + discount * V(next_observation)``.
    """
    capacity = buffer.capacity
    # Age 0 is the newest transition (at position - 1); ages run back over the filled slots.
    age = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    start = (buffer.position - 1 - age) % capacity
    data = buffer.data
    alive = jnp.ones((batch_size,), bool)
    ret = jnp.zeros((batch_size,), jnp.float32)
    last = start
    steps = jnp.zeros((batch_size,), jnp.int32)
    for k in range(n):
        index = (start + k * stride) % capacity
        if k > 0:
            alive = alive & (age >= k * stride)
        ret = ret + jnp.where(alive, (gamma**k) * data.reward[index], 0.0)
        last = jnp.where(alive, index, last)
        steps = steps + alive.astype(jnp.int32)
        alive = alive & ~(data.terminated[index] | data.truncated[index])
    terminated = data.terminated[last]
    discount = jnp.where(terminated, 0.0, jnp.asarray(gamma, jnp.float32) ** steps.astype(jnp.float32))
    batch = Transitions(
        observation=data.observation[start],
        action=data.action[start],
        reward=ret,
        next_observation=data.next_observation[last],
        terminated=terminated,
        truncated=data.truncated[last],
    )
    return batch, discount
