"""What the return chart costs per redraw, by history size and setting (no app, no JAX).

    python bench/chart_build.py [--episodes 100000 1000000] [--seeds 4] [--json]

Prints, per case, the median of 5 of
  - snapshot: what the UI thread does (freeze views of the history): the only part on the event loop;
  - frame: bucketing under the settings (trailing mean, x axis, band over seeds), in the build thread;
  - draw: plotext's picture at 120x36 (76 columns of chart), in the build thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import plotext

from lerax_tui.tui.chart_draw import draw
from lerax_tui.tui.chart_frame import ChartRequest, make_frame
from lerax_tui.tui.chart_settings import Band, ChartSettings, XAxis
from lerax_tui.tui.history import ReturnHistory

CASES = {
    "default (steps, smooth 20, min-max)": ChartSettings(),
    "smooth 50, 95% CI": ChartSettings(smoothing=50, band=Band.CI95),
    "wall time, last 20%": ChartSettings(x_axis=XAxis.WALL, zoom=0.2),
    "episodes, log y": ChartSettings(x_axis=XAxis.EPISODES, log_y=True),
}


def history(episodes: int, seeds: int) -> ReturnHistory:
    h = ReturnHistory()
    per = episodes // seeds
    steps = np.sort(np.random.default_rng(0).integers(1, 10_000_000, per))
    for seed in range(seeds):
        noise = np.random.default_rng(seed).normal(0, 30, per)
        h.extend(seed, steps, 20 + 480 * (1 - np.exp(-steps / 3e6)) + noise)
    for k, step in enumerate(range(0, 10_000_001, 25_000)):
        h.add_wall_time(step, 0.36 * k)
        if k % 20 == 0:
            h.add_evaluation(step, [np.array([300.0])] * seeds)
    return h


def median_ms(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    figure = plotext._figure._figure_class()
    for episodes in args.episodes:
        h = history(episodes, args.seeds)
        for name, settings in CASES.items():

            def request(settings=settings, h=h) -> ChartRequest:
                return ChartRequest(120 - 44, 33, settings, "CartPole-v1", h.snapshot())

            frame = make_frame(request())
            row = {
                "episodes": episodes,
                "seeds": args.seeds,
                "case": name,
                "snapshot_ms": median_ms(request),
                "frame_ms": median_ms(lambda: make_frame(request())),
                "draw_ms": median_ms(lambda frame=frame: draw(figure, frame)),
            }
            rows.append(row)
            if not args.json:
                print(
                    f"{episodes:>9,} episodes x{args.seeds} seeds  {name:38}  UI thread {row['snapshot_ms']:6.2f} ms"
                    f"  frame {row['frame_ms']:6.1f} ms  draw {row['draw_ms']:6.1f} ms"
                )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
