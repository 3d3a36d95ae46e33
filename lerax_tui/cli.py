"""The ``lerax-tui`` command (README "Command line").

Only argparse is imported at start-up: ``--help`` never imports JAX, and each subcommand imports
what it needs. Bad usage and bad input are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from lerax_tui.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse's default prints usage too)
        self.exit(EXIT_USAGE, f"lerax-tui: error: {message}\n")


def _path(text: str) -> Path:
    """A path argument: an empty string is refused (``Path("")`` would silently mean ``.``)."""
    if not text:
        raise argparse.ArgumentTypeError("empty path (use . for the current folder)")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lerax-tui",
        description="Train and inspect DQN agents on gymnax environments, in the terminal.",
        epilog="With no command, opens the app. Keys inside the app: F1 help, ctrl+p command palette.",
    )
    parser.add_argument("--runs-dir", type=_path, default=Path("runs"), help="where run folders live (default ./runs)")
    parser.add_argument("--env", default="CartPole-v1", help="environment selected when the app opens")
    parser.add_argument(
        "--checkpoints",
        type=_path,
        default=None,
        metavar="DIR",
        help="open straight into the checkpoint browser on DIR",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    envs = sub.add_parser("envs", help="list every gymnax environment and whether it is supported")
    envs.add_argument("--json", action="store_true", help="print JSON instead of a table")

    train = sub.add_parser("train", help="train headless (progress on stderr)")
    train.add_argument("env_id", metavar="ENV_ID")
    train.add_argument("--steps", type=int, default=None, help="environment steps per seed (total_timesteps)")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--seeds", type=int, default=None, help="number of seeds trained side by side")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any hyperparameter by its config name"
    )
    train.add_argument("--runs-dir", type=_path, default=None, dest="sub_runs_dir")
    train.add_argument(
        "--resume", type=_path, default=None, metavar="RUN_DIR", help="continue a run from its resume.eqx"
    )
    train.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    from lerax_tui.train.dist_cli import add_arguments

    add_arguments(train)

    ev = sub.add_parser("eval", help="greedy evaluation of a checkpoint")
    ev.add_argument("checkpoint", type=_path, metavar="CHECKPOINT")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true")

    insp = sub.add_parser("inspect", help="verify a checkpoint file without loading it")
    insp.add_argument("checkpoint", type=_path, metavar="CHECKPOINT")
    insp.add_argument(
        "--env", default=None, dest="inspect_env", metavar="ENV_ID", help="environment you mean to build for"
    )
    insp.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="hyperparameters you mean to build with"
    )
    insp.add_argument("--json", action="store_true")

    exp = sub.add_parser("export", help="write a checkpoint in lerax's layout (main or 0.0.5) or ours, verified")
    exp.add_argument("checkpoint", type=_path, metavar="CHECKPOINT")
    exp.add_argument("--format", required=True, choices=("lerax", "lerax-0.0.5", "lerax-tui"), dest="export_format")
    exp.add_argument(
        "-o", "--output", required=True, type=_path, metavar="OUT", help="file to write (.eqx appended when missing)"
    )
    exp.add_argument(
        "--env", default=None, dest="inspect_env", metavar="ENV_ID", help="environment the source was built for"
    )
    exp.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="hyperparameters the source was built with"
    )
    exp.add_argument("--force", action="store_true", help="replace OUT if it exists")
    exp.add_argument("--json", action="store_true")

    from lerax_tui.train.sweep_cli import add_parser as add_sweep

    add_sweep(sub, _path)
    return parser


def cmd_envs(args: argparse.Namespace) -> int:
    from lerax_tui.core.env import catalogue

    rows = catalogue()
    if args.json:
        print(json.dumps([r.to_json() for r in rows]))
        return EXIT_OK
    header = ("ENV_ID", "OBSERVATION", "ACTIONS", "SUPPORTED")
    table = [
        (
            r.env_id,
            str(tuple(r.observation_shape)) if r.observation_shape is not None else "?",
            r.action_space,
            "yes" if r.supported else f"no: {r.reason}",
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(3)]
    for row in [header, *table]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    return EXIT_OK


def _source_arguments(args: argparse.Namespace) -> dict | str:
    """``--set`` parsed and ``--env`` checked (inspect and export), or the error line."""
    from lerax_tui.train.config import ConfigError, parse_overrides

    try:
        overrides = parse_overrides(args.set)
    except ConfigError as e:
        return str(e)
    if args.inspect_env is not None:
        from lerax_tui.train.checks import check_env

        try:
            check_env(args.inspect_env, None)  # known, buildable offline, Discrete actions
        except ValueError as e:  # EnvError too
            return str(e)
    return overrides


def cmd_inspect(args: argparse.Namespace) -> int:
    from lerax_tui.cli_input import file_problem

    overrides = _source_arguments(args)
    if isinstance(overrides, str):
        return fail(overrides)
    from lerax_tui.core.verification import checkpoint_arg, verify

    path = checkpoint_arg(args.checkpoint)
    problem = file_problem(path)
    report = verify(path, env_id=args.inspect_env, overrides=overrides)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(_format_report(report))
    if problem is not None:  # nothing to check: the argument does not name a readable file
        return fail(problem)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    """Write CHECKPOINT in another layout, verified. 0 written, 1 source or read-back problem, 2 usage."""
    from lerax_tui.cli_input import file_problem
    from lerax_tui.core.verification import checkpoint_arg

    overrides = _source_arguments(args)
    if isinstance(overrides, str):
        return fail(overrides)
    problem = file_problem(checkpoint_arg(args.checkpoint))  # no readable source file: bad input
    if problem is not None:
        return fail(problem)
    from lerax_tui.core.checkpoint import CheckpointError
    from lerax_tui.core.export import (
        ExportError,
        ExportVerificationError,
        describe,
        export_checkpoint,
    )

    try:
        result = export_checkpoint(
            args.checkpoint,
            args.output,
            args.export_format,
            env_id=args.inspect_env,
            overrides=overrides,
            force=args.force,
        )
    except ExportError as e:
        return fail(str(e))
    except CheckpointError as e:
        return fail(f"cannot export: {e}", EXIT_FAILED)
    except ExportVerificationError as e:
        return fail(f"export failed, nothing written: {e}", EXIT_FAILED)
    print(json.dumps(result.to_json()) if args.json else describe(result))
    return EXIT_OK


def _format_report(report) -> str:
    from lerax_tui.core.verification import describe_kind

    lines = [
        f"{report.path}: {report.status}"
        + (f" ({describe_kind(report.fingerprint_kind)})" if report.fingerprint_kind else "")
    ]
    if report.fingerprint:
        lines.append(f"  fingerprint  {report.fingerprint}")
    if report.env_id:
        lines.append(f"  env          {report.env_id}" + ("  (inferred: no manifest)" if report.inferred else ""))
    if report.hyperparameters:
        lines.append("  policy       " + ", ".join(f"{k}={v}" for k, v in report.hyperparameters.items()))
    m = report.manifest
    if m:
        lines.append(f"  step         {m.step}    recent return {m.recent_return}    created {m.created}")
    for p in report.problems:
        lines.append(f"  - {p}")
    return "\n".join(lines)


def _open_app(args: argparse.Namespace) -> int:
    from lerax_tui.cli_input import checkpoints_dir_problem, runs_dir_problem

    problem = runs_dir_problem(args.runs_dir, writing=False)
    if problem is None and args.checkpoints is not None:
        problem = checkpoints_dir_problem(args.checkpoints)
    if problem is None and args.env != "CartPole-v1":
        problem = _unknown_env(args.env)
    if problem is not None:
        return fail(problem)
    from lerax_tui.train.memory import memory_available_now
    from lerax_tui.tui.app import make_app

    app = make_app(
        runs_dir=args.runs_dir, env_id=args.env, checkpoints_dir=args.checkpoints, memory_probe=memory_available_now
    )
    app.run()
    return int(app.return_code or 0)


def _unknown_env(env_id: str) -> str | None:
    """``--env`` must name a gymnax environment (an unsupported one still opens, with its reason)."""
    from lerax_tui.core.env_catalogue import env_info

    if env_info(env_id) is not None:
        return None
    return f"--env: unknown environment {env_id[:60]!r} (see `lerax-tui envs`)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.own_process = argv is None  # the command line's own process (not a caller's, e.g. a test's)
    if args.own_process:
        from lerax_tui.train.allocator import raise_arena_limit

        raise_arena_limit()  # before JAX starts its threads
    try:
        return _dispatch(args)
    except KeyboardInterrupt:  # outside the commands' own signal handling (e.g. while importing)
        print("\nlerax-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # last resort: every known bad input has its own message before this
        if os.environ.get("LERAX_TUI_DEBUG"):
            raise
        from lerax_tui.core.safe_io import describe_os_error

        if isinstance(e, OSError) and e.filename:
            return fail(describe_os_error(e.filename, e))
        return fail(
            f"unexpected {type(e).__name__}: {' '.join(str(e).split())[:300]} (LERAX_TUI_DEBUG=1 shows where)",
            EXIT_FAILED,
        )


def _dispatch(args: argparse.Namespace) -> int:
    if args.command is None:
        return _open_app(args)
    if args.command == "envs":
        return cmd_envs(args)
    if args.command == "inspect":
        return cmd_inspect(args)
    if args.command == "export":
        return cmd_export(args)
    from lerax_tui.train import cli as train_cli

    if args.command == "train":
        if args.sub_runs_dir is not None:
            args.runs_dir = args.sub_runs_dir
        return train_cli.cmd_train(args)
    if args.command == "eval":
        return train_cli.cmd_eval(args)
    if args.command == "sweep":
        from lerax_tui.train.sweep_cli import cmd_sweep

        return cmd_sweep(args)
    return fail(f"unknown command {args.command!r}")


if __name__ == "__main__":
    raise SystemExit(main())
