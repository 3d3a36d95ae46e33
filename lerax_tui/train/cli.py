"""``lerax-tui train`` and ``lerax-tui eval`` (README "Command line").

Progress goes to stderr; with ``--json`` the last stdout line is one JSON object. Bad input is one
line on stderr with exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.exit_codes import EXIT_FAILED, EXIT_OK, fail, say

if TYPE_CHECKING:
    from lerax_tui.train.config import DQNConfig
    from lerax_tui.train.distributed import Cluster
    from lerax_tui.train.events import Listener, RunResult
    from lerax_tui.train.runner import Runner


def signal_name(signum: int) -> str:
    from lerax_tui.train.stops import signal_name as name

    return name(signum)


def new_run_config(args: argparse.Namespace, overrides: dict[str, Any]) -> DQNConfig:
    """The config of a new run: the env's preset, ``--set``, then ``--steps``/``--seed``/``--seeds``.
    Fields the preset derives from total_timesteps (eval_interval) follow a new length unless ``--set``
    gave them.

    Raises:
        ConfigError: an invalid value, or --steps contradicting --set total_timesteps.
    """
    from lerax_tui.train.config import ConfigError, preset, with_total_timesteps

    overrides = dict(overrides)
    steps = overrides.pop("total_timesteps", None)
    if args.steps is not None:
        if steps is not None and steps != args.steps:
            raise ConfigError("--steps", f"{args.steps} contradicts --set total_timesteps={steps}: give one of them")
        steps = args.steps
    config = preset(args.env_id).replace(**overrides)  # an invalid --set is refused on its own
    if steps is not None:
        config = with_total_timesteps(config, steps, env_id=args.env_id, explicit=overrides)
    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.seeds is not None:
        changes["num_seeds"] = args.seeds
    return config.replace(**changes)


def _build_runner(args: argparse.Namespace, listener: Listener, cluster: Cluster | None = None) -> Runner:
    """Check every argument (numbers, --set, --runs-dir, the resumed folder's config.json) before
    JAX is imported, then build the runner (which builds the env and, for a new run, the folder).

    Raises:
        ConfigError, ValueError: bad input (EnvError and RunFileError are ValueErrors).
        OSError: a path that cannot be used, the message saying why.
    """
    from lerax_tui.cli_input import runs_dir_problem
    from lerax_tui.train.config import ConfigError, DQNConfig, parse_overrides
    from lerax_tui.train.runner import Runner

    overrides = parse_overrides(getattr(args, "set", None) or [])  # --steps/--seed/--seeds: DQNConfig's ranges
    if args.resume is not None:
        if overrides or args.seed is not None or args.seeds is not None:
            raise ConfigError("--resume", "a resumed run keeps its configuration: only --steps may be given with it")
        from lerax_tui.train import runs

        run_dir = Path(args.resume)
        try:
            saved = runs.read_run_config(run_dir)
        except FileNotFoundError:
            raise ValueError(f"--resume {run_dir} is not a run folder (no config.json in it)") from None
        except NotADirectoryError:
            raise ValueError(f"--resume {run_dir} is not a folder: pass a run folder") from None
        except OSError as e:
            from lerax_tui.core.safe_io import describe_os_error

            raise ValueError(f"--resume: {describe_os_error(run_dir / runs.CONFIG_FILE, e)}") from None
        except ValueError as e:
            raise ValueError(f"--resume {run_dir}: {e}") from None
        if saved.env_id != args.env_id:
            raise ConfigError("ENV_ID", f"{args.env_id!r} differs from the run's {saved.env_id!r}")
        if cluster is not None:
            from lerax_tui.train.dist_cli import check_seeds
            from lerax_tui.train.dist_runner import DistributedRunner

            check_seeds(cluster, DQNConfig.from_dict(saved.raw["config"]).num_seeds)
            return DistributedRunner.resume_run(cluster, run_dir, listener, total_timesteps=args.steps)
        _spread(args, saved.raw.get("config", {}).get("num_seeds", 1))
        return Runner.from_run_dir(run_dir, listener, total_timesteps=args.steps)
    config = new_run_config(args, overrides)
    runs_dir = Path(getattr(args, "runs_dir", None) or "runs")
    problem = runs_dir_problem(runs_dir, writing=True)
    if problem:
        raise ValueError(problem)
    try:
        if cluster is not None:
            from lerax_tui.train.dist_cli import check_seeds
            from lerax_tui.train.dist_runner import DistributedRunner

            check_seeds(cluster, config.num_seeds)
            return DistributedRunner(cluster, args.env_id, {}, config, runs_dir, listener)
        _spread(args, config.num_seeds)
        return Runner(args.env_id, {}, config, runs_dir, listener)
    except OSError as e:  # the run folder itself could not be made (read-only or full file system...)
        raise ValueError(f"--runs-dir {runs_dir}: cannot create a run folder there ({e.strerror or e})") from None


def _devices() -> int:
    """The local devices the run's seeds could be split over (``shard_seeds`` splits when they divide)."""
    import jax

    return jax.local_device_count()


def _spread(args: argparse.Namespace, num_seeds: Any) -> None:
    """In ``lerax-tui train``'s own process (not a cluster's: the caller checked), the seeds over
    one host device per core where they divide (``host_devices.spread_agents``); the run's state is
    then split over them (``shard_seeds``). A 2-device program rounds differently from a 1-device
    one, so a run's returns depend on the split like on any layout change; the in-process API and
    the app keep one device."""
    if getattr(args, "own_process", False) and isinstance(num_seeds, int) and num_seeds > 1:
        from lerax_tui.train.host_devices import spread_agents

        spread_agents([num_seeds])


def cmd_train(args: argparse.Namespace) -> int:
    """Train headless (``--distributed``: as one of several processes, ``train/dist_cli.py``).

    See :func:`_train` for the exit statuses."""
    from lerax_tui.train.dist_cli import finish, join
    from lerax_tui.train.distributed import ClusterError

    try:
        cluster = join(args)
    except ClusterError as e:
        return fail(str(e))
    return finish(cluster, _train(args, cluster))


def _train(args: argparse.Namespace, cluster: Cluster | None) -> int:
    """Train headless. Returns the exit status: 0 ok, 1 training failed or a damaged resume state,
    2 bad input (or the run folder is being written by another process), 128 + N after signal N
    (SIGINT 130, SIGTERM 143, SIGHUP 129) once the final and resume checkpoints are written."""
    from lerax_tui.train.config import ConfigError
    from lerax_tui.train.distributed import PeerLost
    from lerax_tui.train.lifecycle import ResumeStateError
    from lerax_tui.train.progress import Progress
    from lerax_tui.train.runlock import RunLocked
    from lerax_tui.train.stops import SignalStop, run_in_thread

    started = time.perf_counter()
    progress = Progress()
    built: dict[str, Any] = {}

    def on_signal(signum: int) -> None:
        if "runner" in built:
            built["runner"].stop()

    with SignalStop(on_signal, force_note=lambda: _on_disk(built.get("runner")), until_exit=True) as stops:
        try:
            quiet = cluster is not None and not cluster.lead  # process 0 reports for every process
            runner = _build_runner(args, (lambda event: None) if quiet else progress, cluster)
        except ResumeStateError as e:
            return fail(str(e), EXIT_FAILED)
        except ConfigError as e:
            if args.resume is not None and e.field == "total_timesteps":  # the user typed --steps
                return fail(f"--steps{str(e)[len(e.field) :]}")
            return fail(str(e))
        except (ValueError, RunLocked) as e:  # EnvError, RunFileError too: bad input, nothing written
            return fail(" ".join(str(e).split()))
        except PeerLost as e:  # --distributed: another process gave up while the run was being opened
            return fail(str(e), EXIT_FAILED)
        except OSError as e:  # e.g. FileNotFoundError("RUN has no checkpoints/resume.eqx ...")
            from lerax_tui.core.safe_io import describe_os_error

            return fail(describe_os_error(e.filename, e) if e.filename else " ".join(str(e).split()))
        built["runner"] = runner
        if args.resume is not None:
            note = f": {runner.resume_note}" if runner.resume_note else ""
            print(
                f"resuming {runner.run_dir} from step {runner.start_step:,} to {runner.config.total_timesteps:,}{note}",
                file=sys.stderr,
            )
        if stops.signum is not None and cluster is not None:
            runner.stop()  # the other processes learn of it at the first chunk boundary
        elif stops.signum is not None:  # signalled while the runner was being built: nothing trained
            runner.close()
            say(f"{signal_name(stops.signum)} before training started: {_on_disk(runner)}")
            return 128 + stops.signum
        try:
            result = run_in_thread(runner.run, name="lerax-tui-train")
        except Exception as e:  # the runner emitted Failed already; one line, no traceback
            return fail(f"training failed: {type(e).__name__}: {e}", EXIT_FAILED)
        finally:
            progress.close()  # Finished and Failed end the live line; this covers anything else
    if result.error:
        fail(result.error, EXIT_FAILED)
    num_seeds = runner.config.num_seeds
    trained = (result.env_steps - runner.start_step) * num_seeds
    per_seed, eval_mean = _eval_summary(result.eval_returns)
    best_per_seed, best_mean = _eval_summary(result.best_eval_returns)
    final = [p for p in result.checkpoints if p.stem in ("final", "seed-0-final")]
    summary = {
        "run_dir": str(result.run_dir),
        "checkpoint": str(final[0]) if final else None,
        "checkpoints": [str(p) for p in result.checkpoints],
        "env_id": runner.env_id,
        "env_steps": int(result.env_steps),
        "num_seeds": num_seeds,
        "devices": _devices(),
        "wall_s": round(time.perf_counter() - started, 3),
        "compile_s": round(result.compile_s, 3),
        "train_s": round(result.train_s, 3),
        "sps": round(trained / result.train_s, 1) if result.train_s > 0 else 0.0,
        "eval_return_mean": eval_mean,
        "eval_return_per_seed": per_seed,
        "best_checkpoint": str(result.best_checkpoints[0]) if result.best_checkpoints else None,
        "best_steps": list(result.best_steps),
        "best_eval_return_mean": best_mean,
        "best_eval_return_per_seed": best_per_seed,
        "stopped_early": result.stopped_early,
        "error": result.error,
    }
    if stops.signum is not None:
        summary["signal"] = signal_name(stops.signum)
    try:
        if cluster is None or cluster.lead:
            _print_summary(args, summary, result, per_seed, best_per_seed)
        elif result.error is None:  # after an error, its line above is this process's last word
            say(f"process {cluster.index} of {cluster.count}: done; process 0 prints the summary of {result.run_dir}")
    except OSError:
        pass  # the terminal went away (SIGHUP): the run folder is what matters
    if result.error:
        return EXIT_FAILED
    if stops.signum is not None:
        say(f"stopped by {signal_name(stops.signum)} at step {result.env_steps:,}: {_on_disk(runner)}")
        return 128 + stops.signum
    return EXIT_OK


def _print_summary(
    args: argparse.Namespace,
    summary: dict[str, Any],
    result: RunResult,
    per_seed: list[float],
    best_per_seed: list[float],
) -> None:
    num_seeds = summary["num_seeds"]
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"run folder   {summary['run_dir']}")
        print(f"checkpoint   {summary['checkpoint'] or 'no final checkpoint written by this run'}")
        print(
            f"env steps    {summary['env_steps']:,} per seed x {num_seeds} seed(s)  ({summary['sps']:,.0f} steps/s, compile {summary['compile_s']:.1f}s)"
        )
        if per_seed:
            print("greedy eval  " + ", ".join(f"{m:.1f}" for m in per_seed))
        if summary["best_checkpoint"]:
            print(f"best policy  {summary['best_checkpoint']}")
        if best_per_seed:
            print(
                "best eval    "
                + ", ".join(f"{m:.1f}" for m in best_per_seed)
                + "  (steps "
                + ", ".join(f"{s:,}" for s in result.best_steps)
                + ")"
            )


