"""What the Runs table costs over many run folders (no JAX): the listing, the first read of every
run's files, a refresh with nothing changed, and a refresh after one run grew by a line.

Builds N run folders with L metrics lines each (8 episodes a line), then times
``train.runs.list_run_folders`` and ``train.run_summary.RunSummaries`` (what the Runs tab's worker
thread calls once a second).

    .venv/bin/python bench/runs_table.py [--runs 500] [--lines 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def build(root: Path, n: int, lines: int) -> None:
    line = json.dumps({"step": 0, "episode_returns": [[10.0] * 8], "episode_steps": [[1] * 8]}) + "\n"
    for i in range(n):
        run = root / f"CartPole-v1-20261124-120000-{i:06x}"
        (run / "checkpoints").mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"env_id": "CartPole-v1", "config": {"total_timesteps": 1000}}))
        (run / "metrics.jsonl").write_text(line * lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the folders here")
    args = parser.parse_args()

    from lerax_tui.train import runs
    from lerax_tui.train.run_summary import RunSummaries

    root = args.keep or Path(tempfile.mkdtemp(prefix="lerax-runs-bench-"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not any(root.iterdir()):
            build(root, args.runs, args.lines)
        t = time.perf_counter()
        folders = [f.path for f in runs.list_run_folders(root)]
        listing = time.perf_counter() - t
        reader = RunSummaries()
        t = time.perf_counter()
        reader.summaries(folders)
        first = time.perf_counter() - t
        t = time.perf_counter()
        reader.summaries(folders)
        unchanged = time.perf_counter() - t
        runs.append_metrics(folders[0], {"step": 5, "episode_returns": [[1.0]]})
        t = time.perf_counter()
        reader.summaries(folders)
        grown = time.perf_counter() - t
        total_lines = len(folders) * args.lines
        print(
            f"{len(folders)} runs x {args.lines} lines: listing {listing * 1000:.0f} ms, "
            f"first read {first * 1000:.0f} ms ({first / total_lines * 1e6:.1f} us a line), "
            f"unchanged refresh {unchanged * 1000:.1f} ms, one run grew {grown * 1000:.1f} ms"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
