"""Episode return against env steps: raw returns faint, a smoothed line on top, a min-max band
across seeds, and past runs overlaid. Redrawn by a timer only when something changed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.color import Color
from textual_plotext import PlotextPlot

from lerax_tui.tui.history import ReturnHistory, Summary

REDRAW_HZ = 4


@dataclass
class Overlay:
    label: str
    history: ReturnHistory


class ReturnChart(PlotextPlot, can_focus=True):
    HELP = """\
## Return chart

Episode return against environment steps (per seed). The faint line is the raw return averaged
per column, the bright line the smoothed return (mean of the last 20 episodes). With several seeds
the bright line is their mean and the two dim lines their min and max. Runs ticked in the **Runs**
tab are overlaid in other colours; one still being written by another process grows live.
"""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.live = ReturnHistory()
        self.live_label = "this run"
        self.overlays: dict[str, Overlay] = {}
        self._dirty = True
        self.last_draw_s = 0.0

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1 / REDRAW_HZ, self._redraw_if_dirty, name="chart-redraw")

    def mark_dirty(self) -> None:
        self._dirty = True

    def reset_live(self, label: str = "this run") -> None:
        self.live = ReturnHistory()
        self.live_label = label
        self._dirty = True

    def set_overlays(self, overlays: dict[str, Overlay]) -> None:
        self.overlays = overlays
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh()

    @property
    def point_count(self) -> int:
        return self.live.episodes + sum(o.history.episodes for o in self.overlays.values())

    def _colours(self) -> dict[str, tuple[int, int, int]]:
        variables = self.app.theme_variables

        def rgb(name: str, fallback: str) -> tuple[int, int, int]:
            try:
                return Color.parse(variables.get(name, fallback)).rgb
            except Exception:
                return Color.parse(fallback).rgb

        background = Color.parse(variables.get("surface", "#1e1e1e"))
        primary = Color.parse(variables.get("primary", "#0178d4"))
        return {
            "smooth": primary.rgb,
            "raw": background.blend(Color.parse(variables.get("foreground", "#e0e0e0")), 0.35).rgb,
            "band": background.blend(primary, 0.35).rgb,
            "overlay0": rgb("accent", "#ffa62b"),
            "overlay1": rgb("success", "#4EBF71"),
            "overlay2": rgb("error", "#ba3c5b"),
            "overlay3": rgb("secondary", "#004578"),
            "overlay4": rgb("warning", "#ffa62b"),
        }

    def draw(self, width: int, height: int) -> None:
        """Put the current data into the plotext figure for a ``width`` x ``height`` chart."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        colours = self._colours()
        buckets = max(2, 2 * max(width - 10, 10))  # braille: two dots per column
        histories = [self.live, *(o.history for o in self.overlays.values())]
        x_max = max([h.max_step for h in histories] + [self.live.total_steps or 0, 1])
        plt.xlabel("env steps")
        plt.ylabel("return")
        plt.xlim(0, x_max)
        ticks = nice_ticks(0, x_max, max(2, width // 14))
        plt.xticks(ticks, [short_number(t) for t in ticks])
        drew = False
        for index, overlay in enumerate(self.overlays.values()):
            summary = overlay.history.summary(buckets, x_max)
            if summary.x.size:
                plt.plot(summary.x, summary.mean, marker="braille", color=colours[f"overlay{index % 5}"], label=overlay.label[:28])
                drew = True
        summary = self.live.summary(buckets, x_max)
        if summary.x.size:
            self._plot_live(summary, colours)
            drew = True
        if not drew:
            plt.title("no episodes yet: pick an environment and press F5, or tick past runs")
            plt.xlim(0, 1)
            plt.ylim(0, 1)

    def _plot_live(self, summary: Summary, colours: dict) -> None:
        plt = self.plt
        if summary.num_seeds > 1:
            # A zigzag low->high->high->low... puts a vertical stroke in every column: a filled band.
            x, y = band_path(summary.x, summary.low, summary.high)
            plt.plot(x, y, marker="braille", color=colours["band"])
        plt.scatter(summary.x, summary.raw, marker="braille", color=colours["raw"])
        label = self.live_label if not self.overlays else self.live_label[:24]
        plt.plot(summary.x, summary.mean, marker="braille", color=colours["smooth"], label=label if self.overlays else None)

    def render(self):
        start = time.perf_counter()
        self.draw(self.size.width, self.size.height)
        result = super().render()
        self.last_draw_s = time.perf_counter() - start
        return result


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round tick positions (1, 2 or 5 times a power of ten apart) in [low, high]."""
    import math

    span = max(high - low, 1e-9)
    raw_step = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw_step)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def short_number(value: float) -> str:
    """1500 -> 1.5k, 2000000 -> 2M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def band_path(x, low, high):
    """The zigzag through (x0, low0), (x0, high0), (x1, high1), (x1, low1), ... that fills a band."""
    import numpy as np

    n = len(x)
    xs = np.repeat(np.asarray(x, dtype=float), 2)
    pairs = np.stack([low, high], axis=1)
    pairs[1::2] = pairs[1::2, ::-1]  # every other column goes down instead of up
    return xs, pairs.reshape(2 * n)
