"""Throughput against peers on CartPole-v1, in one invocation, alternating runs.

    .venv-bench/bin/python bench/throughput.py          # with rejax (needs `pip install rejax==0.1.3`)
    .venv/bin/python bench/throughput.py --no-rejax     # our engine and the fused references only

rejax runs at its own CartPole DQN configuration (see ANCHORS.md) and our engine at the same
hyperparameters. At PureJaxRL's configuration (10 envs, buffer 10,000, batch 128, one gradient step
per vector step of 10 env steps, hard target every 500, its run length of 500,000 steps) three
systems alternate in one run: our engine, the fused one-jit reference of ``bench/scaling.py`` with
our network (120-120), and the same fused reference with PureJaxRL's exact network (120-84), which
stands in for PureJaxRL itself (its figure measured on this machine: 43-49k env steps/s, ANCHORS).
``MLPQPolicy`` has hidden layers of one width, so ours cannot run 120-84; ours / fused at 120-120 is
the like-for-like engine ratio, fused 120-120 / fused 120-84 the price of the wider second layer.
Env steps/s exclude compilation for every system. rejax's ``train`` also runs one final evaluation
(128 episodes): ``eval_freq`` is set to the whole run so it evaluates once, not every 4k steps.

Differences that cannot be removed: rejax's network is a dueling 64x64 swish MLP, ours a plain
64x64 ReLU MLPQPolicy.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
from stock_lowering import threefry_lowering  # bench/ is sys.path[0] when run as a script

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
# PureJaxRL's own network and run length (its dqn.py: Dense 120, Dense 84, TOTAL_TIMESTEPS 5e5)
PUREJAXRL_HIDDEN = (120, 84)
PUREJAXRL_STEPS = 500_000


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


def time_rejax(steps: int, seed: int, straight: bool = False) -> tuple[float, float, float]:
    """(compile s, env steps/s, final mean return) of rejax's DQN at its CartPole config, compiled
    with JAX's stock CPU lowering of Threefry (``straight``: with the one our engine uses)."""
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
    threefry_lowering(straight)
    t0 = time.perf_counter()
    try:
        compiled = jax.jit(algo.train).lower(rng).compile()
    finally:
        threefry_lowering(True)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, evaluation = compiled(rng)
    jax.block_until_ready(evaluation)
    sps = steps / (time.perf_counter() - t0)
    returns = np.asarray(evaluation[1])
    return compile_s, sps, float(returns[-1].mean())


def _alternate(systems: dict, repeats: int, label: str) -> dict[str, list[float]]:
    """Time every system ``repeats`` times, rotating which goes first; env steps/s per run."""
    sps: dict[str, list[float]] = {name: [] for name in systems}
    names = list(systems)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            sps[name].append(systems[name].run(r))
        print(f"run {r} {label}: " + ", ".join(f"{n} {sps[n][-1]:,.0f}" for n in names), flush=True)
    return sps


