"""Every way a run can end leaves it resumable: kill -9 at random moments, each signal, a full disk.

Real `lerax-tui train` processes on a tiny CartPole config that checkpoints every 500 steps (a
~1 MB resume state, so many kills land in the middle of a write):

- ``--kills`` runs, each killed with SIGKILL at a uniformly random moment (seeded) between
  ``--window`` seconds after start: during start-up, compilation, training or a checkpoint write;
- one run per signal (SIGINT, SIGTERM, SIGHUP) with the default checkpoint_interval 0, and one
  stopped by ctrl-c twice;
- one run on a full disk: a small tmpfs mounted in a private mount namespace (``unshare``), or, where
  that is not permitted, a simulated ENOSPC in the checkpoint writer (the report says which).

Then the "next start" of each run (``train --resume``, or a new run in the same runs folder when the
kill came before the run folder existed), and it prints the figures that must all be 0: partial
files, mismatched checkpoint pairs, unresumable runs, temporary files left after the next start,
metric steps recorded twice. Exit status 1 when one is not 0.

    flock /work/cpu.lock python bench/stops.py [--kills 20] [--seed 0] [--window 0.5:9] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = dict(
    width_size=8,
    depth=1,
    num_envs=2,
    batch_size=8,
    learning_starts=32,
    train_frequency=2,
    target_update_interval=32,
    eval_episodes=2,
)
KILL_SET = {**TINY, "buffer_size": 20_000, "checkpoint_interval": 500, "eval_interval": 2000}
SIGNAL_SET = {**TINY, "buffer_size": 128, "eval_interval": 0}
# A 1.27 MB resume state on a 2.5 MiB disk: the second checkpoint (or a metrics line soon after) fills it.
DISK_SET = {**TINY, "buffer_size": 30_000, "checkpoint_interval": 1000, "eval_interval": 0}
TMPFS_BYTES = 5 << 19
# Keep SIGINT deliverable even when this bench was started where SIGINT is ignored (a background job).
CHILD = "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); from lerax_tui.cli import main; sys.exit(main(sys.argv[1:]))"


def _sets(values: dict) -> list[str]:
    return [a for k, v in values.items() for a in ("--set", f"{k}={v}")]


def _train(runs_dir: Path, values: dict, steps: int = 10_000_000) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            "train",
            "CartPole-v1",
            "--steps",
            str(steps),
            "--runs-dir",
            str(runs_dir),
            *_sets(values),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


# --- inspecting a runs folder ----------------------------------------------------------------------


def inspect_runs(runs_dir: Path) -> dict:
    """What a stop left: run folders, partial files, pairs, temporaries, metrics."""
    from lerax_tui.core.atomic import is_temp_name
    from lerax_tui.core.pairs import verified_entry
    from lerax_tui.train import runs

    out = {
        "runs": [],
        "partial": [],
        "mismatched": [],
        "previous_entry": 0,
        "temps": [],
        "torn_metrics": 0,
        "duplicate_steps": 0,
    }
    for path in sorted(runs_dir.rglob("*")) if runs_dir.exists() else []:
        if is_temp_name(path.name):
            out["temps"].append(str(path.relative_to(runs_dir)))
    for run in (
        sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) if runs_dir.exists() else []
    ):
        out["runs"].append(run)
        try:
            json.loads((run / runs.CONFIG_FILE).read_text())
        except (OSError, ValueError):
            out["partial"].append(f"{run.name}/config.json")
        ckpt = run / runs.CHECKPOINTS
        for manifest in sorted(ckpt.glob("*.json")):
            try:
                json.loads(manifest.read_text())
            except ValueError:
                out["partial"].append(f"{run.name}/{manifest.name}")
        for eqx in sorted(ckpt.glob("*.eqx")):
            try:
                _, note = verified_entry(eqx)
                out["previous_entry"] += note is not None
            except ValueError as e:
                out["mismatched"].append(f"{run.name}/{eqx.name}: {e}")
        metrics = run / runs.METRICS_FILE
        if metrics.exists():
            text = metrics.read_bytes()
            out["torn_metrics"] += bool(text) and not text.endswith(b"\n")
            steps = [r["step"] for r in runs.read_metrics(run)]
            out["duplicate_steps"] += len(steps) - len(set(steps))
    return out


def next_start(runs_dirs: list[Path]) -> dict[str, list[dict]]:
    """The next start of every run in each of ``runs_dirs`` (``--resume`` 500 steps further), or
    a new short run in the folder when it holds none. One process for all (JAX imported once)."""
    out = subprocess.run(
        [sys.executable, __file__, "--_next-start", *map(str, runs_dirs)], capture_output=True, text=True, cwd=REPO
    )
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {str(d): [{"run": str(d), "code": out.returncode, "err": out.stderr[-500:]}] for d in runs_dirs}


def _next_start_child(runs_dirs: list[Path]) -> None:
    results = {str(d): _next_start_one(d) for d in runs_dirs}
    print(json.dumps(results))


def _next_start_one(runs_dir: Path) -> list[dict]:
    import contextlib
    import io

    from lerax_tui.cli import main
    from lerax_tui.train.lifecycle import ResumeStateError, resume_point

    results = []
    found = (
        sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) if runs_dir.exists() else []
    )
    for run in found or [None]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            if run is None:
                argv = ["train", "CartPole-v1", "--steps", "64", "--runs-dir", str(runs_dir), *_sets(SIGNAL_SET)]
            else:
                try:
                    at = resume_point(run).step
                except ResumeStateError:
                    at = 0
                argv = ["train", "CartPole-v1", "--resume", str(run), "--steps", str(at + 500)]
            code = main(argv)
        results.append({"run": str(run) if run else None, "code": code, "err": err.getvalue()[-500:]})
    return results


# --- the trials --------------------------------------------------------------------------------------


def calibrate(root: Path) -> tuple[float, float]:
    """Seconds from start to "compiling" and to the first checkpoint, on this machine now."""
    t0 = time.monotonic()
    child = _train(root / "runs", KILL_SET)
    compiling = None
    for line in child.stderr:
        if line.startswith("compiling") and compiling is None:
            compiling = time.monotonic() - t0
        if line.startswith("checkpoint "):
            break
    first = time.monotonic() - t0
    child.kill()
    child.communicate()
    shutil.rmtree(root, ignore_errors=True)
    return compiling or first, first


def kill_trial(root: Path, delay: float) -> dict:
    runs_dir = root / "runs"
    child = _train(runs_dir, KILL_SET)
    time.sleep(delay)
    child.kill()
    child.communicate()
    before = inspect_runs(runs_dir)
    phase = (
        "before the run folder"
        if not before["runs"]
        else (
            "before its first checkpoint" if not list((before["runs"][0] / "checkpoints").glob("*.eqx")) else "training"
        )
    )
    return {
        "delay": delay,
        "phase": phase,
        "before": before,
        "runs_dir": runs_dir,
        "mid_write": bool(before["temps"]) or before["previous_entry"] > 0,
    }


def signal_trial(root: Path, signame: str, twice: bool = False) -> dict:
    runs_dir = root / "runs"
    child = _train(runs_dir, SIGNAL_SET)
    for line in child.stderr:
        if line.startswith("step "):
            break
    signum = getattr(signal, signame)
    t0 = time.monotonic()
    child.send_signal(signum)
    if twice:
        time.sleep(0.05)
        child.send_signal(signum)
    _, err = child.communicate(timeout=300)
    stop_s = time.monotonic() - t0
    state = inspect_runs(runs_dir)
    steps = {}
    for run in state["runs"]:
        from lerax_tui.core.pairs import verified_entry

        for name in ("final", "resume"):
            try:
                steps[name] = verified_entry(run / "checkpoints" / f"{name}.eqx")[0]["step"]
            except (ValueError, OSError):
                steps[name] = None
    ok = child.returncode == 128 + signum and "Traceback" not in err
    if not twice:
        ok = ok and steps.get("final") is not None and steps.get("final") == steps.get("resume")
    return {
        "signal": signame + (" twice" if twice else ""),
        "code": child.returncode,
        "stop_s": stop_s,
        "steps": steps,
        "ok": ok,
        "last_line": err.strip().splitlines()[-1][:160] if err.strip() else "",
        "before": state,
        "runs_dir": runs_dir,
    }


def disk_trial(root: Path) -> dict:
    """A full tmpfs in a private mount namespace; ENOSPC simulated when unshare is not permitted."""
    mount = root / "tmpfs"
    mount.mkdir()
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {mount} && echo ok"],
        capture_output=True,
        text=True,
    )
    mode = "tmpfs" if probe.stdout.strip() == "ok" else "simulated ENOSPC"
    cmd = [sys.executable, __file__, "--_disk-child", str(mount), mode]
    if mode == "tmpfs":
        cmd = ["unshare", "-Urm", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"ok": False, "error": out.stderr[-800:]}
    result["mode"] = mode if mode != "tmpfs" else f"tmpfs of {TMPFS_BYTES >> 10} KiB"
    return result


def _disk_child(mount: Path, mode: str) -> None:
    """Inside the mount namespace: fill the disk with a run, free space, resume."""
    if mode == "tmpfs":
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount)], check=True)
    runs_dir = mount / "runs"
    if mode == "tmpfs":
        full = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                "train",
                "CartPole-v1",
                "--steps",
                "10000000",
                "--runs-dir",
                str(runs_dir),
                *_sets(DISK_SET),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    else:
        inject = (
            "import errno, sys; from lerax_tui.core import pairs; real = pairs.atomic_write_bytes; n = []\n"
            "def full(path, data):\n    n.append(path)\n"
            "    if len(n) > 6: raise OSError(errno.ENOSPC, 'No space left on device', str(path))\n"
            "    return real(path, data)\npairs.atomic_write_bytes = full\n" + CHILD
        )
        full = subprocess.run(
            [
                sys.executable,
                "-c",
                inject,
                "train",
                "CartPole-v1",
                "--steps",
                "10000000",
                "--runs-dir",
                str(runs_dir),
                *_sets(DISK_SET),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    err_lines = [l for l in full.stderr.strip().splitlines() if l.startswith("lerax-tui:")]
    state = inspect_runs(runs_dir)
    if mode == "tmpfs":  # free space
        subprocess.run(["mount", "-o", "remount,size=256m", str(mount)], check=True)
    started = next_start([runs_dir])[str(runs_dir)]
    after = inspect_runs(runs_dir)
    print(
        json.dumps(
            {
                "code": full.returncode,
                "line": err_lines[-1][:240] if err_lines else full.stderr[-300:],
                "traceback": "Traceback" in full.stderr,
                "before": _plain(state),
                "next": started,
                "after": _plain(after),
            }
        )
    )


def _plain(state: dict) -> dict:
    return {**state, "runs": [str(r) for r in state["runs"]]}


# --- report --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--window",
        default="auto",
        help="kill between LO and HI seconds after start (default: from 0.3 s "
        "to 3 s after the first checkpoint, measured by one calibration run)",
    )
    ap.add_argument("--only", choices=("kills", "signals", "disk"), default=None, help="run one part")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--_next-start", dest="next_start", nargs="+", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_disk-child", dest="disk_child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.next_start:
        _next_start_child([Path(d) for d in args.next_start])
        return 0
    if args.disk_child:
        _disk_child(Path(args.disk_child[0]), args.disk_child[1])
        return 0

    work = Path(tempfile.mkdtemp(prefix="lerax-stops-"))
    t0 = time.perf_counter()
    if args.window == "auto" and args.only in (None, "kills"):
        compiling, first = calibrate(work / "calibration")
        lo, hi = 0.3, first + 3.0
        print(f"calibration: compiling after {compiling:.1f} s, first checkpoint after {first:.1f} s", flush=True)
    else:
        lo, hi = (float(x) for x in (args.window if args.window != "auto" else "0.3:9").split(":"))
    rng = random.Random(args.seed)
    print(
        f"stops.py: {args.kills} x kill -9 at random moments ({lo:.1f}-{hi:.1f} s after start, seed {args.seed}), "
        f"SIGINT/SIGTERM/SIGHUP, ctrl-c twice, a full disk; work folder {work}",
        flush=True,
    )

    kills, signals, disk = [], [], {}
    if args.only in (None, "kills"):
        for i in range(args.kills):
            trial = kill_trial(work / f"kill-{i:02d}", rng.uniform(lo, hi))
            kills.append(trial)
            print(
                f"  kill {i + 1:2d} at {trial['delay']:4.1f} s: {trial['phase']}{', mid-write' if trial['mid_write'] else ''}",
                flush=True,
            )
    if args.only in (None, "signals"):
        signals = [signal_trial(work / f"sig-{s}", s) for s in ("SIGINT", "SIGTERM", "SIGHUP")]
        signals.append(signal_trial(work / "sig-twice", "SIGINT", twice=True))
        for s in signals:
            print(
                f"  {s['signal']:12s} exit {s['code']} after {s['stop_s']:.1f} s, final/resume steps {s['steps']}: {s['last_line'][:100]}",
                flush=True,
            )
    started = next_start([t["runs_dir"] for t in kills + signals]) if kills or signals else {}
    for t in kills + signals:
        t["next"], t["after"] = started.get(str(t["runs_dir"]), []), inspect_runs(t["runs_dir"])
    if args.only in (None, "disk"):
        disk = disk_trial(work)
        print(
            f"  full disk ({disk['mode']}): exit {disk.get('code')}, {disk.get('line', disk.get('error'))}", flush=True
        )

    trials = kills + signals + ([disk] if "before" in disk else [])
    befores = [t["before"] for t in trials]
    afters = [t["after"] for t in trials]
    nexts = [n for t in trials for n in t["next"]]
    figures = {
        "stops": f"{len(kills)} kill -9, {sum(s['ok'] for s in signals)}/{len(signals)} signal stops with the right exit code and files"
        + (f", full disk ({disk.get('mode')}): exit {disk.get('code')}" if disk else ""),
        "partial files": sum(len(b["partial"]) for b in befores + afters),
        "mismatched pairs": sum(len(b["mismatched"]) for b in befores + afters),
        "unresumable runs": sum(n["code"] != 0 for n in nexts),
        "temp files left after next start": sum(len(a["temps"]) for a in afters),
        "metric steps recorded twice (after next start)": sum(a["duplicate_steps"] for a in afters),
        "signal stops that failed": sum(not s["ok"] for s in signals),
        "full disk: traceback or wrong exit": int(
            bool(disk) and (disk.get("traceback", True) or disk.get("code") != 1)
        ),
    }
    info = {
        "kills by phase": {
            p: sum(k["phase"] == p for k in kills)
            for p in ("before the run folder", "before its first checkpoint", "training")
        },
        "kills that landed mid-write (temp left or pair read through 'previous')": sum(k["mid_write"] for k in kills),
        "temp files found right after the stops": sum(len(b["temps"]) for b in befores),
        "pairs read through their 'previous' entry": sum(b["previous_entry"] for b in befores),
        "torn metrics lines right after the stops (ignored on read, cut on resume)": sum(
            b["torn_metrics"] for b in befores
        ),
    }
    print(f"\nresults ({time.perf_counter() - t0:.0f} s):")
    for k, v in figures.items():
        print(f"  {k:52s} {v}")
    print("context:")
    for k, v in info.items():
        print(f"  {k:52s} {v}")
    for t in trials:
        for b in (t["before"], t["after"]):
            for line in b["partial"] + b["mismatched"]:
                print("  !", line)
        for n in t["next"]:
            if n["code"] != 0:
                print(
                    "  ! next start failed:",
                    n["run"],
                    n["code"],
                    n["err"].strip().splitlines()[-1:] if n["err"] else "",
                )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    bad = any(v for k, v in figures.items() if k != "stops")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
