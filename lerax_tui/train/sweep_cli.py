"""``lerax-tui sweep``: many configurations x seeds in as few compiled programs as the shapes allow.

Every argument is checked before JAX is imported or a folder is made: a bad grid is one line on
stderr and exit status 2. Progress goes to stderr; with ``--json`` the last stdout line is one object
(``sweep_dir``, ``configs``, ``ranking``, ``programs``, ``wall_s``, ``compile_s``, ``sps``). Signals
stop it like ``train`` (final and resume checkpoints of the running configurations, then 128 + N);
``--resume SWEEP_DIR`` continues it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.exit_codes import EXIT_FAILED, EXIT_OK, fail, say

if TYPE_CHECKING:
    from lerax_tui.train.distributed import Cluster
    from lerax_tui.train.sweep_events import SweepEvent, SweepResult
    from lerax_tui.train.sweep_runner import SweepRunner
    from lerax_tui.train.sweep_spec import SweepSpec


def add_parser(sub: Any, path_type: Any) -> None:
    """The ``sweep`` subcommand's arguments (README "Command line")."""
    sweep = sub.add_parser("sweep", help="train many configurations x seeds together (grid or random search)")
    sweep.add_argument("env_id", metavar="ENV_ID")
    sweep.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2,...", help="values of one hyperparameter (product)"
    )
    sweep.add_argument(
        "--sample", action="append", default=[], metavar="KEY=LO:HI[:log]", help="a range to draw --samples from"
    )
    sweep.add_argument("--samples", type=int, default=None, metavar="N", help="random configurations to draw")
    sweep.add_argument(
        "--configs",
        type=path_type,
        default=None,
        metavar="FILE",
        help='JSON list of configurations, e.g. [{"learning_rate": 1e-3}, {"gamma": 0.9}] (times any grid)',
    )
    sweep.add_argument("--seeds", type=int, default=None, metavar="K", help="seeds per configuration (default 1)")
    sweep.add_argument("--steps", type=int, default=None, help="environment steps per seed (total_timesteps)")
    sweep.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed hyperparameter for every configuration"
    )
    sweep.add_argument("--runs-dir", type=path_type, default=None, dest="sub_runs_dir", metavar="DIR")
    sweep.add_argument("--resume", type=path_type, default=None, metavar="SWEEP_DIR", help="continue a sweep")
    sweep.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    from lerax_tui.train.dist_cli import add_arguments

    add_arguments(sweep)


def build_sweep_spec(args: argparse.Namespace) -> SweepSpec:
    """``--configs``, ``--grid``, ``--sample``, ``--samples``, ``--seeds``, ``--steps`` and ``--set``
    on the env's preset, checked (no JAX).

    Raises:
        ConfigError: the first problem, naming the key or option.
        ValueError: an unknown environment id.
    """
    from lerax_tui.core.env_catalogue import env_info
    from lerax_tui.train.config import ConfigError, following_rules, parse_overrides, preset, with_total_timesteps
    from lerax_tui.train.sweep_list import listed_keys, read_config_list
    from lerax_tui.train.sweep_spec import build_spec, parse_grid_args, parse_sample_args

    info = env_info(args.env_id)
    if info is None:
        raise ValueError(f"unknown environment {args.env_id!r} (lerax-tui envs lists them)")
    if not info.supported:
        raise ValueError(f"{args.env_id} is not supported: {info.reason}")
    overrides = parse_overrides(args.set)
    grid, sample = parse_grid_args(args.grid), parse_sample_args(args.sample)
    listed = read_config_list(args.configs) if getattr(args, "configs", None) is not None else None
    named = listed_keys(listed or [])
    for key in overrides:
        if key in grid or key in sample or key in named:
            raise ConfigError(key, "is both fixed by --set and swept: give it one of them")
    swept_keys = [*named, *grid, *sample]
    if args.steps is not None:
        if overrides.get("total_timesteps", args.steps) != args.steps:
            raise ConfigError("--steps", f"{args.steps} contradicts --set total_timesteps: give one of them")
        if "total_timesteps" in swept_keys:
            raise ConfigError("--steps", "total_timesteps is swept: --steps would fix it")
        overrides["total_timesteps"] = args.steps
    if "num_seeds" in overrides:
        raise ConfigError("num_seeds", "give the seeds per configuration with --seeds K")
    steps = overrides.pop("total_timesteps", None)
    base = preset(args.env_id).replace(**overrides)
    if steps is not None:  # what the preset derives from its length follows, as with train --steps
        base = with_total_timesteps(base, steps, env_id=args.env_id, explicit=[*overrides, *grid, *sample])
    seeds = 1 if args.seeds is None else args.seeds
    # per configuration, when swept; a listed key follows in the configurations that do not name it
    follow = following_rules(base, args.env_id, [*overrides, *grid, *sample])
    return build_spec(base, grid, sample, args.samples, seeds, follow=follow, listed=listed)


