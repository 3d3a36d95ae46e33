"""How the checkpoint browser copes with a folder of thousands of checkpoints.

Builds N checkpoint files (small CartPole policies with manifests, spread over run folders, one in ten
damaged), then measures:

* listing: the stat-only scan the browser shows at once;
* verifying every file once (what the browser's worker does, file by file), and a rescan with a
  warm cache (size + mtime unchanged: nothing re-read);
* the UI while the worker verifies: the headless app's event-loop lag (a 50 ms timer's lateness),
  how long a cursor key takes to move the cursor, time to the first rows and to "all verified".

    .venv/bin/python bench/browser_scale.py [--files 3000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, n: int, per_run: int = 50) -> int:
    import jax

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.core.checkpoint import manifest_path, save_checkpoint

    env = make_env("CartPole-v1")
    policy = MLPQPolicy(env, width_size=16, key=jax.random.key(0))
    seed_dir = root / "_seed"
    template = save_checkpoint(policy, seed_dir / "t", env=env, step=1000, recent_return=100.0)
    data, manifest = template.read_bytes(), manifest_path(template).read_text()
    made = 0
    run = 0
    while made < n:
        ck = root / "runs" / f"CartPole-v1-20261124-{run:06d}-abcdef" / "checkpoints"
        ck.mkdir(parents=True)
        for i in range(min(per_run, n - made)):
            p = ck / f"step-{(i + 1) * 1000:09d}.eqx"
            content = data if made % 10 else data[: len(data) // 2]  # one in ten truncated
            p.write_bytes(content)
            manifest_path(p).write_text(manifest)
            made += 1
        run += 1
    shutil.rmtree(seed_dir)
    return made


def bench_index(runs: Path) -> dict:
    from lerax_tui.core import report_cache
    from lerax_tui.core.checkpoint_index import CheckpointIndex
    from lerax_tui.tui.checkpoint_text import row_label

    report_cache.SHARED.clear()  # the UI run filled it
    index = CheckpointIndex(runs)
    t0 = time.perf_counter()
    rows = index.scan().rows
    scan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.verify_row(rows[1])  # an intact file: pays the skeleton build (imports, if the UI bench did not)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for row in rows[:1] + rows[2:]:
        index.verify_row(row)
    verify_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows2 = index.scan().rows
    for row in rows2:
        index.verify_row(row)
    warm_s = time.perf_counter() - t0
    statuses = {}
    for r in rows:
        statuses[row_label(r)] = statuses.get(row_label(r), 0) + 1
    return {
        "files": len(rows),
        "scan_ms": scan_s * 1000,
        "first_verify_s": first_s,
        "verify_per_file_ms": verify_s / max(1, len(rows) - 1) * 1000,
        "verify_all_s": verify_s,
        "rescan_warm_cache_ms": warm_s * 1000,
        "statuses": statuses,
    }


async def bench_ui(runs: Path) -> dict:
    from lerax_tui.core import report_cache

    report_cache.SHARED.clear()  # the index benchmark above filled it
    from textual import events
    from textual.app import App

    from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen

    class BenchApp(App):
        def on_mount(self) -> None:
            self.push_screen(CheckpointBrowserScreen(runs))

    app = BenchApp()
    lags: list[float] = []
    key_ms: list[float] = []
    t_start = time.perf_counter()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        while not isinstance(screen, CheckpointBrowserScreen) or not screen.table.shown:
            await pilot.pause(0.01)
            screen = app.screen
        first_rows_s = time.perf_counter() - t_start
        expected = time.perf_counter()
        drain_ms: list[float] = []
        real_drain = screen._drain

        def timed_drain() -> None:
            t0 = time.perf_counter()
            real_drain()
            drain_ms.append((time.perf_counter() - t0) * 1000)

        screen._drain = timed_drain  # its 5 Hz timer holds the bound method: add a timed one beside it
        screen.set_interval(0.2, timed_drain)

        def tick() -> None:
            nonlocal expected
            now = time.perf_counter()
            lags.append(max(0.0, now - expected - 0.05))
            expected = now

        app.set_interval(0.05, tick)
        first_verified_s = None
        while screen.verify_seconds is None:
            if first_verified_s is None and any(r.report is not None and r.report.ok for r in screen.rows.values()):
                first_verified_s = time.perf_counter() - t_start
            before = screen.table.cursor_row
            t0 = time.perf_counter()
            app.post_message(events.Key("j", "j"))  # as a terminal would; Pilot.press also waits for idle
            while screen.table.cursor_row == before and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.001)
            key_ms.append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0.2)
        all_verified_s = time.perf_counter() - t_start
        # A filter keystroke and a rescan rebuild the table on the UI thread: time them at this size.
        t0 = time.perf_counter()
        screen._filter = "step-00000"
        screen._refill()
        filter_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        screen._filter = ""
        screen._refill()
        unfilter_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        screen.rescan()  # warm cache: listing + table rebuild, nothing re-verified
        rescan_ms = (time.perf_counter() - t0) * 1000
    lags.sort()
    return {
        "first_rows_s (app start)": first_rows_s,
        "first_ok_row_s (imports)": first_verified_s or 0.0,
        "filter_keystroke_ms": filter_ms,
        "clear_filter_ms": unfilter_ms,
        "rescan_ui_ms": rescan_ms,
        "all_verified_s": all_verified_s,
        "loop_lag_p50_ms": statistics.median(lags) * 1000 if lags else 0,
        "loop_lag_p95_ms": lags[int(0.95 * (len(lags) - 1))] * 1000 if lags else 0,
        "loop_lag_max_ms": lags[-1] * 1000 if lags else 0,
        "key_to_cursor_p50_ms": statistics.median(key_ms) if key_ms else 0,
        "key_to_cursor_max_ms": max(key_ms) if key_ms else 0,
        "keys_pressed": len(key_ms),
        "drain_p50_ms": statistics.median(drain_ms) if drain_ms else 0,
        "drain_max_ms": max(drain_ms) if drain_ms else 0,
    }


def build_in_subprocess(root: Path, n: int) -> None:
    """Build in another process, so this one starts without JAX imported (like the app)."""
    import subprocess

    # the script itself as the child (its folder is then sys.path[0]), with a flag that only builds
    subprocess.run([sys.executable, __file__, "--build-only", str(root), "--files", str(n)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument(
        "--keep", type=Path, default=None, help="build (or reuse) the folder here instead of a temp dir"
    )
    parser.add_argument(
        "--build-only", type=Path, default=None, metavar="DIR", help=argparse.SUPPRESS
    )  # the build subprocess
    args = parser.parse_args()
    if args.build_only is not None:
        build(args.build_only, args.files)
        return 0
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    root = args.keep or Path(tempfile.mkdtemp(prefix="browser-scale-"))
    try:
        if not (root / "runs").exists():
            t0 = time.perf_counter()
            build_in_subprocess(root, args.files)
            print(f"built {args.files} checkpoints in {time.perf_counter() - t0:.1f} s under {root}", file=sys.stderr)
        print(
            f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)"
        )
        # The UI first, in a process that has not imported JAX yet: what a user opening the browser sees.
        print(f"jax imported before the UI run: {'jax' in sys.modules}")
        for k, v in asyncio.run(bench_ui(root / "runs")).items():
            print(f"ui     {k:<24} {v:.2f}" if isinstance(v, float) else f"ui     {k:<24} {v}")
        for k, v in bench_index(root / "runs").items():
            print(f"index  {k:<24} {v:.2f}" if isinstance(v, float) else f"index  {k:<24} {v}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