def real_purejaxrl(args) -> int:
    """PureJaxRL's own dqn.py (as is, 120-84; and with a 120-120 network, the one ours can run), ours
    and the fused 120-84 reference, alternating in one run."""
    from scaling import Fused, Ours, make_config

    if not args.purejaxrl_src:
        print("--only purejaxrl-real needs --purejaxrl-src PATH (PureJaxRL's dqn.py; see bench/purejaxrl_real.py)")
        return 2
    try:
        import flashbax  # noqa: F401
        import flax  # noqa: F401
    except ImportError:
        print("PureJaxRL needs flax and flashbax: run with .venv-bench/bin/python (pip install flashbax==0.1.3)")
        return 2
    from purejaxrl_real import RealPureJaxRL

    config = make_config(OURS_AT_PUREJAXRL, args.purejaxrl_steps)
    systems = {
        "PureJaxRL dqn.py": RealPureJaxRL(args.purejaxrl_src, args.purejaxrl_steps),
        "PureJaxRL dqn.py 120-120": RealPureJaxRL(args.purejaxrl_src, args.purejaxrl_steps, hidden=(120, 120)),
        "ours 120-120": Ours(config),
        "fused 120-84": Fused(config, hidden=PUREJAXRL_HIDDEN),
    }
    print("compiled: " + ", ".join(f"{n} {s.compile_s:.1f} s" for n, s in systems.items()), flush=True)
    sps = _alternate(systems, args.repeats, "@ PureJaxRL")
    print(f"PureJaxRL's mean return over its last 1% of steps, last run: {systems['PureJaxRL dqn.py'].last_return:.0f}")
    med = {n: statistics.median(v) for n, v in sps.items()}
    real = med["PureJaxRL dqn.py"]
    print(
        f"\n## CartPole-v1, PureJaxRL's config, {args.purejaxrl_steps:,} env steps per run (one seed), "
        f"median of {args.repeats} alternating runs, same machine"
    )
    print("| system | env steps/s (median) | runs | compile s | / PureJaxRL dqn.py (median) | per-run ratio |")
    print("|---|---|---|---|---|---|")
    for n, s in systems.items():
        runs = ", ".join(f"{x / 1000:.1f}k" for x in sps[n])
        per = ", ".join(f"{x / y:.2f}" for x, y in zip(sps[n], sps["PureJaxRL dqn.py"]))
        print(f"| {n} | {med[n]:,.0f} | {runs} | {s.compile_s:.1f} | {med[n] / real:.2f} | {per} |")
    ours, real120 = sps["ours 120-120"], sps["PureJaxRL dqn.py 120-120"]
    per = ", ".join(f"{x / y:.2f}" for x, y in zip(ours, real120))
    print(
        f"\nours / PureJaxRL dqn.py, both 120-120: {med['ours 120-120'] / med['PureJaxRL dqn.py 120-120']:.2f} ({per})"
    )
    print(f"ours 120-120 / PureJaxRL dqn.py as is (120-84; target >= 1.0): {med['ours 120-120'] / real:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from scaling import Fused, Ours, make_config  # bench/ is sys.path[0] when run as a script

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100_000, help="env steps per run at rejax's config (default 100k)")
    p.add_argument(
        "--purejaxrl-steps", type=int, default=PUREJAXRL_STEPS, help="env steps per run at PureJaxRL's (its 500k)"
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-rejax", action="store_true")
    p.add_argument(
        "--rejax-straight",
        action="store_true",
        help="compile rejax with our engine's straight Threefry lowering too (default: JAX's stock one, as shipped)",
    )
    p.add_argument(
        "--only",
        choices=("rejax", "purejaxrl", "purejaxrl-real"),
        help="one comparison; purejaxrl-real runs PureJaxRL's own dqn.py (--purejaxrl-src) against ours",
    )
    p.add_argument("--purejaxrl-src", help="a copy of PureJaxRL's purejaxrl/dqn.py (see bench/purejaxrl_real.py)")
    args = p.parse_args(argv)
    if args.only == "purejaxrl-real":
        return real_purejaxrl(args)

    have_rejax = not args.no_rejax and args.only != "purejaxrl"
    if have_rejax:
        try:
            import rejax  # noqa: F401
        except ImportError:
            print("rejax not installed here: run with .venv-bench/bin/python (pip install rejax==0.1.3) - skipping it")
            have_rejax = False

    if args.only != "purejaxrl":
        ours = Ours(make_config(OURS_AT_REJAX, args.steps))
        print(f"compiled ours @ rejax: {ours.compile_s:.1f} s", flush=True)
        rows: dict[str, list[float]] = {"rejax": [], "ours": []}
        compiles: list[float] = []
        for r in range(args.repeats):
            if have_rejax:
                c, sps, ret = time_rejax(args.steps, r, args.rejax_straight)
                rows["rejax"].append(sps)
                compiles.append(c)
                print(f"run {r}: rejax {sps:10,.0f} env steps/s  (compile {c:.1f} s, final eval {ret:.0f})", flush=True)
            rows["ours"].append(ours.run(r))
            print(f"run {r}: ours @ rejax {rows['ours'][-1]:10,.0f} env steps/s", flush=True)
        o = statistics.median(rows["ours"])
        print(f"\n## CartPole-v1 at rejax's config, {args.steps:,} env steps per run, median of {args.repeats}")
        print("| system | env steps/s | compile s | ratio |")
        print("|---|---|---|---|")
        if rows["rejax"]:
            rj = statistics.median(rows["rejax"])
            print(f"| rejax 0.1.3 | {rj:,.0f} | {statistics.median(compiles):.1f} | 1.0x |")
            print(f"| lerax-tui | {o:,.0f} | {ours.compile_s:.1f} | {o / rj:.1f}x rejax (target >= 5x) |")
            pairs = [a / b for a, b in zip(rows["ours"], rows["rejax"], strict=True)]
            print(
                f"per-run ours / rejax: {', '.join(f'{x:.2f}' for x in pairs)}; median {statistics.median(pairs):.2f}x"
            )
            if args.rejax_straight:
                print("(rejax compiled with our straight Threefry lowering, not JAX's stock one)")
        else:
            print(f"| lerax-tui | {o:,.0f} | {ours.compile_s:.1f} | rejax measured {REJAX_FIGURE} in ANCHORS |")
        del ours

    if args.only != "rejax":
        config = make_config(OURS_AT_PUREJAXRL, args.purejaxrl_steps)
        systems = {"ours 120-120": Ours(config), "fused 120-120": Fused(config)}
        systems["fused 120-84"] = Fused(config, hidden=PUREJAXRL_HIDDEN)
        print("compiled @ PureJaxRL: " + ", ".join(f"{n} {s.compile_s:.1f} s" for n, s in systems.items()), flush=True)
        sps = _alternate(systems, args.repeats, "@ PureJaxRL")
        med = {n: statistics.median(v) for n, v in sps.items()}
        lo, hi = PUREJAXRL_FIGURE
        print(
            f"\n## CartPole-v1 at PureJaxRL's config, {args.purejaxrl_steps:,} env steps per run, "
            f"median of {args.repeats} alternating runs"
        )
        print("| system | env steps/s (median) | runs | compile s | vs PureJaxRL's 43-49k (ANCHORS) |")
        print("|---|---|---|---|---|")
        for n, s in systems.items():
            runs = ", ".join(f"{x / 1000:.1f}k" for x in sps[n])
            print(f"| {n} | {med[n]:,.0f} | {runs} | {s.compile_s:.1f} | {med[n] / hi:.2f}-{med[n] / lo:.2f}x |")
        o, f120, f84 = med["ours 120-120"], med["fused 120-120"], med["fused 120-84"]
        print(f"\nours / fused, same network (120-120): {o / f120:.2f} (target >= 0.9)")
        print(f"ours 120-120 / fused 120-84 (PureJaxRL's exact config): {o / f84:.2f}")
        print(f"fused 120-120 / fused 120-84 (the wider second layer alone): {f120 / f84:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
