"""A sweep's curves: one line per configuration (mean over its seeds' smoothed returns), the min-max
band of the focused one, each in its stable colour with its marker along the line, and a legend
outside the plot that names only the values that vary.

The data are the :class:`~lerax_tui.tui.sweep_run.SweepRun`'s; the widgets only read it, and redraw
on a 2 Hz timer when the screen marked them dirty.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lerax_tui.render.chart_scale import band_path, nice_ticks, short_number
from lerax_tui.tui.sweep_run import MemberRun, SweepRun
from lerax_tui.tui.sweep_style import colour, marker, swatch
from lerax_tui.tui.sweep_table import SortKey, ranked

REDRAW_HZ = 2
LEGEND_LINES = 2
MAX_LINES = 16
"""Curves drawn at most: the best so far (and the focused one); more would be one smear."""


def drawn(sweep: SweepRun) -> list[MemberRun]:
    """The configurations the chart draws, best first: all of a small sweep, the top of a large one."""
    return ranked(sweep, SortKey.BEST)[:MAX_LINES]


def _blend(rgb: tuple[int, int, int], amount: float = 0.4) -> tuple[int, int, int]:
    """``rgb`` faded towards mid-grey (the band under the focused line)."""
    return (
        int(rgb[0] * amount + 96 * (1 - amount)),
        int(rgb[1] * amount + 96 * (1 - amount)),
        int(rgb[2] * amount + 96 * (1 - amount)),
    )


class SweepCurves(PlotextPlot):
    """The plot itself (see :class:`SweepChart`)."""

    def __init__(self, sweep: SweepRun, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sweep = sweep

    def replot(self) -> None:
        """Rebuild the figure from the sweep (called by the chart's timer when dirty)."""
        plt, sweep = self.plt, self.sweep
        plt.clear_data()
        plt.clear_figure()
        width = max(self.size.width, 20)
        buckets = max(2, 2 * max(width - 10, 10))
        x_max = max([sweep.total] + [m.history.max_step for m in sweep.members] + [1])
        plt.xlabel("env steps")
        plt.ylabel("return")
        plt.xlim(0, x_max)
        ticks = nice_ticks(0, x_max, max(2, width // 14))
        plt.xticks(ticks, [short_number(t) for t in ticks])
        focused = sweep.focused if 0 <= sweep.focused < sweep.num_configs else None
        order = [m for m in drawn(sweep) if m.index != focused]
        if focused is not None:
            order.append(sweep.members[focused])  # drawn last: on top
        drew = False
        for member in order:
            summary = member.history.summary(buckets, x_max)
            if not summary.x.size:
                continue
            rgb = colour(member.index)
            if member.index == focused and summary.num_seeds > 1:
                x, y = band_path(summary.x, summary.low, summary.high)
                plt.plot(x.tolist(), y.tolist(), marker="braille", color=_blend(rgb))
            plt.plot(summary.x.tolist(), summary.mean.tolist(), marker="braille", color=rgb)
            every = max(1, summary.x.size * 8 // max(8, width))  # its marker every ~8 columns
            start = (member.index * 3) % every  # staggered, so markers of close lines do not hide each other
            xs, ys = summary.x[start::every].tolist(), summary.mean[start::every].tolist()
            plt.scatter(xs, ys, marker=marker(member.index), color=rgb)
            drew = True
        if not drew:
            plt.title("no episodes yet" if sweep.num_configs else "no configurations")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        self.refresh()


class SweepChart(Vertical, can_focus=False):
    """The curves and their legend (one entry per configuration, the focused one bold)."""

    HELP = """\
## Sweep curves

One line per configuration (the best 16 of a larger sweep, and the highlighted one): the mean over its seeds of each seed's smoothed return (mean of its
last 20 episodes) against env steps. The configuration highlighted in the leaderboard is drawn on
top with the min-max band of its seeds. Each configuration keeps its colour and its marker (drawn
along its line and in the legend), so they are told apart without colour too. The legend names
only the hyperparameters that vary.
"""

    def __init__(self, sweep: SweepRun, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sweep = sweep
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield SweepCurves(self.sweep, id="sweep-curves")
        yield Static("", id="sweep-legend")

    def on_mount(self) -> None:
        self.set_interval(1 / REDRAW_HZ, self.redraw_if_dirty, name="sweep-chart-redraw")
        self.call_after_refresh(self.redraw_if_dirty)

    def on_resize(self) -> None:
        self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    def redraw_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.query_one(SweepCurves).replot()
        self.query_one("#sweep-legend", Static).update(self.legend())

    def legend(self) -> Text:
        """Every configuration's marker and varying values, as many to a line as fit."""
        sweep = self.sweep
        width = max(self.size.width - 2, 20)
        short = width < 110
        focused = [m for m in sweep.members if m.index == sweep.focused]
        members = focused + sorted((m for m in drawn(sweep) if m.index != sweep.focused), key=lambda m: m.index)
        hidden = sweep.num_configs - len(members)  # not drawn: named in the leaderboard only
        entries = [swatch(m.index, sweep.label(m.index, short=short), bold=m.index == sweep.focused) for m in members]
        shown: list[Text] = []
        lines, used = 1, 0
        for n, entry in enumerate(entries):
            more = f"+{len(entries) - n + hidden} more: markers in the leaderboard"
            need = len(entry) + (2 if used else 0)
            room = width - (len(more) + 2 if n < len(entries) - 1 else 0)
            if used + need > (room if lines == LEGEND_LINES else width):
                if lines == LEGEND_LINES:
                    shown.append(Text(more, style="dim"))
                    break
                lines, used = lines + 1, 0
                need = len(entry)
            shown.append(entry)
            used += need
        else:
            if hidden:
                shown.append(Text(f"+{hidden} more (not drawn): in the leaderboard", style="dim"))
        return Text("  ").join(shown)
