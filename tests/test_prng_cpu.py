"""Threefry lowered without a loop on CPU (``lerax_tui.train.prng_cpu``): the same random bits as
JAX's stock rolled lowering, and no while loop left in a draw's or the engine's compiled program."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import jax.random as jr
import pytest
from jax._src.random import threefry2x32 as tf
from jax.interpreters import mlir
from test_train_hlo import SMALL, compiled_chunk

from lerax_tui.train import dqn  # noqa: F401 (its import puts the straight lowering in place)
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.prng_cpu import use_straight_threefry


def draws(key):
    """What the engine draws: a key split, batch indices, an epsilon-greedy coin, a random action."""
    a, b = jr.split(key)
    return a, b, jr.randint(a, (257,), 0, 50_003), jr.uniform(b, (10,)), jr.randint(b, (10,), 0, 2)


def whiles(fn, *args) -> int:
    return len(re.findall(r"\bwhile\(", jax.jit(fn).lower(*args).compile().as_text()))


@pytest.fixture
def rolled():
    """JAX's stock CPU lowering (a 5-iteration loop) for the test's duration, then back."""
    mlir.register_lowering(tf.threefry2x32_p, tf._threefry2x32_cpu_lowering_rule, platform="cpu")
    yield
    mlir.register_lowering(tf.threefry2x32_p, tf._threefry2x32_lowering_rule, platform="cpu")


def test_importing_the_engine_puts_the_straight_lowering_in_place():
    """In a fresh process: no loop in a draw once the engine is imported, one before."""
    code = textwrap.dedent("""
        import re, jax, jax.random as jr
        def n():
            text = jax.jit(lambda k: jr.randint(jr.wrap_key_data(k), (9,), 0, 5)).lower(
                jr.key_data(jr.key(0))).compile().as_text()
            return len(re.findall(r"\\bwhile\\(", text))
        before = n()
        from lerax_tui.train import dqn
        print(before, n())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after = map(int, out.stdout.split())
    assert before > 0
    assert after == 0
    assert use_straight_threefry()


def test_the_bits_are_the_stock_lowerings(rolled):
    keys = [jr.key_data(jr.key(s)) for s in (0, 1, 12345, 2**31 - 1)]
    # fresh function objects, so that neither lowering is served from the other's cache
    stock = [jax.device_get(jax.jit(lambda k: draws(jr.wrap_key_data(k)))(k)) for k in keys]
    assert whiles(lambda k: draws(jr.wrap_key_data(k)), keys[0]) > 0  # really the rolled one
    use_straight_threefry()
    mlir.register_lowering(tf.threefry2x32_p, tf._threefry2x32_lowering_rule, platform="cpu")
    straight = [jax.device_get(jax.jit(lambda k: draws(jr.wrap_key_data(k)))(k)) for k in keys]
    for a, b in zip(stock, straight, strict=True):
        for x, y in zip(a, b, strict=True):
            assert jnp.array_equal(x, y)


def test_the_chunk_program_loops_only_over_iterations_and_gradient_steps(cartpole):
    """Two while loops: the chunk's iterations and an iteration's gradient steps (with the rolled
    lowering every draw in them added one, 14 in all at rejax's configuration)."""
    config = DQNConfig(**{**SMALL, "num_envs": 4, "train_frequency": 2, "gradient_steps": 2})
    compiled, _ = compiled_chunk(cartpole, config)
    assert len(re.findall(r"\bwhile\(", compiled.as_text())) == 2
