"""Threefry without a loop on CPU: the same random bits, fewer runtime steps per draw.

JAX lowers its default PRNG's hash (Threefry-2x32, 5 groups of 4 rounds) for CPU as a rolled
``fori_loop`` of 5 iterations, to keep compile times short; on GPU it emits the rounds straight.
XLA's CPU runtime executes a while loop step by step (condition, body fusion, counter), so every
draw costs tens of tiny runtime steps whatever its size. The engine draws inside every gradient step
(split the seed's key, sample the batch indices), so at rejax's CartPole configuration (5 gradient
steps of batch 100 per iteration) those loops were ~9% of an iteration: 12 of the chunk program's 14
while loops were Threefry's. Emitted straight, each draw becomes one elementwise fusion.

The rolled and the straight lowering compute the same function (JAX ships both; the straight one is
its GPU/TPU path), so every random stream, and hence every run's returns, stay bit for bit the same
(``tests/test_prng_cpu.py`` checks the bits and the compiled program). Compile time at the shipped
configurations did not change measurably (``bench/RESULTS.md``).

:func:`use_straight_threefry` swaps the CPU lowering rule in JAX's registry for the whole process,
which also affects any other JAX code compiled in it (with the same bits). It relies on two private
names of ``jax._src.random.threefry2x32``; where they are missing (another JAX version) it changes
nothing and the engine runs as before, only slower.
"""

from __future__ import annotations

_done = False


def use_straight_threefry() -> bool:
    """Lower Threefry for CPU as straight-line rounds (idempotent).

    Returns:
        Whether the straight lowering is in place.
    """
    global _done
    if _done:
        return True
    try:
        from jax._src.random import threefry2x32 as tf
        from jax.interpreters import mlir

        primitive = tf.threefry2x32_p
        straight = tf._threefry2x32_lowering_rule
    except (ImportError, AttributeError):
        return False
    mlir.register_lowering(primitive, straight, platform="cpu")
    _done = True
    return True
