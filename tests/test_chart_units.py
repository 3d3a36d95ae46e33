"""The chart's pure parts: round ticks, log and time axes, thinned marks, smoothing, seed bands,
x axes, the settings' cycles, the drawing (legend outside the data), the loss/epsilon charts and the
system sampler. No app and no JAX."""

from __future__ import annotations

import types

import numpy as np
import plotext
import pytest

from lerax_tui.render.chart_scale import (
    log_ticks,
    nice_limits,
    nice_ticks,
    short_number,
    thin_marks,
    time_ticks,
    trailing_mean,
)
from lerax_tui.train.system_stats import DeviceMemory, SystemSample, SystemSampler, describe, device_memory
from lerax_tui.tui.chart_data import Series, episode_x, step_to_x, summarize, t975
from lerax_tui.tui.chart_draw import ChartFrame, RunLine, draw, legend, marker_start
from lerax_tui.tui.chart_settings import Band, ChartSettings, XAxis
from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.metrics_draw import MetricsFrame, draw_metrics


def _round(value: float) -> bool:
    """1, 2 or 5 times a power of ten (or 0)."""
    if value == 0:
        return True
    mantissa = abs(value) / 10 ** np.floor(np.log10(abs(value)))
    return any(np.isclose(mantissa, m) for m in (1, 2, 5, 10))


def _round_ticks(ticks: list[float]) -> bool:
    """Evenly spaced by a 1-2-5 step, each a multiple of it (350 with a step of 50, never 14.8)."""
    steps = np.diff(ticks)
    step = steps[0]
    return bool(
        np.allclose(steps, step) and _round(step) and np.allclose(np.round(np.array(ticks) / step) * step, ticks)
    )


def test_y_limits_are_round_and_cover_the_data():
    low, high, ticks = nice_limits(14.8, 176.5, 6)
    assert low <= 14.8 and high >= 176.5
    assert ticks[0] == low and ticks[-1] == high and _round_ticks(ticks)
    assert nice_limits(3.0, 3.0, 4)[0] < 3.0 < nice_limits(3.0, 3.0, 4)[1]  # a flat line still gets an axis
    assert nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]  # no 0.6000000000000001


def test_log_ticks_cover_a_huge_range_in_decades():
    lo, hi, positions, labels = log_ticks(0.01, 6e7, 6)
    assert lo <= -2 and hi >= np.log10(6e7)
    assert labels[0] == "0.01" and labels[-1] == "100M" and len(labels) <= 7
    lo, hi, positions, labels = log_ticks(20, 480, 8)  # few decades: 1-2-5 inside them, limits hugging the data
    assert labels == ["20", "50", "100", "200", "500"]
    assert np.allclose(positions, np.log10([20, 50, 100, 200, 500])) and (lo, hi) == (positions[0], positions[-1])


def test_time_ticks_fall_on_clock_steps():
    assert time_ticks(0, 3600, 4) == [0.0, 900.0, 1800.0, 2700.0, 3600.0]
    assert time_ticks(0, 50, 5) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert short_number(6e7) == "60M" and short_number(0.0005) == "5e-4"


def test_evaluation_marks_are_thinned_to_the_width():
    steps = np.arange(5_000, 2_000_001, 5_000)  # a 2M-step run evaluated 400 times
    values = np.sin(steps / 1e5)
    x, y = thin_marks(steps, values, 0, 2_000_000, 20)
    assert len(x) <= 20 and len(x) >= 19
    assert np.isclose(x.mean(), steps.mean(), rtol=0.01) and y.min() >= values.min() and y.max() <= values.max()
    few_x, few_y = thin_marks(np.array([10.0, 500.0]), np.array([1.0, 2.0]), 0, 1000, 20)
    assert few_x.tolist() == [10.0, 500.0] and few_y.tolist() == [1.0, 2.0]  # nothing merged when they fit
    assert thin_marks(steps, values, 1e6, 2e6, 400)[0].min() >= 1e6  # outside the zoom: gone


