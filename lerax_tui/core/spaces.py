"""The two spaces a DQN policy needs, with lerax's pytree layout (so real lerax files load).

``Discrete.n`` is a static field (part of the structure, not a leaf); ``Box.low``/``Box.high`` are
array leaves, stored in checkpoints exactly as lerax stores them.
"""

from __future__ import annotations

import math
from typing import Any, final

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, Key


class AbstractSpace(eqx.Module):
    """A set of values that can be sampled, tested for membership and flattened."""

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def flat_size(self) -> int:
        raise NotImplementedError

    def flatten_sample(self, sample: Any) -> Float[Array, " n"]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A JSON-able description, used in manifests and the env catalogue."""
        raise NotImplementedError


@final
class Discrete(AbstractSpace):
    """A space of ``n`` actions ``0 .. n-1``.

    Attributes:
        n: The number of discrete values (static: part of the policy's structure).

    Args:
        n: The number of discrete values.

    Raises:
        ValueError: If ``n`` is not a positive integer.
    """

    n: int = eqx.field(static=True)

    def __init__(self, n: int):
        if isinstance(n, bool) or int(n) != n or n <= 0:
            raise ValueError(f"Discrete(n): n must be a positive integer, got {n!r}")
        self.n = int(n)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def flat_size(self) -> int:
        return 1

    def flatten_sample(self, sample: Int[ArrayLike, ""]) -> Float[Array, " 1"]:
        return jnp.asarray(sample, dtype=float).ravel()

    def sample(self, *, key: Key[Array, ""], mask: Bool[ArrayLike, " n"] | None = None) -> Int[Array, ""]:
        """A uniformly random action, restricted to ``mask`` when given (O(n), no ``p=`` draw)."""
        if mask is None:
            return jr.randint(key, (), 0, self.n)
        logits = jnp.where(jnp.asarray(mask, dtype=bool), 0.0, -jnp.inf)
        return jr.categorical(key, logits)

    def contains(self, x: Any) -> Bool[Array, ""]:
        x = jnp.asarray(x)
        if x.ndim != 0:
            return jnp.array(False)
        return (x == jnp.floor(x)) & (x >= 0) & (x < self.n)

    def describe(self) -> dict[str, Any]:
        return {"type": "Discrete", "n": self.n}

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


@final
class Box(AbstractSpace):
    """A box of real values, possibly unbounded.

    Attributes:
        low: Lower bounds (an array leaf, float32 unless 64-bit mode is on).
        high: Upper bounds, same shape as ``low``.

    Args:
        low: Lower bounds; broadcast against ``high``.
        high: Upper bounds.
        shape: The shape of the space; inferred from ``low`` and ``high`` when None.

    Raises:
        ValueError: If ``low`` and ``high`` cannot be broadcast to ``shape``.
    """

    low: Float[Array, " ..."]
    high: Float[Array, " ..."]

    def __init__(
        self, low: Float[ArrayLike, " ..."], high: Float[ArrayLike, " ..."], shape: tuple[int, ...] | None = None
    ):
        low = jnp.asarray(low, dtype=float)
        high = jnp.asarray(high, dtype=float)
        try:
            if shape is None:
                low, high = jnp.broadcast_arrays(low, high)
                shape = low.shape
            self.low = jnp.broadcast_to(low, shape)
            self.high = jnp.broadcast_to(high, shape)
        except ValueError as e:
            raise ValueError(f"Box: low {low.shape} and high {high.shape} do not fit shape {shape}") from e

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.low.shape)

    @property
    def flat_size(self) -> int:
        return math.prod(self.shape)

    def flatten_sample(self, sample: Float[ArrayLike, " ..."]) -> Float[Array, " n"]:
        return jnp.asarray(sample, dtype=float).ravel()

    def contains(self, x: Any) -> Bool[Array, ""]:
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.array(False)
        return jnp.all(x >= self.low) & jnp.all(x <= self.high)

    def describe(self) -> dict[str, Any]:
        low = np.asarray(self.low)
        high = np.asarray(self.high)
        return {
            "type": "Box",
            "shape": list(self.shape),
            "dtype": str(low.dtype),
            # Bounds are summarised, not listed: MinAtar boxes have hundreds of identical entries.
            "low_min": float(low.min()) if low.size else None,
            "high_max": float(high.max()) if high.size else None,
        }

    def __repr__(self) -> str:
        return f"Box(shape={self.shape})"