def _on_disk(runner: Runner | None) -> str:
    """Where a stopped run's files are, and how to continue it (one sentence)."""
    if runner is None:
        return "no run folder was created"
    from lerax_tui.train import runs

    folder = runner.run_dir / runs.CHECKPOINTS
    final = sorted(p.name for p in folder.glob("*final.eqx")) if folder.is_dir() else []
    resume = folder / f"{runs.RESUME_NAME}.eqx"
    parts = [
        f"final checkpoint{'s' if len(final) > 1 else ''} {', '.join(str(folder / n) for n in final)}"
        if final
        else "no final checkpoint yet"
    ]
    parts.append(f"resume state {resume}" if resume.is_file() else "no resume state yet (it restarts from step 0)")
    return "; ".join(parts) + f"; continue with: lerax-tui train {runner.env_id} --resume {runner.run_dir}"


def _eval_summary(returns: list) -> tuple[list[float], float | None]:
    """Per-seed mean returns, and the mean over every episode of every seed (None without any)."""
    import numpy as np

    per_seed = [float(np.mean(r)) for r in returns if len(r)]
    joined = np.concatenate([np.asarray(r, float) for r in returns]) if returns else np.zeros(0)
    return per_seed, (float(joined.mean()) if joined.size else None)


def cmd_eval(args: argparse.Namespace) -> int:
    """Greedy evaluation of a checkpoint. Returns 0, 1 (checkpoint problem) or 2 (bad input)."""
    from lerax_tui.cli_input import (
        MAX_EVAL_EPISODES,
        SEED_MAX,
        file_problem,
        int_problem,
    )

    problem = int_problem("--episodes", args.episodes, 1, MAX_EVAL_EPISODES) or int_problem(
        "--seed", args.seed, 0, SEED_MAX
    )
    if problem:
        return fail(problem)
    from lerax_tui.core.verification import checkpoint_arg

    path = checkpoint_arg(args.checkpoint)
    problem = file_problem(path)
    if problem:
        return fail(problem)
    from lerax_tui.core.checkpoint import CheckpointError
    from lerax_tui.core.env import EnvError, make_env, non_default_params
    from lerax_tui.core.verification import load_checkpoint

    try:
        policy, report = load_checkpoint(path)
    except CheckpointError as e:
        return fail(str(e), EXIT_FAILED)
    assert report.env_id is not None  # load_checkpoint only returns reports that matched an env
    try:
        saved = report.manifest.env_params_for(report.env_id) if report.manifest else None
        env = make_env(report.env_id, **non_default_params(report.env_id, saved))
    except EnvError as e:  # the manifest was checked by verify: reaching this is the file's problem
        return fail(f"{path}: its environment cannot be built: {e}", EXIT_FAILED)
    import jax.random as jr
    import numpy as np

    from lerax_tui.train.evaluation import evaluate
    from lerax_tui.train.stops import SignalStop, run_in_thread

    # Evaluation writes nothing: a signal ends it at once (the jitted call runs in a thread so the
    # signal is seen while it runs).
    with SignalStop(what="evaluation", immediate=True):
        returns = run_in_thread(
            lambda: evaluate(policy, env, episodes=args.episodes, key=jr.key(args.seed or 0)), name="lerax-tui-eval"
        )
    summary = {
        "checkpoint": str(args.checkpoint),
        "env_id": report.env_id,
        "episodes": int(args.episodes),
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "returns": [float(r) for r in returns],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['checkpoint']}: {report.env_id}, {args.episodes} greedy episodes")
        print(
            f"  return {summary['return_mean']:.2f} +- {summary['return_std']:.2f}  (min {np.min(returns):.1f}, max {np.max(returns):.1f})"
        )
    return EXIT_OK
