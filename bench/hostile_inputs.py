"""Hostile input: bad command lines and crafted files, each run in a subprocess with a timeout.

Every command line and every crafted file must end in one line on stderr and the README's exit
status (0 ok, 1 a checkpoint problem, 2 bad usage or bad input): never a traceback, never a hang,
never unbounded memory. Crafted files are read by ``inspect``, ``eval``, ``train --resume`` and by
the app itself (its run list and checkpoint browser at start-up), and the peak RSS of each process
is measured (``wait4``), so a reader that loads a whole file shows up.

    flock /work/cpu.lock python bench/hostile_inputs.py [--only cli|files] [-k TEXT] [--timeout 90]

Prints the count of command lines and files tried, then tracebacks, hangs, wrong exit codes and
stderr that is not one line (all must be 0), and peak RSS per crafted file against a valid file.
Subprocesses run one at a time (the project's machine has 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CWD = REPO  # set to the workspace: anything a command writes by mistake lands there
GB = 1 << 30
MB = 1 << 20

# The app, headless: tick every past run, open the checkpoint browser on a folder, wait until every
# row is verified, quit. Prints "app-probe-ok" when all of that ended.
APP_PROBE = r"""
import asyncio, sys, time
from pathlib import Path

async def main(runs, ckpts):
    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.widgets.runs_list import RunsList
    from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen

    app = make_app(runs_dir=Path(runs), checkpoints_dir=None, keymap_path=Path(runs) / "no-keymap.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        runs_list = app.query_one(RunsList)
        for folder in list(runs_list.folders):
            runs_list.tick(folder.path)
        for _ in range(3):
            runs_list.poll()
            await pilot.pause(0.1)
        if ckpts != "-":
            app.checkpoints_dir = Path(ckpts)
            await pilot.press("ctrl+o")
            deadline = time.monotonic() + 40
            while not isinstance(app.screen, CheckpointBrowserScreen) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            screen = app.screen
            while time.monotonic() < deadline and not screen.verified:
                await pilot.pause(0.1)
            if screen.verify_seconds is None:
                print("browser rows still verifying", file=sys.stderr)
                sys.exit(3)
        await pilot.press("ctrl+q")
    print("app-probe-ok")

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@dataclass
class Outcome:
    name: str
    rc: int | None
    expected: int
    seconds: float
    peak_rss_mb: float
    stderr: str
    stdout: str

    @property
    def hang(self) -> bool:
        return self.rc is None

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr or "Traceback (most recent call last)" in self.stdout

    @property
    def wrong_code(self) -> bool:
        return not self.hang and self.rc != self.expected

    @property
    def not_one_line(self) -> bool:
        """A refusal must be exactly one line on stderr (inspect's report goes to stdout)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        if any(line.startswith("compiling (") for line in lines):  # training had started: progress lines,
            lines = lines[-1:]  # then one error line (a damaged resume.eqx is found when the state loads)
        return self.rc not in (0, None) and self.expected != 0 and len(lines) != 1 and not (self.rc == 1 and not lines)


# A small launcher between the bench and each command: Linux hands a process the parent's peak RSS
# when it forks and execs (``signal->maxrss``), and this bench's own process holds JAX. The launcher
# (``python -S``, a few MB) forks and execs the command, waits for it with wait4 and writes its
# peak RSS to a file, then exits with the command's status.
LAUNCHER = r"""
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run(argv: list[str], *, expected: int, name: str, timeout: float, module: bool = True) -> Outcome:
    """Run ``python -m lerax_tui ARGV`` (or ``python ARGV``) through the launcher, with a timeout."""
    cmd = [sys.executable, "-m", "lerax_tui", *argv] if module else [sys.executable, *argv]
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"), "COLUMNS": "120"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, rss.name, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=CWD,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            rc = None
        seconds = time.perf_counter() - t0
        rss_kb = int(rss.read() or 0)
        out.seek(0)
        err.seek(0)
        return Outcome(
            name,
            rc,
            expected,
            seconds,
            rss_kb / 1024,
            err.read().decode(errors="replace"),
            out.read().decode(errors="replace"),
        )


# --- the workspace -----------------------------------------------------------------------------


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def build_workspace(w: Path) -> dict:
    """A valid checkpoint, a valid run folder (config.json, a resume manifest), odd files."""
    import jax

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.core.checkpoint import save_checkpoint
    from lerax_tui.train.config import preset
    from lerax_tui.train.runner import Runner

    env = make_env("CartPole-v1")
    ok = save_checkpoint(MLPQPolicy(env, width_size=16, depth=1, key=jax.random.key(0)), w / "ok", env=env, step=100)
    config = preset("CartPole-v1").replace(
        total_timesteps=256,
        learning_starts=64,
        eval_interval=0,
        eval_episodes=1,
        width_size=16,
        depth=1,
        buffer_size=256,
        batch_size=32,
    )
    runner = Runner("CartPole-v1", {}, config, w / "runs")
    # a real resume pair (the state at step 0), as the runner writes it
    from lerax_tui.core.checkpoint import save_pytree
    from lerax_tui.train import dqn, runs
    from lerax_tui.train.runner import RESUME_KIND

    save_pytree(
        dqn.init_state(runner.env, config),
        runner.run_dir / runs.CHECKPOINTS / runs.RESUME_NAME,
        kind=RESUME_KIND,
        manifest_extra={"env_id": "CartPole-v1", "env_params": {}, "config": config.to_dict(), "step": 0},
    )
    # a complete run (its resume state records the last step): --resume reads it all, then refuses (2)
    complete = w / "run-complete"
    shutil.copytree(runner.run_dir, complete)
    save_pytree(
        dqn.init_state(runner.env, config),
        complete / runs.CHECKPOINTS / runs.RESUME_NAME,
        kind=RESUME_KIND,
        manifest_extra={
            "env_id": "CartPole-v1",
            "env_params": {},
            "config": config.to_dict(),
            "step": config.total_timesteps,
        },
    )
    (w / "text.txt").write_text("hello, not a checkpoint\n")
    (w / "empty.eqx").write_bytes(b"")
    (w / "folder").mkdir()
    (w / "folder.eqx").mkdir()
    os.mkfifo(w / "fifo.eqx")
    os.mkfifo(w / "fifo")
    (w / "loop.eqx").symlink_to(w / "loop.eqx")
    (w / "zero.eqx").symlink_to("/dev/zero")
    (w / "a-file").write_text("x")
    return {"ok": ok, "run": runner.run_dir, "run_complete": complete, "config": config}


# --- command lines -----------------------------------------------------------------------------


def cli_cases(w: Path, ws: dict) -> list[tuple[str, list[str], int]]:
    """(name, argv, expected exit status). Every one of these is bad input (2) or a checkpoint
    problem (1); none may start training."""
    ok, run = str(ws["ok"]), str(ws["run"])
    long_name = "x" * 300
    cases: list[tuple[str, list[str], int]] = []

    def add(name: str, argv: list[str], code: int = 2) -> None:
        cases.append((name, argv, code))

    # argparse: dies before JAX is imported
    add("unknown command", ["bogus"])
    add("unknown top-level flag", ["--bogus"])
    add("train without ENV_ID", ["train"])
    add("eval without CHECKPOINT", ["eval"])
    add("inspect without CHECKPOINT", ["inspect"])
    add("envs unknown flag", ["envs", "--bogus"])
    add("train --steps abc", ["train", "CartPole-v1", "--steps", "abc"])
    add("train --steps 1.5", ["train", "CartPole-v1", "--steps", "1.5"])
    add("train --steps empty", ["train", "CartPole-v1", "--steps", ""])
    add("train --seed x", ["train", "CartPole-v1", "--seed", "x"])
    add("train --seeds two", ["train", "CartPole-v1", "--seeds", "two"])
    add("train --set missing value", ["train", "CartPole-v1", "--set"])
    add("train --resume missing value", ["train", "CartPole-v1", "--resume"])
    add("train --runs-dir missing value", ["train", "CartPole-v1", "--runs-dir"])
    add("train extra positional", ["train", "CartPole-v1", "extra"])
    add("eval --episodes many", ["eval", ok, "--episodes", "many"])
    add("eval --episodes 1e3", ["eval", ok, "--episodes", "1e3"])
    add("eval --seed 0x10", ["eval", ok, "--seed", "0x10"])
    add("eval two checkpoints", ["eval", ok, ok])
    add("inspect --env missing value", ["inspect", ok, "--env"])
    add("inspect --set missing value", ["inspect", ok, "--set"])
    add("--runs-dir missing value", ["--runs-dir"])
    add("--checkpoints missing value", ["--checkpoints"])
    add("train --json=1", ["train", "CartPole-v1", "--json=1"])
    add("eval --bogus", ["eval", ok, "--bogus"])

    # the app: refused before it opens
    add("app --runs-dir a file", ["--runs-dir", str(w / "a-file")])
    add("app --runs-dir under a file", ["--runs-dir", str(w / "a-file" / "runs")])
    add("app --runs-dir /dev/null", ["--runs-dir", "/dev/null"])
    add("app --runs-dir a FIFO", ["--runs-dir", str(w / "fifo")])
    add("app --runs-dir 300-char name", ["--runs-dir", str(w / long_name)])
    add("app --env unknown", ["--env", "Nope-v0"])
    add("app --env empty", ["--env", ""])
    add("app --checkpoints missing", ["--checkpoints", str(w / "nope")])
    add("app --checkpoints a FIFO", ["--checkpoints", str(w / "fifo")])
    add("app --checkpoints /dev/null", ["--checkpoints", "/dev/null"])

    # train: environments
    add("train unknown env", ["train", "Nope-v0"])
    add("train env empty", ["train", ""])
    add("train env 300 chars", ["train", long_name])
    add("train continuous actions", ["train", "Pendulum-v1"])
    add("train needs a download", ["train", "MNISTBandit-bsuite"])
    add("train non-Box observations", ["train", "FrozenLake-misc"])
    # train: numbers
    add("train --steps 0", ["train", "CartPole-v1", "--steps", "0"])
    add("train --steps -1", ["train", "CartPole-v1", "--steps", "-1"])
    add("train --steps 10**11", ["train", "CartPole-v1", "--steps", str(10**11)])
    add("train --steps 2**31", ["train", "CartPole-v1", "--steps", str(2**31)])
    add("train --seeds 0", ["train", "CartPole-v1", "--seeds", "0"])
    add("train --seeds -3", ["train", "CartPole-v1", "--seeds", "-3"])
    add("train --seeds 100000", ["train", "CartPole-v1", "--seeds", "100000"])
    add("train --seed -1", ["train", "CartPole-v1", "--seed", "-1"])
    add("train --seed 2**31", ["train", "CartPole-v1", "--seed", str(2**31)])
    add("train --seed 2**63", ["train", "CartPole-v1", "--seed", str(2**63)])
    add("train --seed 10**30", ["train", "CartPole-v1", "--seed", str(10**30)])
    # train: --set
    for pair in [
        "foo=1",
        "learning_rate",
        "=1",
        "learning_rate=",
        "learning_rate=abc",
        "learning_rate=nan",
        "learning_rate=inf",
        "learning_rate=-1",
        "learning_rate=0",
        "learning_rate=2",
        "width_size=0",
        "width_size=4097",
        "width_size=1.5",
        "width_size=1e400",
        "width_size=nan",
        "depth=-1",
        "depth=17",
        "batch_size=0",
        "num_envs=0",
        "num_envs=100000",
        "gamma=1.5",
        "gamma=-0.1",
        "tau=0",
        "epsilon=2",
        "loss=foo",
        "lr_schedule=bogus",
        "double_dqn=maybe",
        "n_step=0",
        "eval_episodes=-1",
        "checkpoint_interval=-5",
        "seed=-1",
        "num_seeds=0",
        "total_timesteps=0",
        "total_timesteps=2147483648",
        "max_grad_norm=-1",
        "exploration_fraction=2",
        "LEARNING_RATE=1e-3",
        "width_size=0x40",
        "gradient_steps=0",
    ]:
        add(f"train --set {pair}", ["train", "CartPole-v1", "--set", pair])
    add("train a buffer that cannot fit in memory", ["train", "Pong-misc", "--set", "buffer_size=100000000"])
    add(
        "train batch_size > buffer_size", ["train", "CartPole-v1", "--set", "batch_size=100", "--set", "buffer_size=10"]
    )
    add(
        "train epsilon_end > epsilon_start",
        ["train", "CartPole-v1", "--set", "epsilon_end=0.9", "--set", "epsilon_start=0.1"],
    )
    add("train learning_starts >= total_timesteps?", ["train", "CartPole-v1", "--set", "num_envs=0", "--steps", "10"])
    # train: --runs-dir
    add("train --runs-dir a file", ["train", "CartPole-v1", "--runs-dir", str(w / "a-file")])
    add("train --runs-dir under a file", ["train", "CartPole-v1", "--runs-dir", str(w / "a-file" / "runs")])
    add("train --runs-dir /dev/null", ["train", "CartPole-v1", "--runs-dir", "/dev/null"])
    add("train --runs-dir /sys", ["train", "CartPole-v1", "--runs-dir", "/sys/kernel/lerax-runs"])
    add("train --runs-dir /proc (read-only)", ["train", "CartPole-v1", "--runs-dir", "/proc/lerax-runs"])
    add("train --runs-dir a FIFO", ["train", "CartPole-v1", "--runs-dir", str(w / "fifo")])
    add("train --runs-dir 300-char name", ["train", "CartPole-v1", "--runs-dir", str(w / long_name)])
    add("train --runs-dir empty", ["train", "CartPole-v1", "--runs-dir", ""])
    add("app-level --runs-dir a file with train", ["--runs-dir", str(w / "a-file"), "train", "CartPole-v1"])
    # train: --resume (the run folder's own files are crafted in the file section)
    add("train --resume missing", ["train", "CartPole-v1", "--resume", str(w / "nope")])
    add("train --resume a file", ["train", "CartPole-v1", "--resume", str(w / "a-file")])
    add("train --resume /dev/null", ["train", "CartPole-v1", "--resume", "/dev/null"])
    add("train --resume a FIFO", ["train", "CartPole-v1", "--resume", str(w / "fifo")])
    add("train --resume empty folder", ["train", "CartPole-v1", "--resume", str(w / "folder")])
    add("train --resume other env", ["train", "Acrobot-v1", "--resume", run])
    add("train --resume unknown env", ["train", "Nope-v0", "--resume", run])
    add("train --resume with --set", ["train", "CartPole-v1", "--resume", run, "--set", "learning_rate=1e-3"])
    add("train --resume with --seed", ["train", "CartPole-v1", "--resume", run, "--seed", "3"])
    add("train --resume with --seeds", ["train", "CartPole-v1", "--resume", run, "--seeds", "2"])
    add("train --resume --steps -5", ["train", "CartPole-v1", "--resume", run, "--steps", "-5"])
    add("train --resume --steps 10**30", ["train", "CartPole-v1", "--resume", run, "--steps", str(10**30)])
    add("train --resume a complete run", ["train", "CartPole-v1", "--resume", str(ws["run_complete"])])
    # eval
    add("eval missing file", ["eval", str(w / "nope.eqx")])
    add("eval missing, no suffix", ["eval", str(w / "nope")])
    add("eval a folder", ["eval", str(w / "folder")])
    add("eval a folder named .eqx", ["eval", str(w / "folder.eqx")])
    add("eval a FIFO", ["eval", str(w / "fifo.eqx")])
    add("eval /dev/null", ["eval", "/dev/null"])
    add("eval /dev/zero", ["eval", "/dev/zero"])
    add("eval a link to /dev/zero", ["eval", str(w / "zero.eqx")])
    add("eval a symlink loop", ["eval", str(w / "loop.eqx")])
    add("eval /proc/self/environ (a regular file)", ["eval", "/proc/self/environ"], 1)
    add("eval /proc/kcore", ["eval", "/proc/kcore"], 2 if not os.access("/proc/kcore", os.R_OK) else 1)
    add("eval an empty file", ["eval", str(w / "empty.eqx")], 1)
    add("eval a text file", ["eval", str(w / "text.txt")], 1)
    add("eval a run folder", ["eval", run])
    add("eval 300-char name", ["eval", str(w / long_name)])
    add("eval --episodes 0", ["eval", ok, "--episodes", "0"])
    add("eval --episodes -1", ["eval", ok, "--episodes", "-1"])
    add("eval --episodes 10**9", ["eval", ok, "--episodes", str(10**9)])
    add("eval --episodes 10**30", ["eval", ok, "--episodes", str(10**30)])
    add("eval --seed -1", ["eval", ok, "--seed", "-1"])
    add("eval --seed 2**32", ["eval", ok, "--seed", str(2**32)])
    add("eval --seed 2**63", ["eval", ok, "--seed", str(2**63)])
    add("eval --seed 10**30", ["eval", ok, "--seed", str(10**30)])
    # inspect
    add("inspect missing file", ["inspect", str(w / "nope.eqx")])
    add("inspect a folder", ["inspect", str(w / "folder")])
    add("inspect a FIFO", ["inspect", str(w / "fifo.eqx")])
    add("inspect /dev/null", ["inspect", "/dev/null"])
    add("inspect /dev/zero", ["inspect", "/dev/zero"])
    add("inspect a symlink loop", ["inspect", str(w / "loop.eqx")])
    add("inspect an empty file", ["inspect", str(w / "empty.eqx")], 1)
    add("inspect a text file", ["inspect", str(w / "text.txt")], 1)
    add("inspect --env unknown", ["inspect", ok, "--env", "Nope-v0"])
    add("inspect --env continuous", ["inspect", ok, "--env", "Pendulum-v1"])
    add("inspect --env needs a download", ["inspect", ok, "--env", "MNISTBandit-bsuite"])
    for pair in [
        "depth=-1",
        "depth=17",
        "width_size=0",
        "width_size=100000",
        "width_size=1e400",
        "epsilon=2",
        "epsilon=nan",
        "foo=1",
        "depth",
        "=2",
    ]:
        add(f"inspect --set {pair}", ["inspect", ok, "--set", pair])
    # export (issue 12's command): the same rules for its source, and its output must be writable
    add("export without --format", ["export", ok, "-o", str(w / "out")])
    add("export --format bogus", ["export", ok, "--format", "bogus", "-o", str(w / "out")])
    add("export a missing source", ["export", str(w / "nope.eqx"), "--format", "lerax", "-o", str(w / "out")])
    add("export a FIFO", ["export", str(w / "fifo.eqx"), "--format", "lerax", "-o", str(w / "out")])
    add("export --set depth=-1", ["export", ok, "--format", "lerax", "-o", str(w / "out"), "--set", "depth=-1"])
    add("export -o under a file", ["export", ok, "--format", "lerax", "-o", str(w / "a-file" / "out")])
    add("export -o the source itself", ["export", ok, "--format", "lerax-tui", "-o", ok])
    add("export an empty source path", ["export", "", "--format", "lerax", "-o", str(w / "out")])
    add("export -o empty", ["export", ok, "--format", "lerax", "-o", ""])
    add("export -o a folder", ["export", ok, "--format", "lerax", "-o", str(w / "folder")])
    add("export -o an existing file", ["export", ok, "--format", "lerax", "-o", str(w / "empty.eqx")])
    add("export -o /sys (cannot be written)", ["export", ok, "--format", "lerax", "-o", "/sys/kernel/lerax-out"])
    add("export -o 300-char name", ["export", ok, "--format", "lerax", "-o", str(w / long_name)])
    add("export --env unknown", ["export", ok, "--format", "lerax", "--env", "Nope-v0", "-o", str(w / "out")])
    add("export a folder", ["export", str(w / "folder"), "--format", "lerax", "-o", str(w / "out")])
    add("export an empty file", ["export", str(w / "empty.eqx"), "--format", "lerax", "-o", str(w / "out")], 1)
    add("inspect --env other (mismatch)", ["inspect", ok, "--env", "Acrobot-v1"], 1)
    add("inspect --set width_size=32 (mismatch)", ["inspect", ok, "--set", "width_size=32"], 1)

    # sweep: refused before a folder or a program exists
    runs_to = ["--runs-dir", str(w / "sweep-runs")]
    add("sweep unknown grid key", ["sweep", "CartPole-v1", "--grid", "lr=1e-3,1e-2", *runs_to])
    add("sweep grid value out of range", ["sweep", "CartPole-v1", "--grid", "gamma=0.9,1.5", *runs_to])
    add("sweep grid empty list", ["sweep", "CartPole-v1", "--grid", "gamma=", *runs_to])
    many = [
        "--grid",
        "n_step=" + ",".join(map(str, range(1, 32))),
        "--grid",
        "gamma=" + ",".join(f"0.{i:03d}" for i in range(1, 999)),
    ]
    add("sweep 30,938 configurations", ["sweep", "CartPole-v1", *many, *runs_to])
    add("sweep --sample without --samples", ["sweep", "CartPole-v1", "--sample", "gamma=0.9:0.99", *runs_to])
    add("sweep --seeds 0", ["sweep", "CartPole-v1", "--grid", "gamma=0.9", "--seeds", "0", *runs_to])
    sweep_files = {
        "an object": '{"gamma": 0.9}',
        "an empty list": "[]",
        "a number entry": "[1]",
        "a null value": '[{"gamma": null}]',
        "an unknown key": '[{"lr": 1e-3}]',
        "a repeated configuration": '[{"gamma": 0.9}, {"gamma": "0.9"}]',
        "truncated JSON": "[{",
        "200-deep JSON": "[" * 200 + "]" * 200,
    }
    for i, (what, text) in enumerate(sweep_files.items()):
        (w / f"configs-{i}.json").write_text(text)
        add(f"sweep --configs {what}", ["sweep", "CartPole-v1", "--configs", str(w / f"configs-{i}.json"), *runs_to])
    add("sweep --configs a FIFO", ["sweep", "CartPole-v1", "--configs", str(w / "fifo"), *runs_to])
    add("sweep --configs /dev/zero", ["sweep", "CartPole-v1", "--configs", "/dev/zero", *runs_to])
    add("sweep --configs a folder", ["sweep", "CartPole-v1", "--configs", str(w / "folder"), *runs_to])
    sparse(w / "configs-huge.json", 5 * GB, b"[")
    add("sweep --configs 5 GB (sparse)", ["sweep", "CartPole-v1", "--configs", str(w / "configs-huge.json"), *runs_to])
    add("sweep --resume a file", ["sweep", "CartPole-v1", "--resume", str(w / "a-file")])
    return cases


# --- crafted files -----------------------------------------------------------------------------


@dataclass
class Ctx:
    """Where a crafted file goes: every crafted checkpoint in one folder, every crafted run folder
    in one runs folder, so the app is probed once on all of them (its run list and its browser)."""

    ckpts: Path
    runs: Path
    tag: str
    ws: dict


@dataclass
class Crafted:
    name: str
    build: Callable[[Ctx], dict]
    """Writes the file(s); returns {probe: (argv, expected exit status)} for the CLI probes."""


def _manifest(ws: dict) -> dict:
    return json.loads(Path(ws["ok"]).with_suffix(".json").read_text())


def _checkpoint(ctx: Ctx, *, data: bytes | None = None, manifest: dict | str | bytes | None = "keep") -> Path:
    """A copy of the valid checkpoint with its bytes and/or manifest replaced (None: no manifest)."""
    path = ctx.ckpts / f"{ctx.tag}.eqx"
    path.write_bytes(Path(ctx.ws["ok"]).read_bytes() if data is None else data)
    mpath = path.with_suffix(".json")
    if manifest == "keep":
        mpath.write_text(Path(ctx.ws["ok"]).with_suffix(".json").read_text())
    elif isinstance(manifest, dict):
        mpath.write_text(json.dumps(manifest))
    elif isinstance(manifest, str):
        mpath.write_text(manifest)
    elif isinstance(manifest, bytes):
        mpath.write_bytes(manifest)
    return path


def _checkpoint_probes(path: Path, code: int = 1, *, eval: bool = True) -> dict:
    probes = {"inspect": (["inspect", str(path)], code)}
    if eval:  # where eval's own path (the load) adds something to inspect's
        probes["eval"] = (["eval", str(path)], code)
    return probes


def _with(ws: dict, **changes) -> dict:
    m = _manifest(ws)
    for key, value in changes.items():
        target = m
        *parents, last = key.split(".")
        for p in parents:
            target = target[p]
        target[last] = value
    return m


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def _run_copy(ctx: Ctx) -> Path:
    run = ctx.runs / f"CartPole-v1-20260101-000000-{ctx.tag}"
    shutil.copytree(ctx.ws["run"], run)
    return run


def crafted_cases() -> list[Crafted]:
    out: list[Crafted] = []

    def ckpt(name: str, eval: bool = False, **kw):
        def build(ctx: Ctx) -> dict:
            kwargs = {k: (v(ctx.ws) if callable(v) else v) for k, v in kw.items()}
            return _checkpoint_probes(_checkpoint(ctx, **kwargs), eval=eval)

        out.append(Crafted(name, build))

    # manifests
    ckpt("manifest: 100,000-deep JSON", manifest=_deep(100_000))

    ckpt("manifest: env_id a list", manifest=lambda ws: _with(ws, env_id=["CartPole-v1"]))
    ckpt("manifest: env_id an int", manifest=lambda ws: _with(ws, env_id=7))
    ckpt("manifest: env_id unknown", manifest=lambda ws: _with(ws, env_id="Nope-v0"))
    ckpt("manifest: env_params a string", eval=True, manifest=lambda ws: _with(ws, env_params="gravity=9.8"))
    ckpt(
        "manifest: max_steps_in_episode 2e9",
        eval=True,
        manifest=lambda ws: _with(ws, **{"env_params.max_steps_in_episode": 2_000_000_000}),
    )
    ckpt(
        "manifest: max_steps_in_episode a float 2e9",
        eval=True,
        manifest=lambda ws: _with(ws, **{"env_params.max_steps_in_episode": 2e9}),
    )
    ckpt("manifest: gravity a string", eval=True, manifest=lambda ws: _with(ws, **{"env_params.gravity": "strong"}))
    ckpt("manifest: gravity a nested list", eval=True, manifest=lambda ws: _with(ws, **{"env_params.gravity": [[9.8]]}))
    ckpt("manifest: env param unknown", eval=True, manifest=lambda ws: _with(ws, **{"env_params.warp": 9}))
    ckpt(
        "manifest: width_size a string",
        eval=True,
        manifest=lambda ws: _with(ws, **{"hyperparameters.width_size": "16"}),
    )
    ckpt("manifest: depth -1", manifest=lambda ws: _with(ws, **{"hyperparameters.depth": -1}))
    ckpt("manifest: width_size 10**9", manifest=lambda ws: _with(ws, **{"hyperparameters.width_size": 10**9}))
    ckpt("manifest: hyperparameters a list", manifest=lambda ws: _with(ws, hyperparameters=[16, 1]))
    ckpt("manifest: payload_bytes 10**12", eval=True, manifest=lambda ws: _with(ws, payload_bytes=10**12))
    ckpt("manifest: payload_bytes a string", manifest=lambda ws: _with(ws, payload_bytes="19664"))
    ckpt(
        "manifest: step a string, return NaN",
        manifest=lambda ws: json.dumps(_with(ws, step="many", recent_return=float("nan"))),
    )
    ckpt("manifest: a JSON list", manifest="[1, 2, 3]")
    ckpt("manifest: invalid UTF-8", manifest=b"\xff\xfe{\x00")

    def manifest_special(name: str, make: Callable[[Path, dict], None]):
        def build(ctx: Ctx) -> dict:
            path = _checkpoint(ctx, manifest=None)
            make(path.with_suffix(".json"), ctx.ws)
            return _checkpoint_probes(path)

        out.append(Crafted(name, build))

    manifest_special("manifest: a FIFO", lambda p, ws: os.mkfifo(p))
    manifest_special("manifest: a folder", lambda p, ws: p.mkdir())
    manifest_special("manifest: a link to /dev/zero", lambda p, ws: p.symlink_to("/dev/zero"))
    manifest_special("manifest: 200 MB of valid JSON", lambda p, ws: _padded_json(p, _manifest(ws), 200 * MB))

    def payload(name: str, make: Callable[[Path, dict], None], code: int = 1):
        def build(ctx: Ctx) -> dict:
            path = ctx.ckpts / f"{ctx.tag}.eqx"
            make(path, ctx.ws)
            return _checkpoint_probes(path, code)

        out.append(Crafted(name, build))

    payload("payload: 1 GB sparse file, no manifest", lambda p, ws: sparse(p, GB))
    payload(
        "payload: 1 GB sparse, a valid start, no manifest",
        lambda p, ws: sparse(p, GB, Path(ws["ok"]).read_bytes()[:200]),
    )
    payload("payload: valid file + 1 GB sparse tail, manifest claims it", _sparse_tail)
    payload(
        "payload: .npy header declaring 10**12 floats",
        lambda p, ws: p.write_bytes(b"\x11" * 32 + _npy_header((10**12,)) + b"\0" * 64),
    )
    payload(
        "payload: .npy v2 header of 4 GB",
        lambda p, ws: p.write_bytes(
            b"\x11" * 32 + b"\x93NUMPY\x02\x00" + (4 * GB - 1).to_bytes(4, "little") + b"{" * 100
        ),
    )
    payload(
        "payload: object-dtype record", lambda p, ws: p.write_bytes(b"\x11" * 32 + _npy_header((1,), "|O") + b"\0" * 8)
    )
    payload("payload: lerax layout, width 10**6, 28 MB sparse", _wide_lerax)
    payload("payload: a FIFO", lambda p, ws: os.mkfifo(p), code=2)

    # run folders: config.json and resume files, read by --resume and by the app's run list
    def run_file(name: str, make: Callable[[Path, dict], None], resume_code: int = 2):
        def build(ctx: Ctx) -> dict:
            run = _run_copy(ctx)
            make(run, ctx.ws)
            return {"resume": (["train", "CartPole-v1", "--resume", str(run)], resume_code)}

        out.append(Crafted(name, build))

    def config_text(text: str | bytes):
        return lambda run, ws: (run / "config.json").write_bytes(text if isinstance(text, bytes) else text.encode())

    def config_edit(**changes):
        def make(run: Path, ws: dict) -> None:
            c = json.loads((run / "config.json").read_text())
            for key, value in changes.items():
                target = c
                *parents, last = key.split(".")
                for p in parents:
                    target = target[p]
                target[last] = value
            (run / "config.json").write_text(json.dumps(c))

        return make

    def replace_with(kind: str, name: str = "config.json"):
        def make(run: Path, ws: dict) -> None:
            (run / name).unlink(missing_ok=True)
            if kind == "fifo":
                os.mkfifo(run / name)
            else:
                (run / name).mkdir()

        return make

    run_file("config.json: 100,000-deep JSON", config_text(_deep(100_000)))
    run_file(
        "config.json: 200 MB",
        lambda run, ws: _padded_json(run / "config.json", json.loads((run / "config.json").read_text()), 200 * MB),
    )
    run_file("config.json: a list", config_text("[]"))
    run_file('config.json: no "config"', config_text('{"env_id": "CartPole-v1"}'))
    run_file("config.json: config a list", config_edit(config=[1, 2]))
    run_file("config.json: env_id a list", config_edit(env_id=["CartPole-v1"]))
    run_file("config.json: env_id an int", config_edit(env_id=3))
    run_file("config.json: width_size a string", config_edit(**{"config.width_size": "wide"}))
    run_file(
        "config.json: env_params_overrides max_steps 2e9",
        config_edit(env_params_overrides={"max_steps_in_episode": 2_000_000_000}),
    )
    run_file("config.json: env_params_overrides a list", config_edit(env_params_overrides=[1]))
    run_file("config.json: invalid UTF-8", config_text(b"\xff\xfe\x00{"))
    run_file("config.json: a FIFO", replace_with("fifo"))
    run_file("config.json: a folder", replace_with("dir"))
    run_file("resume.eqx: 1 GB sparse", lambda run, ws: sparse(run / "checkpoints/resume.eqx", GB), resume_code=1)
    run_file("resume.eqx: valid + 1 GB sparse tail, manifest claims it", _resume_tail, resume_code=1)
    # a run's own files that cannot be used are a damaged resume state (1), as a damaged resume.eqx
    run_file(
        "resume.eqx: a FIFO",
        lambda run, ws: ((run / "checkpoints/resume.eqx").unlink(), os.mkfifo(run / "checkpoints/resume.eqx")),
        resume_code=1,
    )
    run_file(
        "resume.json: 100,000-deep JSON",
        lambda run, ws: (run / "checkpoints/resume.json").write_text(_deep(100_000)),
        resume_code=1,
    )

    def metrics(name: str, make: Callable[[Path], None]):
        def build(ctx: Ctx) -> dict:
            make(_run_copy(ctx) / "metrics.jsonl")
            return {}  # read by the app only

        out.append(Crafted(name, build))

    good = json.dumps({"step": 100, "episode_returns": [[10.0, 12.0]], "episode_steps": [[50, 100]]})
    metrics("metrics.jsonl: one 100 MB line", _long_metrics_line)
    metrics(
        "metrics.jsonl: wrong types",
        lambda p: p.write_text(good + "\n" + '{"step": 4100, "episode_returns": [["a","b"]]}\n'),
    )
    metrics(
        "metrics.jsonl: more wrong types",
        lambda p: p.write_text(
            "\n".join(
                [
                    good,
                    '{"step": "x", "episode_returns": [[1]]}',
                    '{"step": 1e400, "episode_returns": [[1]]}',
                    '{"step": 10000000000000000000000000000000, "episode_returns": [[1]]}',
                    '{"episode_returns": {"a": 1}}',
                    '{"step": 5, "episode_returns": [[1, 2]], "episode_steps": [["a", 3]]}',
                    '{"step": 5, "episode_returns": [1, 2]}',
                    '{"step": 5, "episode_returns": "abc"}',
                    '{"step": 5, "eval_returns": [[NaN, "a"]]}',
                    "[1, 2]",
                    "null",
                    '{"step": 5, "episode_returns": [[1]], "episode_steps": [[1e300]]}',
                    '{"step": true, "episode_returns": [[1]]}',
                ]
            )
            + "\n"
        ),
    )
    metrics("metrics.jsonl: 100,000-deep line", lambda p: p.write_text(good + "\n" + _deep(100_000) + "\n"))
    metrics("metrics.jsonl: a FIFO", lambda p: (p.unlink(missing_ok=True), os.mkfifo(p)))
    metrics("metrics.jsonl: a folder", lambda p: (p.unlink(missing_ok=True), p.mkdir()))
    return out


def _padded_json(path: Path, obj: dict, size: int) -> None:
    """Valid JSON of ``size`` bytes: ``obj`` with a long "pad" string, written in pieces."""
    head = json.dumps(obj)[:-1] + ', "pad": "'
    with open(path, "w") as f:
        f.write(head)
        for _ in range(size // MB):
            f.write("x" * MB)
        f.write('"}')


def _long_metrics_line(path: Path) -> None:
    """A good line, one valid line of ~100 MB (13 million returns), a good line; written in pieces."""
    good = json.dumps({"step": 100, "episode_returns": [[10.0, 12.0]], "episode_steps": [[50, 100]]})
    with open(path, "w") as f:
        f.write(good + '\n{"step": 200, "episode_returns": [[')
        for _ in range(100):
            f.write("1.0, " * (MB // 5))
        f.write("1.0]]}\n" + good + "\n")


def _sparse_tail(path: Path, ws: dict) -> None:
    data = Path(ws["ok"]).read_bytes()
    sparse(path, len(data) + GB, data)
    m = _manifest(ws)
    m["payload_bytes"] = len(data) + GB - 32
    path.with_suffix(".json").write_text(json.dumps(m))


def _resume_tail(run: Path, ws: dict) -> None:
    path = run / "checkpoints/resume.eqx"
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size + GB)
    m = json.loads(path.with_suffix(".json").read_text())
    m["payload_bytes"] = size + GB - 32
    path.with_suffix(".json").write_text(json.dumps(m))


def _npy_header(shape: tuple, dtype: str = "<f4", version: int = 1) -> bytes:
    text = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode() + b" "
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    text = text + b" " * pad + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    return b"\x93NUMPY\x02\x00" + len(text).to_bytes(4, "little") + text


def _wide_lerax(path: Path, ws: dict) -> None:
    """A lerax-layout file (no manifest) whose headers declare a 10**6-wide MLP over 28 MB (sparse),
    with a fingerprint forged the way lerax computes it, so only the declared width can refuse it."""
    import equinox as eqx
    import jax
    import numpy as np

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.core.fingerprint import lerax_fingerprint

    width = 10**6
    skeleton = eqx.filter_eval_shape(
        MLPQPolicy, make_env("CartPole-v1"), width_size=width, depth=1, key=jax.random.key(0)
    )
    records = (
        ((4,), "<f4"),
        ((4,), "<f4"),
        ((), "<f8"),
        ((width, 4), "<f4"),
        ((width,), "<f4"),
        ((2, width), "<f4"),
        ((2,), "<f4"),
    )
    with open(path, "wb") as f:
        f.write(lerax_fingerprint(skeleton))
        for shape, dtype in records:
            f.write(_npy_header(shape, dtype))
            f.seek(int(np.prod(shape)) * np.dtype(dtype).itemsize, os.SEEK_CUR)
        f.truncate(f.tell())


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("cli", "files"), default=None)
    ap.add_argument("-k", default="", help="only cases whose name contains this text")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds before a subprocess counts as a hang")
    ap.add_argument("--verbose", action="store_true", help="one line per subprocess: exit status, seconds, peak RSS")
    ap.add_argument("--keep", action="store_true", help="keep the workspace (printed)")
    args = ap.parse_args()

    global CWD
    print(f"uptime: {os.popen('uptime').read().strip()}")
    w = Path(tempfile.mkdtemp(prefix="lerax-hostile-"))
    CWD = w
    t_start = time.perf_counter()
    ws = build_workspace(w)
    outcomes: list[Outcome] = []

    def report(o: Outcome) -> None:
        flags = [
            f
            for f, bad in (
                ("HANG", o.hang),
                ("TRACEBACK", o.traceback),
                (f"rc {o.rc} != {o.expected}", o.wrong_code),
                ("stderr not one line", o.not_one_line),
            )
            if bad
        ]
        last = (o.stderr.strip().splitlines() or [""])[-1][:160]
        if flags:
            print(f"  !! {o.name}: {', '.join(flags)} ({o.seconds:.1f}s) {last}")
        elif args.verbose:
            print(f"  ok {o.name}: rc {o.rc} {o.seconds:.1f}s {o.peak_rss_mb:.0f} MB  {last}")

    def probe(argv: list[str], code: int, name: str, module: bool = True) -> Outcome:
        o = run(argv, expected=code, name=name, timeout=args.timeout, module=module)
        outcomes.append(o)
        report(o)
        return o

    n_cli = n_files = 0
    if args.only in (None, "cli"):
        cases = [c for c in cli_cases(w, ws) if args.k in c[0]]
        n_cli = len(cases)
        print(f"command lines: {n_cli}")
        t0 = time.perf_counter()
        for name, argv, code in cases:
            probe(argv, code, name)
        print(f"  ({time.perf_counter() - t0:.0f} s)")

    if args.only in (None, "files"):
        valid = {"ckpts": w / "valid" / "ckpts", "runs": w / "valid" / "runs"}
        valid["ckpts"].mkdir(parents=True)
        shutil.copytree(ws["run"], valid["runs"] / Path(ws["run"]).name)
        for p in (Path(ws["ok"]), Path(ws["ok"]).with_suffix(".json")):
            shutil.copy(p, valid["ckpts"])
        baseline = {
            "inspect": probe(["inspect", str(ws["ok"])], 0, "valid file [inspect]"),
            "eval": probe(["eval", str(ws["ok"]), "--episodes", "1"], 0, "valid file [eval]"),
            "resume": probe(
                ["train", "CartPole-v1", "--resume", str(ws["run_complete"])], 2, "valid complete run [resume]"
            ),
            "app": probe(
                ["-c", APP_PROBE, str(valid["runs"]), str(valid["ckpts"])], 0, "valid files [app]", module=False
            ),
        }
        print("valid files, peak RSS: " + ", ".join(f"{k} {o.peak_rss_mb:.0f} MB" for k, o in baseline.items()))
        crafted = [c for c in crafted_cases() if args.k in c.name]
        n_files = len(crafted)
        print(f"crafted files: {n_files}")
        ckpts, runs = w / "crafted" / "ckpts", w / "crafted" / "runs"
        ckpts.mkdir(parents=True)
        runs.mkdir(parents=True)
        t0 = time.perf_counter()
        rows: list[tuple[str, list[Outcome]]] = []
        for i, case in enumerate(crafted):
            probes = case.build(Ctx(ckpts, runs, f"{i:06x}", ws))
            rows.append(
                (case.name, [probe(argv, code, f"{case.name} [{kind}]") for kind, (argv, code) in probes.items()])
            )
        app = probe(
            ["-c", APP_PROBE, str(runs), str(ckpts)], 0, f"all {n_files} crafted files at once [app]", module=False
        )
        if app.rc == 0 and "app-probe-ok" not in app.stdout:
            app.rc = 99
        print(f"  ({time.perf_counter() - t0:.0f} s)")
        print("\npeak RSS per crafted file, MB (excess over the valid file's):")
        worst = {k: 0.0 for k in baseline}
        for name, results in rows:
            cells = []
            for o in results:
                kind = o.name.rsplit("[", 1)[1][:-1]
                extra = o.peak_rss_mb - baseline[kind].peak_rss_mb
                worst[kind] = max(worst[kind], extra)
                cells.append(f"{kind} {o.peak_rss_mb:.0f} ({extra:+.0f})")
            print(f"  {name:58s} " + "  ".join(cells) if cells else f"  {name:58s} (app only)")
        worst["app"] = app.peak_rss_mb - baseline["app"].peak_rss_mb
        print(f"  {'the app, every crafted file at once':58s} app {app.peak_rss_mb:.0f} ({worst['app']:+.0f})")
        print("largest excess over the valid file: " + ", ".join(f"{k} {v:+.0f} MB" for k, v in worst.items()))

    print()
    print(
        f"tried: {n_cli} command lines, {n_files} crafted files ({len(outcomes)} subprocesses), {time.perf_counter() - t_start:.0f} s"
    )
    for label, pred in (
        ("tracebacks", "traceback"),
        ("hangs", "hang"),
        ("wrong exit codes", "wrong_code"),
        ("stderr not one line", "not_one_line"),
    ):
        print(f"  {label:22s} {sum(1 for o in outcomes if getattr(o, pred))}")
    print(f"uptime: {os.popen('uptime').read().strip()}")
    if args.keep:
        print(f"workspace kept: {w}")
    else:
        _rmtree(w)
    bad = sum(1 for o in outcomes if o.hang or o.traceback or o.wrong_code or o.not_one_line)
    return 1 if bad else 0


def _rmtree(path: Path) -> None:
    def onerror(func, p, exc):
        try:
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=onerror)


if __name__ == "__main__":
    sys.exit(main())
