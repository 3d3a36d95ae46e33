"""Sweep benchmark: one `lerax-tui sweep` against the same configurations as separate `train` runs.

    python bench/sweep.py                      # 3 learning rates x 3 gammas x 4 seeds, CartPole-v1, 50k steps
    python bench/sweep.py --steps 10000        # shorter
    python bench/sweep.py --sweep-only         # just the sweep
    python bench/sweep.py --set width_size=64  # fixed hyperparameters for both sides (the preset otherwise)

Runs, in one process each and one after another: ``lerax-tui sweep CartPole-v1 --grid learning_rate=...
--grid gamma=... --seeds 4`` (36 agents in one compiled program), then the same 9 configurations as 9
``lerax-tui train CartPole-v1 --seeds 4 --set learning_rate=... --set gamma=...`` commands. Wall times
are whole commands (start-up, compile, training, evaluation), with JAX's persistent compilation cache
off so neither side reuses programs from an earlier run. Prints the ratio (target <= 0.25; also the
CPU-time ratio and the machine's load, since on a shared machine other work slows one side's wall
time and not the other's), the sweep's training time alone against the separate wall time (the ratio
it would reach if start-up, compile and evaluation cost nothing) and, per
configuration, both sides' per-seed final greedy returns with Welch's t-test (a sweep member gets the
keys its separate run gets; the learning rate enters Adam as a per-agent scale instead of a constant,
so trajectories agree to float32 rounding at first and then drift apart like any two runs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

LEARNING_RATES = ("1e-3", "2.3e-3", "5e-3")
GAMMAS = ("0.99", "0.995", "0.999")


CPU_S = [0.0]
"""CPU seconds (user + system) of the commands run so far: less sensitive than wall time to other
work on a shared machine (which slows a command's wall time without adding to its CPU time)."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command(args: list[str]) -> tuple[dict, float]:
    """Run ``lerax-tui ARGS --json``; its summary and its wall time (its CPU time goes to CPU_S)."""
    env = {**os.environ, "LERAX_TUI_JAX_CACHE": "off", "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "lerax_tui", *args, "--json"], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    CPU_S[0] += _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def welch(a: list[float], b: list[float]) -> float:
    """Welch's two-sided t-test p-value (1.0 when both samples are constant and equal)."""
    from scipy import stats

    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    if np.ptp(a_) == 0 and np.ptp(b_) == 0:
        return 1.0 if a_[0] == b_[0] else 0.0
    with warnings.catch_warnings():  # one constant sample (500 x 4) trips scipy's "precision loss" note
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        return float(stats.ttest_ind(a_, b_, equal_var=False).pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fixed hyperparameter for both sides, e.g. --set width_size=64 (the env's preset otherwise)",
    )
    args = parser.parse_args()
    runs_dir = tempfile.mkdtemp(prefix="bench-sweep-")
    common = ["--steps", str(args.steps), "--seeds", str(args.seeds), "--runs-dir", runs_dir]
    common += [flag for kv in args.set for flag in ("--set", kv)]
    grid = ["--grid", f"learning_rate={','.join(LEARNING_RATES)}", "--grid", f"gamma={','.join(GAMMAS)}"]
    print(
        f"{args.env}: {len(LEARNING_RATES)} learning rates x {len(GAMMAS)} gammas x {args.seeds} seeds, {args.steps:,} steps each"
        + (f", {' '.join(args.set)}" if args.set else "")
    )
    load = os.getloadavg()[0]
    sweep, sweep_wall = command(["sweep", args.env, *grid, *common])
    sweep_cpu = CPU_S[0]
    print(
        f"sweep     wall {sweep_wall:7.1f} s  (compile {sweep['compile_s']:.1f} s, {sweep['programs']} program, "
        f"{sweep['sps']:,.0f} env steps/s over {len(sweep['configs']) * args.seeds} agents; "
        f"CPU {sweep_cpu:.1f} s; 1-min load {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    if args.sweep_only:
        for c in sweep["configs"]:
            print(f"  {c['overrides']}: {c['eval_return_per_seed']}")
        return
    separate, separate_wall, compile_s, train_s = [], 0.0, 0.0, 0.0
    for lr, gamma in itertools.product(LEARNING_RATES, GAMMAS):
        out, wall = command(["train", args.env, *common, "--set", f"learning_rate={lr}", "--set", f"gamma={gamma}"])
        separate.append(out)
        separate_wall += wall
        compile_s += out["compile_s"]
        train_s += out["train_s"]
    separate_cpu = CPU_S[0] - sweep_cpu
    print(
        f"separate  wall {separate_wall:7.1f} s  (compile {compile_s:.1f} s in total, 9 commands; "
        f"CPU {separate_cpu:.1f} s; 1-min load {os.getloadavg()[0]:.1f} after)"
    )
    print(
        f"ratio     {sweep_wall / separate_wall:.3f}  (target <= 0.25; CPU-time ratio {sweep_cpu / separate_cpu:.3f})"
    )
    # What a sweep saves is what the separate commands repeat (start-up, compile, evaluation programs);
    # the agents' training it cannot do for less (bench/sweep_roofline.py: both run near the cores' matmul rate)
    print(
        f"training  sweep {sweep['train_s']:.1f} s, separate {train_s:.1f} s in total; the sweep's training "
        f"(its train_s: chunks and periodic evaluations; start-up and compile out) is {sweep['train_s'] / separate_wall:.3f} of the separate wall time (about the lowest "
        f"ratio this sweep could reach)"
    )
    print()
    print(
        f"{'learning_rate':>13} {'gamma':>6}  {'sweep per-seed greedy':<32} {'separate per-seed greedy':<32} {'Welch p':>7}"
    )
    pvalues = []
    for c, s in zip(sweep["configs"], separate, strict=True):
        a, b = c["eval_return_per_seed"], s["eval_return_per_seed"]
        p = welch(a, b)
        pvalues.append(p)
        fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)  # noqa: E731
        print(f"{c['overrides']['learning_rate']:>13} {c['overrides']['gamma']:>6}  {fmt(a):<32} {fmt(b):<32} {p:7.3f}")
    means = np.array(
        [
            [np.mean(c["eval_return_per_seed"]) for c in sweep["configs"]],
            [np.mean(s["eval_return_per_seed"]) for s in separate],
        ]
    )
    print()
    print(
        f"configurations with Welch p < 0.05: {sum(p < 0.05 for p in pvalues)} of {len(pvalues)} (about 0.45 expected by chance)"
    )
    print(f"mean of per-configuration means: sweep {means[0].mean():.1f}, separate {means[1].mean():.1f}")
    identical = sum(c["eval_return_per_seed"] == s["eval_return_per_seed"] for c, s in zip(sweep["configs"], separate))
    print(f"configurations whose per-seed returns are identical: {identical} of {len(pvalues)}")


if __name__ == "__main__":
    main()
