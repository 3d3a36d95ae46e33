"""From what the chart shows (frozen histories, the user's settings, the size) to the
:class:`ChartFrame` it draws: the x range under the zoom, each run's bucketed series and its
evaluation marks on the chosen axis, and the notes when a setting cannot apply.

No Textual here; the chart's build thread runs it, so bucketing a million episodes never holds up
a key press.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lerax_tui.tui.chart_data import episode_x, step_to_x, summarize, x_extent
from lerax_tui.tui.chart_draw import EVAL_MARKS, RGB, ChartFrame, RunLine, wants_log
from lerax_tui.tui.chart_settings import ChartSettings, XAxis
from lerax_tui.tui.history import HistorySnapshot
from lerax_tui.tui.run_text import overlay_marker


@dataclass(frozen=True)
class ChartRequest:
    """What the UI thread hands the build: cheap to make (views, no copies)."""

    width: int
    height: int
    settings: ChartSettings
    live_label: str
    live: HistorySnapshot
    overlays: list[tuple[str, HistorySnapshot]] = field(default_factory=list)
    colours: dict[str, RGB] = field(default_factory=dict)
    theme: str = "clear"
    train_key: str = "F5"


def make_frame(request: ChartRequest) -> ChartFrame:
    settings, axis = request.settings, request.settings.x_axis
    named = [(request.live_label, request.live), *request.overlays]
    notes = []
    if axis == XAxis.WALL:
        missing = [label for label, h in named if episode_x(h, axis) is None]
        if missing:
            notes.append(f"no wall times in {missing[0]}")
    extent = max([x_extent(h, axis) for _, h in named] + [0.0])
    full = max(extent, float(request.live.total_steps or 0)) if axis == XAxis.STEPS else extent
    zoomed = settings.zoom < 1.0
    low = extent * (1 - settings.zoom) if zoomed else 0.0
    high = max(extent if zoomed else full, low + 1.0)
    buckets = max(2, 2 * max(request.width - 10, 10))  # braille: two dots per column
    colours = request.colours

    def line(label: str, history: HistorySnapshot, colour: RGB, mark: str) -> RunLine:
        series = summarize(
            history, axis=axis, window=settings.smoothing, band=settings.band, low=low, high=high, buckets=buckets
        )
        steps, means = history.evaluations
        ex = step_to_x(history, axis, steps) if steps.size else None
        if ex is None:
            ex, means = np.empty(0), np.empty(0)
        return RunLine(label, series, np.asarray(ex, dtype=float), np.asarray(means, dtype=float), colour, mark)

    overlays = [
        line(label, h, colours.get(f"overlay{i % 5}", (200, 150, 50)), overlay_marker(i))
        for i, (label, h) in enumerate(request.overlays)
    ]
    live = line(request.live_label, request.live, colours.get("smooth", (0, 120, 212)), EVAL_MARKS[0])
    shown = live.series.x.size or live.eval_x.size or not overlays  # an empty live run stays out of the legend
    frame = ChartFrame(
        width=request.width,
        height=max(request.height - 1, 3),  # the legend line goes above the plot
        low=low,
        high=high,
        settings=settings,
        live=live if shown else None,
        overlays=overlays,
        colours=colours,
        theme=request.theme,
        train_key=request.train_key,
    )
    if settings.log_y and not wants_log(frame):
        notes.append("log y needs returns above 0")
    return replace(frame, note="; ".join(notes)) if notes else frame
