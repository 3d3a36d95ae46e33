"""The jitted chunk: :func:`~lerax_tui.train.dqn.run_chunk` compiled once per (env, config, chunk size)
with the training state donated, so the host can call it chunk after chunk without recompiling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from lerax_tui.core.env import GymnaxEnv
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.hyper import Hyper

if TYPE_CHECKING:  # dqn re-exports this module's names at its end: import it at call time only
    from lerax_tui.train.dqn import ChunkOutput, DQNState


class ChunkFn:
    """``run_chunk`` jitted for one (env, config, max_iterations), with the state donated.

    Call it as ``fn(state, n_active) -> (state, ChunkOutput)`` with a full :class:`DQNState`;
    ``n_active`` is traced, so changing the chunk length never recompiles. :meth:`compile`
    compiles ahead (timed by the caller) and later calls reuse it.

    ``eqx.filter_jit(donate="all-except-first")`` does the partition into arrays (traced, donated)
    and the rest (static: the MLP's activation functions), which this class once did by hand around
    ``jax.jit(donate_argnums=0)``; ``n_active`` goes first so it is not donated.
    """

    def __init__(
        self, env: GymnaxEnv, config: DQNConfig, max_iterations: int, skeleton: DQNState, hyper: Hyper | None = None
    ):
        del skeleton  # the state's static part now travels with each call (filter_jit hashes it)
        self.max_iterations = max_iterations

        from lerax_tui.train.dqn import run_chunk

        def chunk(n_active: Int[Array, ""], state: DQNState) -> tuple[DQNState, ChunkOutput]:
            arrays, static = eqx.partition(state, eqx.is_array)
            arrays, out = run_chunk(
                arrays, n_active, static=static, env=env, config=config, max_iterations=max_iterations, hyper=hyper
            )
            return eqx.combine(arrays, static), out

        # Any: equinox types filter_jit's result as the plain callable, without .lower()
        self._jitted: Any = eqx.filter_jit(chunk, donate="all-except-first")
        self._compiled: Any = None

    def compile(self, state: DQNState) -> jax.stages.Compiled:
        """Compile for ``state``'s shapes and shardings; returns the executable (its ``as_text()``
        and ``memory_analysis()`` are what ``tests/test_train_hlo.py`` checks)."""
        self._compiled = self._jitted.lower(jnp.asarray(self.max_iterations, jnp.int32), state).compile()
        return self._compiled.compiled

    def __call__(self, state: DQNState, n_active: int) -> tuple[DQNState, ChunkOutput]:
        fn = self._compiled if self._compiled is not None else self._jitted
        return fn(jnp.asarray(n_active, jnp.int32), state)


def make_chunk_fn(
    env: GymnaxEnv, config: DQNConfig, max_iterations: int, skeleton: DQNState, hyper: Hyper | None = None
) -> ChunkFn:
    """See :class:`ChunkFn`."""
    return ChunkFn(env, config, max_iterations, skeleton, hyper)
