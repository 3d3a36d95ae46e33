"""Drawing the return chart from a prepared :class:`ChartFrame` with plotext, and its legend line.

No Textual here: ``draw`` takes any plotext-like object (the widget passes textual-plotext's, tests
pass the ``plotext`` module), so what the chart shows is tested without an app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.text import Text

from lerax_tui.render.chart_scale import (
    axis_limits,
    band_path,
    log_ticks,
    nice_ticks,
    short_duration,
    short_number,
    thin_marks,
    time_ticks,
)
from lerax_tui.tui.chart_data import Series, log10_or_nan, value_range
from lerax_tui.tui.chart_settings import ChartSettings, XAxis

RGB = tuple[int, int, int]
EVAL_MARKS = ("x",)
"""The greedy-evaluation mark of the live run; an overlay's marks are its Runs-table marker (run_text)."""


@dataclass(frozen=True)
class RunLine:
    """One run on the chart: its bucketed returns and its (unthinned) evaluation marks on the x axis."""

    label: str
    series: Series
    eval_x: np.ndarray
    eval_y: np.ndarray
    colour: RGB
    mark: str = "x"


@dataclass(frozen=True)
class ChartFrame:
    """Everything one picture needs; built on the UI thread, drawn on any."""

    width: int
    height: int
    low: float  # shown x range
    high: float
    settings: ChartSettings
    live: RunLine | None
    overlays: list[RunLine] = field(default_factory=list)
    colours: dict[str, RGB] = field(default_factory=dict)
    theme: str = "clear"
    train_key: str = "F5"  # the key that starts a run now (the user's keymap applied)
    note: str = ""  # a reason a setting could not apply (shown in the legend line)


@dataclass(frozen=True)
class Drawn:
    text: str
    y_range: tuple[float, float] | None  # the y limits shown, in returns (for pinning)
    log_y: bool  # whether the picture really is on a log scale


def _runs(frame: ChartFrame) -> list[RunLine]:
    return [*frame.overlays, *([frame.live] if frame.live is not None else [])]


def _y_values(frame: ChartFrame) -> list[np.ndarray]:
    values = []
    for run in _runs(frame):
        s = run.series
        values += [s.mean, s.raw] if frame.settings.smoothing else [s.mean]
        if s.num_seeds > 1:
            values += [s.low, s.high]
        values.append(run.eval_y[(run.eval_x >= frame.low) & (run.eval_x <= frame.high)])
    return values


def wants_log(frame: ChartFrame) -> bool:
    """Log-y is drawn only when it is on and some return is positive."""
    return frame.settings.log_y and value_range(*_y_values(frame), positive_only=True) is not None


