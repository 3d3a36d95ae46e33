"""What the app costs while it trains: real DQN on CartPole-v1, with and without the app attached.

    python bench/app_overhead.py [--steps 300000] [--repeats 2] [--presses 60] [--set KEY=VALUE ...] [--json]

Prints
  - env steps per second (all seeds, wall clock after the first chunk, so compile is excluded but
    host work between chunks counts) with the app attached / headless (target >= 0.9);
  - key-press-to-screen latency p50/p95 while training (target p95 < 50 ms): a cursor move in the
    environment list, timed from the key event to the screen having been refreshed;
  - chart redraw time with 100k episodes in the history (target < 20 ms): data bucketing, plotext
    build and conversion to a renderable, at 120x36. In the app only the bucketing runs on the UI
    thread; the plotext build runs in a thread worker.
The app runs headless (``run_test``), i.e. the full Textual message loop and compositor without a
terminal; writing the frames to a real terminal would add the terminal's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = (120, 36)


def headless_sps(config, runs_dir: Path) -> tuple[float, float]:
    from lerax_tui.train.events import ChunkMetrics
    from lerax_tui.train.runner import make_runner

    chunks: list = []
    runner = make_runner(
        "CartPole-v1", {}, config, runs_dir, lambda e: chunks.append(e) if isinstance(e, ChunkMetrics) else None
    )
    start = time.perf_counter()
    runner.run()
    return wall_sps(chunks, config.num_seeds), time.perf_counter() - start


def wall_sps(chunks: list, seeds: int) -> float:
    """Env steps per wall-clock second from the end of the first chunk to the end of the last:
    compile excluded, but everything the host does between chunks (listener, UI contention) counts."""
    first, last = chunks[0], chunks[-1]
    return (last.step - first.step) * seeds / (last.wall_s - first.wall_s)


async def app_sps_and_latency(config, runs_dir: Path, presses: int) -> tuple[float, list[float], float]:
    from lerax_tui.train.events import ChunkMetrics
    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.training import default_trainer_factory

    chunks: list = []

    def factory(env_id, env_params, cfg, runs, listener):
        def tee(event):
            if isinstance(event, ChunkMetrics):
                chunks.append(event)
            listener(event)

        return default_trainer_factory(env_id, env_params, cfg, runs, tee)

    app = make_app(runs_dir=runs_dir, env_id="CartPole-v1", trainer_factory=factory)
    latencies: list[float] = []
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        from lerax_tui.tui.widgets.env_picker import EnvPicker

        while not app.main_screen.query_one(EnvPicker).entries:
            await pilot.pause(0.1)
        screen = app.main_screen
        for name, value in config.to_dict().items():
            screen.form.rows[name].set_value(value)
        screen.form.validate()
        await pilot.press("f5")
        while screen.run.phase in ("idle", "compiling") and screen.session is not None:
            await pilot.pause(0.05)
        option_list = app.query_one("#env-list")
        option_list.focus()
        frames: list[float] = []
        display = app._display

        watch: dict = {}

        def spy(screen, renderable):  # every frame the compositor hands to the driver
            result = display(screen, renderable)
            if renderable is not None and not app._batch_count:
                frames.append(time.perf_counter())
                if watch.get("event") is not None and watch["until"]():
                    watch.pop("event").set()  # the first frame showing the moved cursor
            return result

        app._display = spy
        key = "down"
        while screen.session is not None and len(latencies) < presses:
            before = option_list.highlighted
            if before in (0, option_list.option_count - 1):
                key = "down" if before == 0 else "up"
            shown = asyncio.Event()
            watch["until"] = lambda before=before: option_list.highlighted != before
            watch["event"] = shown
            t0 = time.perf_counter()
            app.simulate_key(key)
            try:
                await asyncio.wait_for(shown.wait(), 2.0)
                latencies.append(frames[-1] - t0)
            except TimeoutError:
                latencies.append(2.0)
            await asyncio.sleep(0.2)  # a person presses keys a few times a second, not continuously
        app._display = display
        while screen.session is not None:
            await pilot.pause(0.1)
    return wall_sps(chunks, config.num_seeds), latencies, time.perf_counter() - start


async def chart_redraw_ms(episodes: int, seeds: int) -> float:
    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.widgets.return_chart import ReturnChart

    app = make_app(runs_dir=Path(tempfile.mkdtemp()), catalogue=())  # the picker plays no part in a redraw
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(ReturnChart)
        per_seed = episodes // seeds
        steps = np.sort(np.random.default_rng(0).integers(1, 10_000_000, per_seed))
        for seed in range(seeds):
            chart.run.history.extend(
                seed, steps, 20 + 480 * (1 - np.exp(-steps / 3e6)) + np.random.default_rng(seed).normal(0, 30, per_seed)
            )
        await pilot.pause()
        times = [chart.redraw_now() for _ in range(20)]  # bucketing + plotext build + conversion
        return 1000 * statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300_000, help="total_timesteps of each CartPole run")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2, help="headless/app pairs (medians are reported)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameters on the preset, e.g. width_size=64",
    )
    args = parser.parse_args()

    from lerax_tui.train.config import parse_overrides, preset

    config = preset("CartPole-v1").replace(**parse_overrides(args.set))
    config = config.replace(total_timesteps=args.steps, num_seeds=args.seeds, eval_episodes=0)
    headless_runs, attached_runs, latencies = [], [], []
    with tempfile.TemporaryDirectory(prefix="lerax-bench-") as tmp:
        for _ in range(args.repeats):  # alternate, so drifting machine load hits both alike
            sps, wall = headless_sps(config, Path(tmp))
            headless_runs.append(sps)
            print(f"headless: {sps:,.0f} env steps/s ({wall:.1f} s wall)", file=sys.stderr)
            sps, lat, wall = asyncio.run(app_sps_and_latency(config, Path(tmp), args.presses))
            attached_runs.append(sps)
            latencies += lat
            print(f"app attached: {sps:,.0f} env steps/s ({wall:.1f} s wall, {len(lat)} key presses)", file=sys.stderr)
    headless, attached = statistics.median(headless_runs), statistics.median(attached_runs)
    redraw_1 = asyncio.run(chart_redraw_ms(100_000, 1))
    redraw_4 = asyncio.run(chart_redraw_ms(100_000, 4))
    result = {
        "sps_headless": round(headless),
        "sps_app": round(attached),
        "sps_ratio": round(attached / headless, 3),
        "key_latency_ms_p50": round(1000 * percentile(latencies, 50), 2),
        "key_latency_ms_p95": round(1000 * percentile(latencies, 95), 2),
        "key_presses": len(latencies),
        "chart_redraw_ms_100k_1_seed": round(redraw_1, 2),
        "chart_redraw_ms_100k_4_seeds": round(redraw_4, 2),
        "steps": args.steps,
        "seeds": args.seeds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"SPS with app / headless: {result['sps_ratio']:.3f}  (target >= 0.9)")
        print(
            f"key to screen: p50 {result['key_latency_ms_p50']:.1f} ms, p95 {result['key_latency_ms_p95']:.1f} ms  (target p95 < 50 ms)"
        )
        print(f"chart redraw, 100k episodes: {redraw_1:.1f} ms (1 seed), {redraw_4:.1f} ms (4 seeds)  (target < 20 ms)")


if __name__ == "__main__":
    main()
