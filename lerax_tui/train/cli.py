"""``lerax-tui train`` and ``lerax-tui eval`` (contract: DESIGN.md "CLI contract").

Progress goes to stderr; with ``--json`` the last stdout line is one JSON object. Bad input is one
line on stderr with exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"lerax-tui: error: {message}", file=sys.stderr)
    return code


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """A listener that prints steps, SPS, ETA (compile excluded) and the last return to stderr.

    On a terminal one line is rewritten in place; otherwise a line is printed at most every 2 s.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_print = 0.0
        self.last_return: float | None = None
        self.rate: float | None = None

    def __call__(self, event: Any) -> None:
        from lerax_tui.train.events import ChunkMetrics, CheckpointWritten, Compiling, Evaluated, Failed, Finished

        if isinstance(event, Compiling):
            self._line(f"compiling ({event.run_dir})", force=True)
        elif isinstance(event, ChunkMetrics):
            for r in event.episode_returns[:1]:
                if len(r):
                    self.last_return = float(r[-1])
            done = event.step >= event.total_steps
            # SPS smoothed over chunks; compile time never enters it, so neither does the ETA.
            self.rate = event.sps if self.rate is None else 0.7 * self.rate + 0.3 * event.sps
            per_seed_rate = self.rate / max(1, event.num_seeds)
            eta = (event.total_steps - event.step) / per_seed_rate if per_seed_rate > 0 else 0.0
            last = f"{self.last_return:.1f}" if self.last_return is not None else "-"
            self._line(
                f"step {event.step:,}/{event.total_steps:,}  sps {event.sps:,.0f}  eta {_duration(eta)}  "
                f"last return {last}  loss {_fmt_loss(event.loss)}  eps {event.epsilon:.3f}",
                force=done,
            )
        elif isinstance(event, CheckpointWritten):
            self._line(f"checkpoint {event.path}", force=True, keep=True)
        elif isinstance(event, Evaluated):
            means = ", ".join(f"{float(r.mean()):.1f}" for r in event.returns if len(r))
            if event.which == "periodic":
                best = ", ".join("-" if b is None else f"{b:.1f}" for b in event.best or [])
                self._line(f"eval @ {event.step:,}: greedy {means}  (best so far {best})", force=True, keep=True)
            elif event.which == "best":
                steps = ", ".join("-" if s is None else f"{s:,}" for s in event.best_steps or [])
                self._line(f"best policies (steps {steps}): greedy evaluation: {means}", force=True, keep=True)
            else:
                self._line("greedy evaluation: " + means, force=True, keep=True)
        elif isinstance(event, Failed):
            self._line(f"failed: {event.message}", force=True, keep=True)
        elif isinstance(event, Finished):
            self._line(f"{'stopped' if event.stopped_early else 'finished'}: {event.run_dir}", force=True, keep=True)

    def _line(self, text: str, *, force: bool = False, keep: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if keep else ""))
        elif force or now - self.last_print >= 2.0:
            self.stream.write(text + "\n")
        else:
            return
        self.stream.flush()
        self.last_print = now


def _fmt_loss(loss: Any) -> str:
    import numpy as np

    loss = np.asarray(loss, dtype=float)
    return f"{np.nanmean(loss):.4f}" if np.isfinite(loss).any() else "-"


def _build_runner(args: argparse.Namespace, listener: Any):
    from lerax_tui.train.config import ConfigError, parse_overrides, preset
    from lerax_tui.train.runner import Runner

    overrides = parse_overrides(getattr(args, "set", None) or [])
    if args.resume is not None:
        if overrides or args.seed is not None or args.seeds is not None:
            raise ConfigError("--resume", "a resumed run keeps its configuration: only --steps may be given with it")
        from lerax_tui.train import runs

        run_dir = Path(args.resume)
        try:
            saved = runs.read_config(run_dir)
        except (OSError, ValueError):
            raise FileNotFoundError(f"{run_dir} is not a run folder (no readable config.json)") from None
        if saved.get("env_id") != args.env_id:
            raise ConfigError("ENV_ID", f"{args.env_id!r} differs from the run's {saved.get('env_id')!r}")
        return Runner.from_run_dir(run_dir, listener, total_timesteps=args.steps)
    config = preset(args.env_id)
    changes = dict(overrides)
    if args.steps is not None:
        changes["total_timesteps"] = args.steps
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.seeds is not None:
        changes["num_seeds"] = args.seeds
    config = config.replace(**changes)
    runs_dir = Path(getattr(args, "runs_dir", None) or "runs")
    return Runner(args.env_id, {}, config, runs_dir, listener)