def spread_over_cores(spec: SweepSpec, cores: int | None = None) -> int:
    """:func:`~lerax_tui.train.host_devices.spread_agents` for a sweep: every program's agents (the
    count divides each)."""
    from lerax_tui.train.host_devices import spread_agents

    return spread_agents([len(program) * spec.seeds for program in spec.programs()], cores)


def _build_runner(args: argparse.Namespace, listener: Any, cluster: Cluster | None = None) -> SweepRunner:
    from lerax_tui.cli_input import runs_dir_problem
    from lerax_tui.train.config import ConfigError
    from lerax_tui.train.sweep_runner import SweepRunner

    if args.resume is not None:
        given = [
            name
            for name, value in (
                ("--configs", getattr(args, "configs", None)),
                ("--grid", args.grid),
                ("--sample", args.sample),
                ("--samples", args.samples),
                ("--seeds", args.seeds),
                ("--steps", args.steps),
                ("--set", args.set),
            )
            if value
        ]
        if given:
            raise ConfigError("--resume", f"a resumed sweep keeps its configurations: drop {', '.join(given)}")
        from lerax_tui.train.sweep_record import read_sweep

        try:
            record = read_sweep(args.resume)
        except FileNotFoundError:
            raise ValueError(f"--resume {args.resume} is not a sweep folder (no sweep.json in it)") from None
        except NotADirectoryError:
            raise ValueError(f"--resume {args.resume} is not a folder: pass a sweep folder") from None
        except ValueError as e:
            raise ValueError(f"--resume {args.resume}: {e}") from None
        if record.env_id != args.env_id:
            raise ConfigError("ENV_ID", f"{args.env_id!r} differs from the sweep's {record.env_id!r}")
        if cluster is not None:
            from lerax_tui.train.dist_sweep import distributed_sweep

            return distributed_sweep(cluster, args.env_id, record.spec(), None, listener, Path(args.resume))
        if getattr(args, "own_process", False):
            spread_over_cores(record.spec())
        return SweepRunner.from_sweep_dir(args.resume, listener)
    spec = build_sweep_spec(args)
    runs_dir = Path(args.sub_runs_dir or getattr(args, "runs_dir", None) or "runs")
    problem = runs_dir_problem(runs_dir, writing=True)
    if problem:
        raise ValueError(problem)
    try:
        if cluster is not None:
            from lerax_tui.train.dist_sweep import distributed_sweep

            return distributed_sweep(cluster, args.env_id, spec, runs_dir, listener, None)
        if getattr(args, "own_process", False):
            spread_over_cores(spec)
        return SweepRunner(args.env_id, spec, runs_dir, listener)
    except OSError as e:
        raise ValueError(f"--runs-dir {runs_dir}: cannot create a sweep folder there ({e.strerror or e})") from None


class SweepProgress:
    """Progress lines on stderr: each program, a step line every few seconds (from the program's
    first configuration still running), and each configuration that fails."""

    def __init__(self, every_s: float = 2.0):
        self.every_s, self._last = every_s, 0.0
        self._program: list[int] = []

    def __call__(self, event: SweepEvent) -> None:
        from lerax_tui.train.events import ChunkMetrics, Failed
        from lerax_tui.train.sweep_events import ConfigEvent, ProgramStarted, SweepStarted

        if isinstance(event, SweepStarted):
            say(f"sweep {event.sweep_dir}: {event.summary}")
        elif isinstance(event, ProgramStarted):
            self._program, self._last = list(event.configs), 0.0
            at = f" from step {event.step:,}" if event.step else ""
            say(f"program {event.program + 1}/{event.programs}: {len(event.configs)} configuration(s){at}, compiling")
        elif isinstance(event, ConfigEvent) and isinstance(event.event, Failed):
            say(f"configuration {event.index} failed: {event.event.message}")
            if event.index in self._program and len(self._program) > 1:
                self._program.remove(event.index)
        elif isinstance(event, ConfigEvent) and isinstance(event.event, ChunkMetrics):
            m, now = event.event, time.monotonic()
            if not self._program or event.index != self._program[0]:
                return
            if now - self._last >= self.every_s or m.step >= m.total_steps:
                self._last = now
                agents = len(self._program) * m.num_seeds
                say(f"  step {m.step:,}/{m.total_steps:,}  {m.sps * len(self._program):,.0f} steps/s ({agents} agents)")


