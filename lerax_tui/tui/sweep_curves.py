"""The sweep chart's picture, built off the UI thread: the UI thread freezes what to draw
(:func:`prepare`: snapshots of the drawn configurations' histories, no copies), a thread worker
buckets and draws it with plotext (:func:`draw_curves`). No Textual here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lerax_tui.render.chart_scale import band_path, nice_ticks, short_number
from lerax_tui.tui.history import HistorySnapshot
from lerax_tui.tui.sweep_run import MemberRun, SweepRun
from lerax_tui.tui.sweep_style import colour, marker
from lerax_tui.tui.sweep_table import SortKey, ranked

MAX_LINES = 16
"""Curves drawn at most: the best so far (and the focused one); more would be one smear."""


def drawn(sweep: SweepRun) -> list[MemberRun]:
    """The configurations the chart draws, best first: all of a small sweep, the top of a large one."""
    return ranked(sweep, SortKey.BEST)[:MAX_LINES]


@dataclass(frozen=True)
class CurvesRequest:
    """What one build draws: the plot's size, the x range, and each drawn configuration's
    (index, history snapshot) in drawing order (the focused one last, on top)."""

    width: int
    height: int
    x_max: float
    focused: int | None
    members: tuple[tuple[int, HistorySnapshot], ...]
    empty_title: str
    theme: str


def prepare(sweep: SweepRun, width: int, height: int, theme: str) -> CurvesRequest:
    """UI thread: freeze the sweep as the build will draw it (a few views, no copies)."""
    focused = sweep.focused if 0 <= sweep.focused < sweep.num_configs else None
    order = [m for m in drawn(sweep) if m.index != focused]
    if focused is not None:
        order.append(sweep.members[focused])  # drawn last: on top
    x_max = max([sweep.longest] + [m.history.max_step for m in sweep.members] + [1])
    return CurvesRequest(
        width=width,
        height=height,
        x_max=float(x_max),
        focused=focused,
        members=tuple((m.index, m.history.snapshot()) for m in order),
        empty_title="no episodes yet" if sweep.num_configs else "no configurations",
        theme=theme,
    )


def _blend(rgb: tuple[int, int, int], amount: float = 0.4) -> tuple[int, int, int]:
    """``rgb`` faded towards mid-grey (the band under the focused line)."""
    return (
        int(rgb[0] * amount + 96 * (1 - amount)),
        int(rgb[1] * amount + 96 * (1 - amount)),
        int(rgb[2] * amount + 96 * (1 - amount)),
    )


def draw_curves(plt: Any, request: CurvesRequest) -> str:
    """Any thread, one at a time per ``plt``: bucket each configuration and draw the figure; the
    plot as plotext's ANSI text."""
    plt = plt.main()  # the whole figure (plotext keeps one global)
    plt.clear_data()
    plt.clear_figure()
    plt.plotsize(request.width, request.height)
    if hasattr(plt, "_set_size"):
        plt._set_size(request.width, request.height)  # textual-plotext's render needs it for resizes
    plt.theme(request.theme)
    width = max(request.width, 20)
    buckets = max(2, 2 * max(width - 10, 10))
    x_max = request.x_max
    plt.xlabel("env steps")
    plt.ylabel("return")
    plt.xlim(0, x_max)
    ticks = nice_ticks(0, x_max, max(2, width // 14))
    plt.xticks(ticks, [short_number(t) for t in ticks])
    drew = False
    for index, history in request.members:
        summary = history.summary(buckets, x_max)
        if not summary.x.size:
            continue
        rgb = colour(index)
        if index == request.focused and summary.num_seeds > 1:
            x, y = band_path(summary.x, summary.low, summary.high)
            plt.plot(x.tolist(), y.tolist(), marker="braille", color=_blend(rgb))
        plt.plot(summary.x.tolist(), summary.mean.tolist(), marker="braille", color=rgb)
        every = max(1, summary.x.size * 8 // max(8, width))  # its marker every ~8 columns
        start = (index * 3) % every  # staggered, so markers of close lines do not hide each other
        xs, ys = summary.x[start::every].tolist(), summary.mean[start::every].tolist()
        plt.scatter(xs, ys, marker=marker(index), color=rgb)
        drew = True
    if not drew:
        plt.title(request.empty_title)
        plt.xlim(0, 1)
        plt.ylim(0, 1)
    return str(plt.build())