def cmd_train(args: argparse.Namespace) -> int:
    """Train headless. Returns the exit status (0 ok, 1 training failed, 2 bad input)."""
    from lerax_tui.core.env import EnvError
    from lerax_tui.train.config import ConfigError

    started = time.perf_counter()
    progress = Progress()
    try:
        runner = _build_runner(args, progress)
    except (ConfigError, EnvError, ValueError, FileNotFoundError) as e:
        return _fail(str(e))

    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = runner.run()
        except BaseException as e:  # reported below, in the main thread
            outcome["error"] = e

    # Training runs in a thread so ctrl-c stops it cleanly at a chunk boundary (final files written).
    thread = threading.Thread(target=work, name="lerax-tui-train", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        print("\nstopping at the next chunk boundary (ctrl-c again to abort)", file=sys.stderr)
        runner.stop()
        thread.join()
    if "error" in outcome:
        e = outcome["error"]
        return _fail(f"training failed: {type(e).__name__}: {e}", EXIT_FAILED)
    result = outcome["result"]
    if result.error:
        _fail(result.error, EXIT_FAILED)
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
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"run folder   {summary['run_dir']}")
        print(f"checkpoint   {summary['checkpoint']}")
        print(f"env steps    {summary['env_steps']:,} per seed x {num_seeds} seed(s)  ({summary['sps']:,.0f} steps/s, compile {summary['compile_s']:.1f}s)")
        if per_seed:
            print("greedy eval  " + ", ".join(f"{m:.1f}" for m in per_seed))
        if summary["best_checkpoint"]:
            print(f"best policy  {summary['best_checkpoint']}")
        if best_per_seed:
            print("best eval    " + ", ".join(f"{m:.1f}" for m in best_per_seed) + "  (steps " + ", ".join(f"{s:,}" for s in result.best_steps) + ")")
    return EXIT_FAILED if result.error else EXIT_OK


def _eval_summary(returns: list) -> tuple[list[float], float | None]:
    """Per-seed mean returns, and the mean over every episode of every seed (None without any)."""
    import numpy as np

    per_seed = [float(np.mean(r)) for r in returns if len(r)]
    joined = np.concatenate([np.asarray(r, float) for r in returns]) if returns else np.zeros(0)
    return per_seed, (float(joined.mean()) if joined.size else None)


def _env_overrides(env_id: str, saved: dict | None) -> dict:
    """The manifest's env params that differ from the env's defaults (arrays as arrays)."""
    if not saved:
        return {}
    import numpy as np

    from lerax_tui.core.env import make_env

    defaults = make_env(env_id).param_dict()
    out = {}
    for k, v in saved.items():
        if k in defaults and defaults[k] != v:
            out[k] = np.asarray(v) if isinstance(v, list) else v
    return out


def cmd_eval(args: argparse.Namespace) -> int:
    """Greedy evaluation of a checkpoint. Returns 0, 1 (checkpoint problem) or 2 (bad input)."""
    if args.episodes is None or args.episodes < 1:
        return _fail(f"--episodes: {args.episodes} must be at least 1")
    from lerax_tui.core.checkpoint import CheckpointError
    from lerax_tui.core.env import EnvError, make_env
    from lerax_tui.core.verification import load_checkpoint

    try:
        policy, report = load_checkpoint(args.checkpoint)
    except CheckpointError as e:
        return _fail(str(e), EXIT_FAILED)
    manifest = report.manifest or {}
    try:
        env = make_env(report.env_id, **_env_overrides(report.env_id, manifest.get("env_params") if manifest.get("env_id") == report.env_id else None))
    except EnvError as e:
        return _fail(str(e))
    import jax.random as jr
    import numpy as np

    from lerax_tui.train.evaluation import evaluate

    returns = evaluate(policy, env, episodes=args.episodes, key=jr.key(args.seed or 0))
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
        print(f"  return {summary['return_mean']:.2f} +- {summary['return_std']:.2f}  (min {np.min(returns):.1f}, max {np.max(returns):.1f})")
    return EXIT_OK
