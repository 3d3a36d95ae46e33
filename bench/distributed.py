"""What going multi-process costs: env steps/s of one process over 2 devices against 2 processes
over 1 device each (``train --distributed`` on localhost, gloo CPU collectives), same seeds and config.

Steps/s are measured from metrics.jsonl between the first and the last chunk record (every seed's
steps over wall time), so compilation is left out but every per-chunk cost of the distributed loop
is in: agreeing on the chunk, gathering its report, appending metrics. Run it alone on the machine
(under the cpu lock on a shared one):

    python bench/distributed.py [--env CartPole-v1] [--seeds 4] [--steps 60000] [--repeats 2] [--sweep]

A third layout separates the two costs in that ratio: two *independent* processes of one device
each, started together, each doing the half of the work that one distributed process does, without
a cluster (no collectives): a plain ``train`` of half the seeds, or with ``--sweep`` a ``sweep`` of
the learning rate that process holds. On a CPU machine both multi-process layouts pay for two XLA runtimes sharing the same
cores; only the distributed one pays for the per-chunk collectives, so distributed / independent is
what the cluster machinery itself costs.

``own cores`` runs each of the two processes of both multi-process layouts on its own half of this
machine's cores (``sched_setaffinity``), as processes on separate hosts would be: XLA sizes each
runtime's thread pools by the cores it may use, so two unpinned runtimes on the same cores oversubscribe
them (``scripts/launch_local.sh`` pins the same way). Both are printed: *shared cores* (what two
unpinned processes on one machine get) and *own cores* (the multi-host case this emulates).

``--sweep`` measures ``sweep --distributed`` instead: 2 learning rates x seeds/2 seeds (the same
agent count, one program), steps/s over every agent from the first configuration's metrics.jsonl
(process 0 holds the first learning rate's agents, process 1 the second's).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LEARNING_RATES = ("0.0003", "0.001")


def _command(args: argparse.Namespace, runs_dir: Path, rates: tuple[str, ...] = LEARNING_RATES) -> list[str]:
    what = ["train", args.env, "--seeds", str(args.seeds)]
    if args.sweep:
        what = ["sweep", args.env, "--grid", f"learning_rate={','.join(rates)}", "--seeds", str(args.seeds // 2)]
    return [
        sys.executable,
        "-m",
        "lerax_tui",
        *what,
        "--steps",
        str(args.steps),
        "--runs-dir",
        str(runs_dir),
        "--json",
        "--set",
        "eval_interval=0",
        "--set",
        "eval_episodes=0",
    ]


def _env(devices: int) -> dict[str, str]:
    return dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _steps_per_s(summary: str, seeds: int) -> float:
    """Every agent's env steps per second, from the run's (a sweep's first member's) metrics."""
    out = json.loads(summary.strip().splitlines()[-1])
    run_dir = Path(out["configs"][0]["run_dir"] if "configs" in out else out["run_dir"])
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first, last = records[0], records[-1]
    return (last["step"] - first["step"]) * seeds / (last["wall_s"] - first["wall_s"])


def _own_cores(i: int, n: int = 2):
    """A ``preexec_fn`` putting process ``i`` of ``n`` on its own slice of this process's cores (None
    where there are fewer cores than processes)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < n:
        return None
    k = len(cores) // n
    mine = set(cores[i * k : (i + 1) * k])
    return lambda: os.sched_setaffinity(0, mine)


def one_process(args: argparse.Namespace, runs_dir: Path) -> float:
    proc = subprocess.run(_command(args, runs_dir), env=_env(2), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"one process failed: {proc.stderr[-2000:]}")
    return _steps_per_s(proc.stdout, args.seeds)


def two_processes(args: argparse.Namespace, runs_dir: Path, pin: bool = False) -> float:
    port, procs = _port(), []
    for i in range(2):
        cluster = [
            "--distributed",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(i),
        ]
        procs.append(
            subprocess.Popen(
                _command(args, runs_dir) + cluster,
                env=_env(1),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_own_cores(i) if pin else None,
            )
        )
    outs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"a distributed process failed: {err[-2000:]}")
    return _steps_per_s(outs[0][0], args.seeds)


def independent(args: argparse.Namespace, runs_dir: Path, pin: bool = False) -> float:
    """Two processes of one device each, started together, each doing one distributed process's half
    (half the seeds, or one learning rate's agents): summed steps/s."""
    half = args.seeds // 2
    procs = []
    for i in range(2):
        if args.sweep:  # a one-configuration sweep of that rate's seeds (the same program shape)
            command = _command(args, runs_dir, (LEARNING_RATES[i],))
        else:
            command = [*_command(argparse.Namespace(**{**vars(args), "seeds": half}), runs_dir)]
            command += ["--set", f"seed={i * half}"]
        procs.append(
            subprocess.Popen(
                command,
                env=_env(1),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_own_cores(i) if pin else None,
            )
        )
    outs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"an independent process failed: {err[-2000:]}")
    return sum(_steps_per_s(out, half) for out, _ in outs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sweep", action="store_true", help="sweep --distributed: 2 configurations x seeds/2")
    args = parser.parse_args()
    if args.seeds % 2:
        parser.error("the seeds are split over 2 processes (and 2 configurations with --sweep): give an even count")
    layouts = {
        "1 process x 2 devices": one_process,
        "2 processes x 1 device, shared cores": two_processes,
        "2 independent processes, shared cores": independent,
        "2 processes x 1 device, own cores": lambda a, d: two_processes(a, d, pin=True),
        "2 independent processes, own cores": lambda a, d: independent(a, d, pin=True),
    }
    figures: dict[str, list[float]] = {name: [] for name in layouts}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):  # interleaved, so a change in the machine's load hits every layout
            for k, (name, measure) in enumerate(layouts.items()):
                figures[name].append(measure(args, Path(tmp) / f"{k}-{r}"))
            print(f"repeat {r}: " + "; ".join(f"{name} {f[-1]:,.0f}" for name, f in figures.items()), flush=True)
    best = {name: max(f) for name, f in figures.items()}
    single = best["1 process x 2 devices"]
    what = f"sweep of 2 configurations x {args.seeds // 2}" if args.sweep else args.seeds
    print(f"\n{args.env}, {what} seeds, {args.steps:,} steps each, env steps/s (best of {args.repeats}):")
    print(f"  1 process x 2 devices: {single:,.0f}")
    for cores in ("shared cores", "own cores"):
        multi, alone = best[f"2 processes x 1 device, {cores}"], best[f"2 independent processes, {cores}"]
        print(
            f"  {cores}: 2 processes x 1 device {multi:,.0f}, ratio {multi / single:.2f} (target >= 0.9); "
            f"2 independent processes {alone:,.0f} ({alone / single:.2f} of one process); "
            f"the cluster's own cost, distributed / independent = {multi / alone:.2f}"
        )


if __name__ == "__main__":
    main()