def test_trailing_mean_and_its_window_off():
    assert trailing_mean(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist() == [1.0, 1.5, 2.5, 3.5]
    assert trailing_mean(np.array([1.0, 5.0]), 0).tolist() == [1.0, 5.0]


def _history(seeds: list[list[float]], *, every: int = 10) -> ReturnHistory:
    history = ReturnHistory()
    for seed, returns in enumerate(seeds):
        steps = every * np.arange(1, len(returns) + 1)
        history.extend(seed, steps, returns)
    return history


def test_bands_over_seeds_min_max_std_and_ci():
    history = _history([[10.0] * 50, [20.0] * 50, [30.0] * 50])
    common = dict(axis=XAxis.STEPS, window=5, low=0.0, high=500.0, buckets=10)
    minmax = summarize(history, band=Band.MINMAX, **common)
    assert np.allclose(minmax.mean, 20) and np.allclose(minmax.low, 10) and np.allclose(minmax.high, 30)
    std = summarize(history, band=Band.STD, **common)
    assert np.allclose(std.high - std.mean, 10.0)  # sample std of 10, 20, 30
    ci = summarize(history, band=Band.CI95, **common)
    assert np.allclose(ci.high - ci.mean, t975(2) * 10.0 / np.sqrt(3))  # Student's t: 4.303, not 1.96
    one = summarize(_history([[5.0] * 20]), band=Band.CI95, **common)
    assert np.allclose(one.low, one.high)  # one seed: no band to draw


def test_smoothing_window_and_zoom_range():
    history = _history([[0.0] * 10 + [100.0] * 10])
    wide = summarize(history, axis=XAxis.STEPS, window=20, band=Band.MINMAX, low=0, high=200, buckets=40)
    raw = summarize(history, axis=XAxis.STEPS, window=0, band=Band.MINMAX, low=0, high=200, buckets=40)
    assert raw.mean[-1] == 100.0 and wide.mean[-1] == 50.0  # mean of the last 20 episodes
    zoomed = summarize(history, axis=XAxis.STEPS, window=0, band=Band.MINMAX, low=150, high=200, buckets=5)
    assert zoomed.x.min() >= 150 and zoomed.x.max() <= 200 and np.all(zoomed.mean == 100.0)


def test_x_axes_episodes_and_wall_time():
    history = ReturnHistory()
    history.extend(0, [100, 200, 300], [1.0, 2.0, 3.0])
    assert episode_x(history, XAxis.EPISODES)[0].tolist() == [1, 2, 3]
    assert episode_x(history, XAxis.WALL) is None  # no clock readings: the chart says so
    history.add_wall_time(200, 10.0)
    history.add_wall_time(300, 20.0)
    history.add_wall_time(400, 5.0)  # a resumed run's clock restarts: time keeps going up
    assert history.wall_clock[1].tolist() == [10.0, 20.0, 25.0]
    assert episode_x(history, XAxis.WALL)[0].tolist() == [10.0, 10.0, 20.0]
    assert step_to_x(history, XAxis.EPISODES, np.array([250])).tolist() == [2.0]


def test_settings_cycle_and_come_back():
    s = ChartSettings()
    windows = [s.smoothing]
    for _ in range(5):
        s = s.next_smoothing()
        windows.append(s.smoothing)
    assert windows == [20, 50, 100, 0, 5, 20]
    assert [a.value for a in (s.x_axis, s.next_x_axis().x_axis, s.next_x_axis().next_x_axis().x_axis)] == [
        "env steps",
        "wall time",
        "episodes",
    ]
    assert s.next_zoom().zoom == 0.5 and s.next_zoom().zoom_out().zoom == 1.0
    pinned = s.pin_y((0.0, 500.0))
    assert pinned.pinned_y == (0.0, 500.0) and pinned.pin_y((1.0, 2.0)).pinned_y is None
    assert "y pinned" in pinned.describe() and pinned.toggle_log_y().pinned_y is None


def _frame(settings: ChartSettings, *, seeds: int = 3, evals: int = 400) -> ChartFrame:
    history = _history([list(20 + 10 * s + np.linspace(0, 400, 300)) for s in range(seeds)], every=100)
    series = summarize(
        history, axis=settings.x_axis, window=settings.smoothing, band=settings.band, low=0, high=30_000, buckets=120
    )
    eval_x = np.linspace(0, 30_000, evals)
    live = RunLine("CartPole-v1", series, eval_x, np.linspace(30, 450, evals), (0, 120, 212))
    return ChartFrame(width=80, height=24, low=0, high=30_000, settings=settings, live=live)


def _figure():
    return plotext._figure._figure_class()


def test_drawing_has_round_ticks_a_legend_outside_and_thinned_marks():
    frame = _frame(ChartSettings())
    drawn = draw(_figure(), frame)
    text = plotext.uncolorize(drawn.text)
    lines = text.splitlines()
    labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert len(labels) >= 3 and _round_ticks([float(v.replace("k", "e3")) for v in labels]), labels
    assert drawn.y_range is not None and drawn.y_range[0] <= 20 and drawn.y_range[1] >= 450
    assert "CartPole-v1" not in text  # the plot carries no legend over the data...
    top = legend(frame, 80).plain
    assert "CartPole-v1" in top and "min-max of 3 seeds" in top and "greedy eval" in top  # ...the line above does
    assert text.count("x") <= 80 // 3 + 2  # 400 evaluations thinned to a mark every few columns


def test_log_y_and_pinned_range():
    log = draw(_figure(), _frame(ChartSettings(log_y=True)))
    assert log.log_y and "100" in plotext.uncolorize(log.text)
    pinned = draw(_figure(), _frame(ChartSettings(pinned_y=(0.0, 1000.0))))
    assert pinned.y_range == (0.0, 1000.0)
    empty = ChartFrame(width=80, height=20, low=0, high=1, settings=ChartSettings(), live=None)
    assert "no episodes yet" in plotext.uncolorize(draw(_figure(), empty).text)
    negative = _frame(ChartSettings(log_y=True))
    s = negative.live.series
    flipped = Series(s.x, -s.raw - 1, -s.mean - 1, -s.high - 1, -s.low - 1, s.num_seeds)
    only_negative = ChartFrame(
        width=80, height=20, low=0, high=30_000, settings=ChartSettings(log_y=True),
        live=RunLine("Acrobot-v1", flipped, np.empty(0), np.empty(0), (1, 2, 3)),
    )  # fmt: skip
    assert not draw(_figure(), only_negative).log_y  # returns all below 0: drawn linear


def test_loss_on_a_log_axis_keeps_small_values_visible():
    steps = np.linspace(1_000, 50_000, 60)
    loss = np.where(steps < 3_000, 6e7, 0.05)
    frame = MetricsFrame(80, 8, (steps, loss), (steps, np.maximum(0.05, 1 - steps / 20_000)), 50_000)
    text = plotext.uncolorize(draw_metrics(_figure(), frame))
    assert "loss 0.050 (log)" in text and "ε 0.050" in text
    labels = [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line and "ε" not in line]
    assert "100M" in labels and any(v in labels for v in ("0.01", "1e-4"))  # both ends of the loss on the axis
    empty = MetricsFrame(80, 6, (np.empty(0), np.empty(0)), (np.empty(0), np.empty(0)), 1, x_ticks=False)
    assert "loss –" in plotext.uncolorize(draw_metrics(_figure(), empty))


def test_system_sampler_cpu_percent_and_devices():
    clock, cpu = iter([0.0, 2.0]), iter([1.0, 2.5])
    sampler = SystemSampler(clock=lambda: next(clock), cpu_times=lambda: next(cpu), devices=lambda: None)
    assert sampler.sample().cpu_percent is None  # one reading: no interval yet
    second = sampler.sample()
    assert second.cpu_percent == pytest.approx(75.0) and second.rss_bytes and second.rss_bytes > 0
    assert describe(second)[1] == "JAX not loaded yet (it starts with the first run)"


def test_device_memory_from_memory_stats_and_cpu_without():
    class Device:
        def __init__(self, platform, id, stats):
            self.platform, self.id, self.stats = platform, id, stats

        def memory_stats(self):
            return self.stats

    fake_jax = types.SimpleNamespace(
        local_devices=lambda: [
            Device("gpu", 0, {"bytes_in_use": 3 << 30, "bytes_limit": 80 << 30}),
            Device("gpu", 1, {"bytes_in_use": 1 << 20}),
        ]
    )
    devices = device_memory(fake_jax)
    assert devices == [DeviceMemory("gpu:0", 3 << 30, 80 << 30), DeviceMemory("gpu:1", 1 << 20, None)]
    line = describe(SystemSample(50.0, 1 << 30, devices=devices))[1]
    assert line == "gpu:0 3.0 GiB / 80.0 GiB (4%)  gpu:1 1.0 MiB in use"
    cpus = device_memory(types.SimpleNamespace(local_devices=lambda: [Device("cpu", i, None) for i in range(8)]))
    assert describe(SystemSample(50.0, 1 << 30, devices=cpus))[1] == (
        "8 cpu devices: no memory stats (the CPU backend has none)"
    )


def test_a_short_chart_keeps_its_rows_for_the_data():
    from lerax_tui.render.chart_scale import axis_limits

    low, high, ticks = axis_limits(21.0, 418.0, 2)  # round limits would be 0..600: a third empty
    assert high - low < 1.15 * (418 - 21) and low <= 21 and high >= 418
    assert len(ticks) >= 2 and _round_ticks(ticks) and low <= ticks[0] and ticks[-1] <= high
    assert axis_limits(0.0, 480.0, 5) == (0.0, 500.0, [0.0, 100.0, 200.0, 300.0, 400.0, 500.0])


def test_two_identical_overlays_both_show_their_markers():
    # A rerun of the same config draws the same curve: its markers must not land on the other's.
    frame = _frame(ChartSettings(), seeds=1, evals=0)
    assert frame.live is not None
    same = [
        RunLine(label, frame.live.series, np.empty(0), np.empty(0), (200, 150, 50), mark)
        for label, mark in (("first", "●"), ("again", "▲"))
    ]
    drawn = draw(
        _figure(),
        ChartFrame(width=80, height=24, low=0, high=30_000, settings=ChartSettings(), live=None, overlays=same),
    )
    text = plotext.uncolorize(drawn.text)
    assert text.count("●") >= 4 and text.count("▲") >= 4
    assert [marker_start(i, 2, 8) for i in range(2)] == [4, 0]
    assert marker_start(0, 1, 1) == 0 == marker_start(3, 4, 1)