def summary(result: SweepResult, runner: SweepRunner) -> dict[str, Any]:
    """The ``--json`` object."""
    configs = []
    for entry in result.record.configs:
        r = entry.result
        configs.append(
            {
                "index": entry.index,
                "overrides": entry.overrides,
                "run_dir": str(result.sweep_dir / entry.run_dir),
                "status": str(entry.status),
                "error": entry.error,
                "eval_return_mean": None if r is None else r.eval_return_mean,
                "eval_return_per_seed": [] if r is None else r.eval_return_per_seed,
                "best_eval_return_mean": None if r is None else r.best_eval_return_mean,
            }
        )
    return {
        "sweep_dir": str(result.sweep_dir),
        "env_id": runner.env_id,
        "num_configs": len(configs),
        "seeds": result.record.seeds,
        "configs": configs,
        "ranking": result.ranking(),
        "programs": result.programs,
        "wall_s": round(result.wall_s, 3),
        "compile_s": round(result.compile_s, 3),
        "train_s": round(result.train_s, 3),
        "sps": round(result.agent_steps / result.train_s, 1) if result.train_s > 0 else 0.0,
        "stopped_early": result.stopped_early,
        "error": result.error,
    }


def _print(args: argparse.Namespace, out: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(out))
        return
    print(f"sweep folder {out['sweep_dir']}")
    print(
        f"{out['num_configs']} configuration(s) x {out['seeds']} seed(s), {out['programs']} program(s), "
        f"{out['sps']:,.0f} steps/s, compile {out['compile_s']:.1f}s, wall {out['wall_s']:.1f}s"
    )
    for rank, i in enumerate(out["ranking"]):
        c = out["configs"][i]
        values = ", ".join(f"{k}={v}" for k, v in c["overrides"].items()) or "(base)"
        mean = "-" if c["eval_return_mean"] is None else f"{c['eval_return_mean']:.1f}"
        best = "-" if c["best_eval_return_mean"] is None else f"{c['best_eval_return_mean']:.1f}"
        print(f"{rank + 1:>3}. [{i}] {values}: greedy {mean} (best {best}) {c['status']}")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep. 0 ok (some configurations may have failed: see their status), 1 every
    configuration failed or the folder could not be written, 2 bad input, 128 + N after signal N.
    ``--distributed``: as one of several processes (``train/dist_sweep.py``)."""
    from lerax_tui.train.dist_cli import finish, join
    from lerax_tui.train.distributed import ClusterError

    try:
        cluster = join(args)
    except ClusterError as e:
        return fail(str(e))
    return finish(cluster, _sweep(args, cluster))


def _sweep(args: argparse.Namespace, cluster: Cluster | None) -> int:
    from lerax_tui.train.config import ConfigError
    from lerax_tui.train.distributed import PeerLost
    from lerax_tui.train.lifecycle import ResumeStateError
    from lerax_tui.train.runlock import RunLocked
    from lerax_tui.train.stops import SignalStop, run_in_thread, signal_name

    built: dict[str, Any] = {}

    def on_signal(signum: int) -> None:
        if "runner" in built:
            built["runner"].stop()

    quiet = cluster is not None and not cluster.lead  # process 0 reports for every process
    progress: Any = (lambda event: None) if quiet else SweepProgress()
    with SignalStop(on_signal, what="sweep", until_exit=True) as stops:
        try:
            runner = _build_runner(args, progress, cluster)
        except ResumeStateError as e:
            return fail(str(e), EXIT_FAILED)
        except ConfigError as e:
            return fail(str(e))
        except (ValueError, RunLocked) as e:
            return fail(" ".join(str(e).split()))
        except PeerLost as e:  # --distributed: another process gave up while the sweep was being opened
            return fail(str(e), EXIT_FAILED)
        built["runner"] = runner
        if stops.signum is not None and cluster is not None:
            runner.stop()  # the other processes learn of it at the first chunk boundary
        elif stops.signum is not None:
            runner.close()
            say(f"{signal_name(stops.signum)} before the sweep started: continue with --resume {runner.sweep_dir}")
            return 128 + stops.signum
        try:
            result = run_in_thread(runner.run, name="lerax-tui-sweep")
        except Exception as e:
            return fail(f"sweep failed: {type(e).__name__}: {e}", EXIT_FAILED)
    out = summary(result, runner)
    if stops.signum is not None:
        out["signal"] = signal_name(stops.signum)
    try:
        if cluster is None or cluster.lead:
            _print(args, out)
        elif not result.error:  # after an error, its line is this process's last word
            say(f"process {cluster.index} of {cluster.count}: done; process 0 prints the summary of {runner.sweep_dir}")
    except OSError:
        pass
    if result.error:
        return fail(result.error, EXIT_FAILED)
    if stops.signum is not None:
        say(
            f"stopped by {signal_name(stops.signum)}: continue with lerax-tui sweep {runner.env_id} --resume {runner.sweep_dir}"
        )
        return stops.exit_code or 128 + stops.signum
    if all(c["status"] == "failed" for c in out["configs"]):
        return fail("every configuration failed (see sweep.json for why)", EXIT_FAILED)
    return EXIT_OK
