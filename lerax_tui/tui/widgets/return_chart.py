"""Episode return against env steps: raw returns faint, a smoothed line on top, a min-max band
across seeds, and past runs overlaid. Redrawn by a timer only when something changed.

The live run's data belong to the :class:`LiveRun` the main screen hands down; the chart only reads
them (and the overlays' histories, handed down the same way)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import work
from textual.color import Color
from textual.message import Message
from textual_plotext import PlotextPlot

from lerax_tui.tui.history import ReturnHistory, Summary
from lerax_tui.tui.live_run import LiveRun

REDRAW_HZ = 2  # the drain runs at 4 Hz; the chart, the costly part, at 2 Hz


@dataclass
class Overlay:
    label: str
    history: ReturnHistory


class ReturnChart(PlotextPlot, can_focus=True):
    """The chart. Its data are bucketed on the UI thread (a few ms, numpy); plotext's text build,
    the slow part, runs in a thread worker so key presses never wait behind it."""

    HELP = """\
## Return chart

Episode return against environment steps (per seed). The faint dots are raw returns averaged per
column, the bright line the smoothed return (mean of the last 20 episodes). With several seeds the
bright line is their mean and the shaded band spans their min and max. An `x` marks each periodic
greedy evaluation (`eval_interval`; mean over seeds), in each run's colour. Runs ticked in the **Runs**
tab are overlaid in other colours; one still being written by another process grows live.
"""

    class Built(Message):
        """The build worker's result (``text`` None when plotext raised)."""

        def __init__(self, text: Text | None, size: tuple[int, int], elapsed: float) -> None:
            super().__init__()
            self.text, self.size, self.elapsed = text, size, elapsed

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = LiveRun()
        self.overlays: dict[str, Overlay] = {}
        self._dirty = True
        self._building = False
        self._text: Text | None = None
        self._text_size: tuple[int, int] | None = None
        self.last_draw_s = 0.0

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1 / REDRAW_HZ, self._redraw_if_dirty, name="chart-redraw")

    def _register_theme(self, app_theme_name: str) -> None:
        super()._register_theme(app_theme_name)
        self._dirty = True  # the cached text has the old theme's colours

    def on_resize(self) -> None:
        self._dirty = True
        self._redraw_if_dirty()

    def mark_dirty(self) -> None:
        self._dirty = True

    def show_run(self, run: LiveRun) -> None:
        """Draw ``run`` from now on (a new run replaces the last one's curve)."""
        self.run = run
        self._dirty = True

    def set_overlays(self, overlays: dict[str, Overlay]) -> None:
        self.overlays = overlays
        self._dirty = True

    @property
    def up_to_date(self) -> bool:
        """The picture shows the data as they are (nothing changed since the last build ended)."""
        return self._text is not None and not self._dirty and not self._building

    @property
    def point_count(self) -> int:
        return self.run.episodes + sum(o.history.episodes for o in self.overlays.values())

    # --- drawing ---------------------------------------------------------------------------------

    def _redraw_if_dirty(self) -> None:
        if not self._dirty or self._building or not self.size.area:
            return
        self._dirty = False
        self._building = True
        self._build(self.prepare(self.size.width, self.size.height))

    def prepare(self, width: int, height: int) -> _Frame:
        """UI thread: bucket the histories (numpy) into what the build will draw."""
        buckets = max(2, 2 * max(width - 10, 10))  # braille: two dots per column
        live = self.run.history
        histories = [live, *(o.history for o in self.overlays.values())]
        x_max = max([h.max_step for h in histories] + [live.total_steps or 0, 1])
        overlays = [
            (o.label, o.history.summary(buckets, x_max), tuple(a.copy() for a in o.history.evaluations))
            for o in self.overlays.values()
        ]
        return _Frame(
            width=width,
            height=height,
            x_max=x_max,
            live=live.summary(buckets, x_max),
            live_label=self.run.label,
            overlays=overlays,
            colours=self._colours(),
            theme=self._get_plotext_theme_name(self.app.theme),
            evaluations=tuple(a.copy() for a in live.evaluations),
        )

    def build_text(self, frame: _Frame) -> Text:
        """Any thread (one at a time): draw ``frame`` with plotext and convert it to rich Text."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.plotsize(frame.width, frame.height)
        plt._set_size(frame.width, frame.height)  # see textual-plotext's render: needed for resizes
        plt.theme(frame.theme)
        colours = frame.colours
        plt.xlabel("env steps")
        plt.ylabel("return")
        plt.xlim(0, frame.x_max)
        ticks = nice_ticks(0, frame.x_max, max(2, frame.width // 14))
        plt.xticks(ticks, [short_number(t) for t in ticks])
        drew = False
        for index, (label, summary, (eval_steps, eval_means)) in enumerate(frame.overlays):
            colour = colours[f"overlay{index % 5}"]
            if summary.x.size:
                plt.plot(summary.x, summary.mean, marker="braille", color=colour, label=label[:40])
                drew = True
            if eval_steps.size:
                plt.scatter(eval_steps, eval_means, marker="x", color=colour)
                drew = True
        summary = frame.live
        if summary.x.size:
            if summary.num_seeds > 1:
                # A zigzag low->high->high->low... puts a vertical stroke in every column: a filled band.
                x, y = band_path(summary.x, summary.low, summary.high)
                plt.plot(x, y, marker="braille", color=colours["band"])
            plt.scatter(summary.x, summary.raw, marker="braille", color=colours["raw"])  # type: ignore[arg-type]  # plotext iterates ndarrays; its stubs say Sequence
            label = frame.live_label[:28] if frame.overlays else None
            plt.plot(summary.x, summary.mean, marker="braille", color=colours["smooth"], label=label)  # type: ignore[arg-type]
            drew = True
        eval_steps, eval_means = frame.evaluations
        if eval_steps.size:
            plt.scatter(eval_steps, eval_means, marker="x", color=colours["eval"], label="greedy eval")
            drew = True
        if not drew:
            long = "no episodes yet: pick an environment and press F5, or tick past runs"
            plt.title(long if frame.width > len(long) + 4 else "no episodes yet: F5 trains")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        return Text.from_ansi(plt.build())

    def redraw_now(self) -> float:
        """Prepare and build on this thread (benchmarks, tests); returns the seconds it took."""
        start = time.perf_counter()
        frame = self.prepare(self.size.width, self.size.height)
        self._show(self.build_text(frame), (frame.width, frame.height), time.perf_counter() - start)
        return self.last_draw_s

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def _build(self, frame: _Frame) -> None:
        start = time.perf_counter()
        text = None
        try:
            text = self.build_text(frame)
        finally:  # a failed build still ends the build: the next change draws again
            self.post_message(self.Built(text, (frame.width, frame.height), time.perf_counter() - start))

    def on_return_chart_built(self, message: Built) -> None:
        self._building = False
        if message.text is not None:
            self._show(message.text, message.size, message.elapsed)

    def _show(self, text: Text, size: tuple[int, int], elapsed: float) -> None:
        self._text, self._text_size, self.last_draw_s = text, size, elapsed
        self.refresh()

    def render(self):
        return self._text if self._text is not None else Text("")

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
            "eval": rgb("accent", "#ffa62b"),
            "overlay0": rgb("accent", "#ffa62b"),
            "overlay1": rgb("success", "#4EBF71"),
            "overlay2": rgb("error", "#ba3c5b"),
            "overlay3": rgb("secondary", "#004578"),
            "overlay4": rgb("warning", "#ffa62b"),
        }


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    x_max: float
    live: Summary
    live_label: str
    overlays: list
    colours: dict
    theme: str
    evaluations: tuple = (np.empty(0), np.empty(0))


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
