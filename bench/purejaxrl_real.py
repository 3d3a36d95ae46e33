"""PureJaxRL's own DQN (luchris429/purejaxrl ``purejaxrl/dqn.py``), run from its source file, timed.

Nothing of PureJaxRL is copied into this repository: ``--purejaxrl-src`` names a copy of its
``dqn.py`` taken from a clone of its repository, e.g.

    git -C purejaxrl show HEAD:purejaxrl/dqn.py > /tmp/purejaxrl_dqn.py
    .venv-bench/bin/python bench/throughput.py --only purejaxrl-real --purejaxrl-src /tmp/purejaxrl_dqn.py

It needs flax, chex, optax and flashbax (``pip install flashbax==0.1.3`` next to rejax in .venv-bench;
never in the project's own dependencies). Three shims, none of which changes its computation:

- ``wandb`` is imported at the top of its file and used only in ``main()`` and a disabled callback:
  an empty module stands in when wandb is not installed.
- ``jax.tree_map`` (used once, to copy the initial target parameters) was removed from jax; it is
  aliased to ``jax.tree.map``.
- gymnax 1.0 steps return six values (obs, state, reward, terminated, truncated, info); its file
  unpacks the five of gymnax 0.0.x. Its ``LogWrapper`` is wrapped in gymnax's own
  ``LegacyStepAPIWrapper``, which returns ``done = terminated | truncated``, the old ``done``.

The run is its ``main()``: ``jax.jit(jax.vmap(make_train(config)))`` over ``NUM_SEEDS`` keys, with
``config`` its ``main()``'s dict (below). Compiled ahead of time (``lower().compile()``), so the timed
call excludes compilation. Env steps per call = ``NUM_SEEDS * TOTAL_TIMESTEPS`` (its ``NUM_UPDATES``
is ``TOTAL_TIMESTEPS // NUM_ENVS`` scan steps of ``NUM_ENVS`` env steps each, per seed).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import types

# purejaxrl/dqn.py main()'s config, as of its commit 31756b1 (TOTAL_TIMESTEPS is 5e5 there, a float;
# it is an int here so that NUM_UPDATES is an int scan length; the value is the same)
PUREJAXRL_CONFIG = {
    "NUM_ENVS": 10,
    "BUFFER_SIZE": 10_000,
    "BUFFER_BATCH_SIZE": 128,
    "TOTAL_TIMESTEPS": 500_000,
    "EPSILON_START": 1.0,
    "EPSILON_FINISH": 0.05,
    "EPSILON_ANNEAL_TIME": 25e4,
    "TARGET_UPDATE_INTERVAL": 500,
    "LR": 2.5e-4,
    "LEARNING_STARTS": 10_000,
    "TRAINING_INTERVAL": 10,
    "LR_LINEAR_DECAY": False,
    "GAMMA": 0.99,
    "TAU": 1.0,
    "ENV_NAME": "CartPole-v1",
    "SEED": 0,
    "NUM_SEEDS": 1,
    "WANDB_MODE": "disabled",
}


def load(src: str, hidden: tuple[int, int] | None = None) -> types.ModuleType:
    """Import PureJaxRL's dqn.py from ``src`` with the three shims of the module docstring.

    ``hidden``: widths of the two hidden layers in place of its 120-84 (``QNetwork`` is replaced by
    the same Dense-relu-Dense-relu-Dense stack at those widths), so that it can run the network our
    ``MLPQPolicy`` can express (one width for every hidden layer: 120-120).
    """
    import jax
    from gymnax.wrappers import LegacyStepAPIWrapper

    if not hasattr(jax, "tree_map"):
        jax.tree_map = jax.tree.map  # type: ignore[attr-defined]
    try:
        import wandb  # noqa: F401
    except ImportError:
        sys.modules["wandb"] = types.ModuleType("wandb")
    spec = importlib.util.spec_from_file_location("purejaxrl_dqn", src)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load PureJaxRL's dqn.py from {src}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_wrapper = module.LogWrapper
    module.LogWrapper = lambda env: LegacyStepAPIWrapper(log_wrapper(env))
    if hidden is not None:
        module.QNetwork = _q_network(*hidden)
    return module


def _q_network(first: int, second: int):
    import flax.linen as nn

    class QNetwork(nn.Module):
        action_dim: int

        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Dense(first)(x))
            x = nn.relu(nn.Dense(second)(x))
            return nn.Dense(self.action_dim)(x)

    return QNetwork


class RealPureJaxRL:
    """PureJaxRL's ``jit(vmap(make_train(config)))``, compiled once; :meth:`run` times one call."""

    def __init__(
        self,
        src: str,
        steps: int,
        num_seeds: int = 1,
        hidden: tuple[int, int] | None = None,
        straight: bool = False,
        **overrides,
    ):
        """``overrides``: other entries of its config (e.g. ``LEARNING_STARTS`` past the run: acting only).
        Compiled with JAX's stock CPU lowering of Threefry (``straight``: with our engine's one)."""
        import jax
        from stock_lowering import threefry_lowering

        self.config = {**PUREJAXRL_CONFIG, **overrides, "TOTAL_TIMESTEPS": steps, "NUM_SEEDS": num_seeds}
        module = load(src, hidden)
        self.train = jax.jit(jax.vmap(module.make_train(dict(self.config))))
        rngs = jax.random.split(jax.random.PRNGKey(0), num_seeds)
        threefry_lowering(straight)
        t0 = time.perf_counter()
        try:
            self.compiled = self.train.lower(rngs).compile()
        finally:
            threefry_lowering(True)
        self.compile_s = time.perf_counter() - t0
        iterations = steps // self.config["NUM_ENVS"]
        self.steps = num_seeds * iterations * self.config["NUM_ENVS"]
        self.last_return = float("nan")

    def run(self, seed: int) -> float:
        import jax
        import numpy as np

        rngs = jax.random.split(jax.random.PRNGKey(seed), self.config["NUM_SEEDS"])
        t0 = time.perf_counter()
        out = jax.block_until_ready(self.compiled(rngs))
        sps = self.steps / (time.perf_counter() - t0)
        # mean of the last completed episodes' returns over the final 1% of its scan steps
        returns = np.asarray(out["metrics"]["returns"])
        self.last_return = float(returns[:, -max(1, returns.shape[1] // 100) :].mean())
        return sps
