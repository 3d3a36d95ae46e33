"""How long the sweep screen takes to show a live sweep of N configurations (no JAX: histories
built from a fake sweep's chunks), per refresh of each view.

    python bench/sweep_view.py                  # 9, 64 and 256 configurations x 4 seeds, 50k steps each

Prints, per size: the leaderboard's rebuild, the curves' replot + build (plotext), the sensitivity
plots' replot + build, each the median of a few runs on the UI thread (the screen redraws at most
4 times a second; a view over ~100 ms would make keys lag).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fake_sweep import FakeSweepTrainer  # noqa: E402

from lerax_tui.train.config import DQNConfig  # noqa: E402
from lerax_tui.tui.sweep_form import read_form  # noqa: E402
from lerax_tui.tui.sweep_run import SweepRun  # noqa: E402


def build(configs: int, seeds: int, steps: int) -> tuple[SweepRun, DQNConfig]:
    _, sweep = read_form({"learning_rate": f"1e-4:1e-2:log:{configs}"})
    base = DQNConfig(total_timesteps=steps, num_seeds=seeds, eval_interval=steps // 10)
    spec = sweep.spec(base)
    run = SweepRun(list(spec.overrides), spec.varying_keys, seeds=seeds, total_steps=steps)
    FakeSweepTrainer("CartPole-v1", spec, Path(tempfile.mkdtemp()), run.apply, chunk_steps=2_500).run()
    return run, spec.base


def median_ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


async def measure(configs: int, seeds: int, steps: int) -> None:
    from textual.app import App

    from lerax_tui.tui.screens.sweep import SweepScreen
    from lerax_tui.tui.widgets.leaderboard import Leaderboard
    from lerax_tui.tui.widgets.sensitivity import SensitivityPanel
    from lerax_tui.tui.widgets.sweep_chart import SweepCurves

    start = time.perf_counter()
    run, base = build(configs, seeds, steps)
    built = time.perf_counter() - start

    class Bench(App[None]):
        def on_mount(self) -> None:
            self.push_screen(SweepScreen(run, base, Path(tempfile.mkdtemp())))

    app = Bench()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.5)
        screen = app.screen
        board = screen.query_one(Leaderboard)
        curves = screen.query_one(SweepCurves)
        panels = list(screen.query(SensitivityPanel))

        def curves_draw() -> None:
            curves.redraw_now()  # prepare + bucket + draw, on this thread

        def panels_draw() -> None:
            for panel in panels:
                panel.replot(True)
                panel.render()

        print(
            f"{configs:4d} configurations x {seeds} seeds ({run.members[0].history.episodes:,} episodes each, "
            f"model built in {built:.1f} s): leaderboard {median_ms(board.refresh_rows):6.1f} ms  "
            f"curves {median_ms(curves_draw):6.1f} ms (UI thread {median_ms(curves.prepare):5.2f} ms, "
            f"the rest in a worker)  sensitivity {median_ms(panels_draw):6.1f} ms"
        )


if __name__ == "__main__":
    for n in (9, 64, 256):
        asyncio.run(measure(n, 4, 50_000))