def marker_start(index: int, count: int, every: int) -> int:
    """Where overlay ``index`` of ``count`` puts its first line marker (then one every ``every``
    buckets): staggered across the overlays, so two runs with the same curve (a rerun, two seeds
    of one config) each show their markers instead of one hiding the other's."""
    return (every // 2 + index * every // max(1, count)) % every


def draw(plt: Any, frame: ChartFrame) -> Drawn:
    """Draw ``frame`` on ``plt`` (cleared first) and return the built text."""
    plt = plt.main()  # the whole figure, whichever subplot was active (plotext keeps one global)
    plt.clear_figure()
    plt.plotsize(frame.width, frame.height)
    if hasattr(plt, "_set_size"):
        plt._set_size(frame.width, frame.height)  # textual-plotext's render needs it for resizes
    plt.theme(frame.theme)
    settings, colours = frame.settings, frame.colours
    log = wants_log(frame)
    y = log10_or_nan if log else (lambda a: np.asarray(a, dtype=float))
    plot_columns = max(frame.width - 8, 4)
    drew = False
    runs = _runs(frame)
    overlay_index = {id(run): i for i, run in enumerate(frame.overlays)}
    marks: list[tuple[Any, Any, str, RGB]] = []
    for run in runs:
        s, is_live = run.series, run is frame.live
        if s.x.size:
            if is_live and s.num_seeds > 1:
                # a zigzag low->high->high->low... puts a vertical stroke in every column: a filled band
                bx, by = band_path(s.x, y(s.low), y(s.high))
                plt.plot(bx, by, marker="braille", color=colours.get("band", (80, 80, 120)))
            if is_live and settings.smoothing:
                plt.scatter(s.x, y(s.raw), marker="braille", color=colours.get("raw", (120, 120, 120)))
            plt.plot(s.x, y(s.mean), marker="braille", color=run.colour)
            if not is_live:  # the overlay's marker every few columns too: told apart without colour
                every = max(1, s.x.size * 8 // max(8, plot_columns))
                start = marker_start(overlay_index[id(run)], len(frame.overlays), every)
                marks.append((s.x[start::every], y(s.mean)[start::every], run.mark, run.colour))
            drew = True
        ex, ey = thin_marks(run.eval_x, run.eval_y, frame.low, frame.high, max(2, plot_columns // 3))
        if ex.size:
            marks.append((ex, y(ey), run.mark, run.colour if not is_live else colours.get("eval", run.colour)))
            drew = True
    for mx, my, mark, colour in marks:  # after every line: a later run's line never covers a marker
        plt.scatter(mx, my, marker=mark, color=colour)
    if not drew:
        key = frame.train_key
        message = f"no episodes yet: pick an environment and press {key}, or tick past runs"
        plt.title(message if frame.width > len(message) + 4 else f"no episodes yet: {key} trains")
        plt.xlim(0, 1)
        plt.ylim(0, 1)
        return Drawn(plt.build(), None, False)
    plt.xlabel(" · ".join([settings.x_axis.value, *settings.describe()]))
    _x_axis(plt, frame, plot_columns)
    shown = _y_axis(plt, frame, log)
    return Drawn(plt.build(), shown, log)


def _x_axis(plt: Any, frame: ChartFrame, columns: int) -> None:
    count = max(2, columns // 12)
    plt.xlim(frame.low, frame.high)
    if frame.settings.x_axis == XAxis.WALL:
        ticks = time_ticks(frame.low, frame.high, count)
        plt.xticks(ticks, [short_duration(t) for t in ticks])
    else:
        ticks = nice_ticks(frame.low, frame.high, count)
        plt.xticks(ticks, [short_number(t) for t in ticks])


def _y_axis(plt: Any, frame: ChartFrame, log: bool) -> tuple[float, float] | None:
    rows = max(frame.height - 4, 2)
    count = max(2, rows // 3)
    pinned = frame.settings.pinned_y
    span = pinned or value_range(*_y_values(frame), positive_only=log)
    if span is None:
        return None
    if log:
        low, high = span
        if low <= 0:  # a pin from data that went to zero
            low = min(high / 1e3, 1.0)
        lo_exp, hi_exp, positions, labels = log_ticks(low, max(high, low * 1.0001), count)
        plt.ylim(lo_exp, hi_exp)
        plt.yticks(positions, labels)
        return (10.0**lo_exp, 10.0**hi_exp) if pinned is None else pinned
    if pinned is not None:
        lo, hi = pinned
        ticks = nice_ticks(lo, hi, count)
    else:
        lo, hi, ticks = axis_limits(span[0], span[1], count)
    plt.ylim(lo, hi)
    plt.yticks(ticks, [short_number(t) for t in ticks])
    return lo, hi


def legend(frame: ChartFrame, width: int) -> Text:
    """The line above the plot: what each colour and mark is (never drawn over the data)."""
    parts: list[tuple[str, str, RGB | None]] = []
    for run in _runs(frame):
        if run.series.x.size or run.eval_x.size:
            parts.append(("━", run.label, run.colour))
    live = frame.live
    if live is not None and live.series.num_seeds > 1:
        parts.append(("▒", f"{frame.settings.band.value} of {live.series.num_seeds} seeds", frame.colours.get("band")))
    marks = [run for run in _runs(frame) if run.eval_x.size]
    if marks:
        glyphs = "".join(run.mark for run in marks)
        parts.append((glyphs, "greedy eval", frame.colours.get("eval")))
    text = Text(no_wrap=True, overflow="ellipsis")
    for glyph, label, colour in parts:
        if text:
            text.append("  ")
        text.append(glyph, style=f"rgb({colour[0]},{colour[1]},{colour[2]})" if colour else "")
        text.append(f" {label}")
    if frame.note:
        text.append(f"  ({frame.note})", style="dim")
    text.truncate(width, overflow="ellipsis")
    return text
