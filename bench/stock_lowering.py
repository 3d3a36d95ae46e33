"""Which CPU lowering of JAX's Threefry a peer is compiled with.

Importing our engine swaps JAX's CPU lowering of Threefry for the straight one, process-wide
(``lerax_tui/train/prng_cpu.py``; the same bits, fewer runtime steps). A peer timed in the same
process (rejax, PureJaxRL) is compiled with JAX's stock rolled lowering instead, as a user who runs it
gets, unless a bench is asked to give it ours.
"""

from __future__ import annotations


def threefry_lowering(straight: bool) -> None:
    """Register the straight (ours) or the stock rolled CPU lowering for what is compiled next."""
    from jax._src.random import threefry2x32 as tf
    from jax.interpreters import mlir

    rule = tf._threefry2x32_lowering_rule if straight else tf._threefry2x32_cpu_lowering_rule
    mlir.register_lowering(tf.threefry2x32_p, rule, platform="cpu")
