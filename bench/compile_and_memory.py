"""Compile time cold and warm (JAX persistent cache), and peak RSS with a 1M-transition buffer.

    .venv/bin/python bench/compile_and_memory.py

Each measurement is a fresh process (what a user's second launch is). "cold" uses an empty cache
folder, "warm" the same folder again. The RSS run trains CartPole-v1 with ``buffer_size=1_000_000``
(the whole run folder written: checkpoints and the resume state with the full buffer included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from lerax_tui.train import preset, train
config = preset("CartPole-v1").replace(**json.loads(sys.argv[1]))
result = train("CartPole-v1", config, runs_dir=sys.argv[2])
print(json.dumps({"compile_s": result.compile_s, "train_s": result.train_s, "wall_s": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(overrides: dict, cache: str, runs_dir: str) -> dict:
    env = dict(os.environ, LERAX_TUI_JAX_CACHE=cache, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(overrides), runs_dir],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lerax-tui-bench-") as tmp:
        cache, runs_dir = str(Path(tmp) / "jax-cache"), str(Path(tmp) / "runs")
        small = {"total_timesteps": args.steps, "eval_episodes": 10}
        cold = child(small, cache, runs_dir)
        warm = child(small, cache, runs_dir)
        off = child({**small, "buffer_size": 1_000_000}, "off", runs_dir)
        base = child({**small, "buffer_size": 10_000}, "off", runs_dir)
    print(f"## compile time and memory (CartPole-v1 default preset, {args.steps:,} steps, fresh process each)")
    print("| run | compile s | train s | process wall s | peak RSS MB |")
    print("|---|---|---|---|---|")
    print(
        f"| cold cache | {cold['compile_s']:.2f} | {cold['train_s']:.2f} | {cold['wall_s']:.2f} | {cold['peak_rss_mb']:.0f} |"
    )
    print(
        f"| warm cache (second launch) | {warm['compile_s']:.2f} | {warm['train_s']:.2f} | {warm['wall_s']:.2f} | {warm['peak_rss_mb']:.0f} |"
    )
    print(
        f"| buffer 10k, no cache | {base['compile_s']:.2f} | {base['train_s']:.2f} | {base['wall_s']:.2f} | {base['peak_rss_mb']:.0f} |"
    )
    print(
        f"| buffer 1M, no cache | {off['compile_s']:.2f} | {off['train_s']:.2f} | {off['wall_s']:.2f} | {off['peak_rss_mb']:.0f} (target < 1536) |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
