"""Throughput against peers on CartPole-v1, in one invocation, alternating runs.

    .venv-bench/bin/python bench/throughput.py          # with rejax (needs `pip install rejax==0.1.3`)
    .venv/bin/python bench/throughput.py --no-rejax     # our engine only

rejax runs at its own CartPole DQN configuration (see ANCHORS.md) and our engine at the same
hyperparameters; then our engine at PureJaxRL's configuration, compared with the PureJaxRL figure
measured on this machine (43-49k env steps/s). Env steps/s exclude compilation for both sides.
rejax's ``train`` also runs one final evaluation (128 episodes): ``eval_freq`` is set to the whole
run so it evaluates once, not every 4k steps.

Differences that cannot be removed: rejax's network is a dueling 64x64 swish MLP, ours a plain
64x64 ReLU MLPQPolicy; PureJaxRL's is 120-84, ours 120-120 (more work) and 100-100 (the same
multiply-adds per forward pass).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np

REJAX_FIGURE = "3.5-3.8k"
PUREJAXRL_FIGURE = (43_000, 49_000)

# rejax's CartPole DQN config (its repo), in rejax's names
REJAX_CONFIG = dict(
    num_envs=10,
    buffer_size=50_000,
    fill_buffer=5_000,
    batch_size=100,
    num_epochs=5,
    polyak=0.98,
    target_update_freq=10,
    learning_rate=1e-3,
    max_grad_norm=10.0,
    ddqn=True,
    gamma=0.99,
    eps_start=1.0,
    eps_end=0.05,
    exploration_fraction=0.5,
    agent="DuelingQNetwork",
    agent_kwargs={"activation": "swish"},
)
# ... and the same hyperparameters in ours (train every iteration of 10 env steps, 5 gradient steps)
OURS_AT_REJAX = dict(
    num_envs=10,
    buffer_size=50_000,
    learning_starts=5_000,
    batch_size=100,
    train_frequency=10,
    gradient_steps=5,
    tau=0.02,
    target_update_interval=10,
    learning_rate=1e-3,
    max_grad_norm=10.0,
    double_dqn=True,
    gamma=0.99,
    epsilon_start=1.0,
    epsilon_end=0.05,
    exploration_fraction=0.5,
    width_size=64,
    depth=2,
    loss="mse",
)
# PureJaxRL's DQN config (ANCHORS.md; its dqn.py uses optax.adam without a gradient clip: max_grad_norm 0)
OURS_AT_PUREJAXRL = dict(
    num_envs=10,
    buffer_size=10_000,
    learning_starts=10_000,
    batch_size=128,
    train_frequency=10,
    gradient_steps=1,
    tau=1.0,
    target_update_interval=500,
    learning_rate=2.5e-4,
    max_grad_norm=0.0,
    double_dqn=False,
    gamma=0.99,
    epsilon_start=1.0,
    epsilon_end=0.05,
    exploration_fraction=0.5,
    width_size=120,
    depth=2,
    loss="mse",
)
# PureJaxRL's 120-84 net does 10.7k multiply-adds per forward pass; our two equal hidden layers match
# that at width 100 (10.6k); width 120 (15.1k) is the upper bound above.
OURS_AT_PUREJAXRL_MATCHED = {**OURS_AT_PUREJAXRL, "width_size": 100}


def time_ours(overrides: dict, steps: int, seed: int) -> tuple[float, float]:
    """(compile s, env steps/s) of our engine, chunked the way the runner chunks it."""
    import jax

    from lerax_tui.core import make_env
    from lerax_tui.train import dqn
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.runner import max_chunk_iterations

    env = make_env("CartPole-v1")
    config = DQNConfig(total_timesteps=steps, seed=seed, **overrides)
    t0 = time.perf_counter()
    state = dqn.init_state(env, config)
    max_iterations = max_chunk_iterations(config)
    chunk = dqn.make_chunk_fn(env, config, max_iterations, state)
    chunk.compile(state)
    compile_s = time.perf_counter() - t0
    iterations = steps // config.num_envs
    t0 = time.perf_counter()
    done = 0
    while done < iterations:
        n = min(max_iterations, iterations - done)
        state, out = chunk(state, n)
        out = jax.device_get(out)  # what the runner does with every chunk
        dqn.completed_episodes(out)
        done += n
    return compile_s, iterations * config.num_envs / (time.perf_counter() - t0)


def _legacy_env():
    import gymnax
    from gymnax.wrappers import LegacyStepAPIWrapper

    class DeepcopySafe(LegacyStepAPIWrapper):
        # rejax deep-copies its config; the stock wrapper's __getattr__ recurses while copying.
        def __deepcopy__(self, memo):
            return self

        def __copy__(self):
            return self

    env, params = gymnax.make("CartPole-v1")
    return DeepcopySafe(env), params


def time_rejax(steps: int, seed: int) -> tuple[float, float, float]:
    """(compile s, env steps/s, final mean return) of rejax's DQN at its CartPole config."""
    import jax
    from rejax import DQN

    env, params = _legacy_env()
    algo = DQN.create(
        env=env,
        env_params=params,
        total_timesteps=steps,
        eval_freq=steps,
        skip_initial_evaluation=True,
        **copy.deepcopy(REJAX_CONFIG),
    )
    rng = jax.random.PRNGKey(seed)
    t0 = time.perf_counter()
    compiled = jax.jit(algo.train).lower(rng).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, evaluation = compiled(rng)
    jax.block_until_ready(evaluation)
    sps = steps / (time.perf_counter() - t0)
    returns = np.asarray(evaluation[1])
    return compile_s, sps, float(returns[-1].mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100_000, help="env steps per run (default 100k)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--no-rejax", action="store_true")
    args = p.parse_args(argv)

    have_rejax = not args.no_rejax
    if have_rejax:
        try:
            import rejax  # noqa: F401
        except ImportError:
            print("rejax not installed here: run with .venv-bench/bin/python (pip install rejax==0.1.3) - skipping it")
            have_rejax = False

    rows: dict[str, list[float]] = {"rejax": [], "ours@rejax": [], "ours@purejaxrl": [], "ours@purejaxrl-matched": []}
    compiles: dict[str, list[float]] = {k: [] for k in rows}
    for r in range(args.repeats):
        if have_rejax:
            c, sps, ret = time_rejax(args.steps, r)
            rows["rejax"].append(sps)
            compiles["rejax"].append(c)
            print(
                f"run {r}: rejax          {sps:10,.0f} env steps/s  (compile {c:.1f} s, final eval {ret:.0f})",
                flush=True,
            )
        c, sps = time_ours(OURS_AT_REJAX, args.steps, r)
        rows["ours@rejax"].append(sps)
        compiles["ours@rejax"].append(c)
        print(f"run {r}: ours @ rejax   {sps:10,.0f} env steps/s  (compile {c:.1f} s)", flush=True)
        c, sps = time_ours(OURS_AT_PUREJAXRL, args.steps, r)
        rows["ours@purejaxrl"].append(sps)
        compiles["ours@purejaxrl"].append(c)
        print(f"run {r}: ours @ PureJaxRL {sps:8,.0f} env steps/s  (compile {c:.1f} s)", flush=True)
        c, sps = time_ours(OURS_AT_PUREJAXRL_MATCHED, args.steps, r)
        rows["ours@purejaxrl-matched"].append(sps)
        compiles["ours@purejaxrl-matched"].append(c)
        print(f"run {r}: ours @ PureJaxRL, 100-100 net {sps:8,.0f} env steps/s  (compile {c:.1f} s)", flush=True)

    print(
        f"\n## CartPole-v1 DQN throughput, {args.steps:,} env steps per run, {args.repeats} alternating runs (median)"
    )
    print("| system @ config | env steps/s | compile s | ratio |")
    print("|---|---|---|---|")
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    cmed = {k: statistics.median(v) for k, v in compiles.items() if v}
    if "rejax" in med:
        print(f"| rejax 0.1.3 @ rejax | {med['rejax']:,.0f} | {cmed['rejax']:.1f} | 1.0x |")
        print(
            f"| lerax-tui @ rejax | {med['ours@rejax']:,.0f} | {cmed['ours@rejax']:.1f} | {med['ours@rejax'] / med['rejax']:.1f}x rejax (target >= 5x) |"
        )
    else:
        print(
            f"| lerax-tui @ rejax | {med['ours@rejax']:,.0f} | {cmed['ours@rejax']:.1f} | rejax measured {REJAX_FIGURE} in ANCHORS |"
        )
    lo, hi = PUREJAXRL_FIGURE
    print(f"| PureJaxRL (ANCHORS figure) | {lo:,}-{hi:,} | 3.9 | 1.0x |")
    print(
        f"| lerax-tui @ PureJaxRL | {med['ours@purejaxrl']:,.0f} | {cmed['ours@purejaxrl']:.1f} | "
        f"{med['ours@purejaxrl'] / hi:.2f}-{med['ours@purejaxrl'] / lo:.2f}x PureJaxRL (target >= 1.0x) |"
    )
    m = med["ours@purejaxrl-matched"]
    print(
        f"| lerax-tui @ PureJaxRL, 100-100 net (same MACs as 120-84) | {m:,.0f} | {cmed['ours@purejaxrl-matched']:.1f} | "
        f"{m / hi:.2f}-{m / lo:.2f}x PureJaxRL |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
