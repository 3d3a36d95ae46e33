"""A sweep's curves: one line per configuration (mean over its seeds' smoothed returns), the min-max
band of the focused one, each in its stable colour with its marker along the line, and a legend
outside the plot that names only the values that vary.

The data are the :class:`~lerax_tui.tui.sweep_run.SweepRun`'s; the widgets only read it, and redraw
on a 2 Hz timer when the screen marked them dirty; the plot is bucketed and drawn in a thread worker
(:mod:`lerax_tui.tui.sweep_curves`), so keys never wait behind it.
"""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lerax_tui.tui.sweep_curves import CurvesRequest, draw_curves, drawn, prepare
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_style import swatch

REDRAW_HZ = 2
LEGEND_LINES = 2


class SweepCurves(PlotextPlot):
    """The plot itself (see :class:`SweepChart`): the UI thread freezes the sweep
    (:func:`~lerax_tui.tui.sweep_curves.prepare`), a thread worker buckets and draws it, and the
    widget shows the last text built."""

    class Built(Message):
        def __init__(self, text: Text | None, elapsed: float) -> None:
            super().__init__()
            self.text, self.elapsed = text, elapsed

    def __init__(self, sweep: SweepRun, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sweep = sweep
        self._text: Text | None = None
        self._building = False
        self._again = False  # asked again while a build was going: build once more when it ends
        self._plt_lock = threading.Lock()  # plotext's figure is one object: one build at a time
        self.last_draw_s = 0.0

    @property
    def up_to_date(self) -> bool:
        return self._text is not None and not self._building and not self._again

    def on_resize(self) -> None:
        self.replot()  # the legend below took a line more or less: the text was built for another size

    def replot(self) -> None:
        """Rebuild the figure from the sweep in a thread worker (the chart's timer, when dirty)."""
        if self._building:
            self._again = True
            return
        if not self.size.area:
            return
        self._building, self._again = True, False
        self._build(self.prepare())

    def prepare(self) -> CurvesRequest:
        return prepare(self.sweep, self.size.width, self.size.height, self._get_plotext_theme_name(self.app.theme))

    def build_text(self, request: CurvesRequest) -> Text:
        with self._plt_lock:
            return Text.from_ansi(draw_curves(self.plt, request))

    def redraw_now(self) -> float:
        """Prepare and build on this thread (benchmarks, tests); returns the seconds it took."""
        start = time.perf_counter()
        self._text = self.build_text(self.prepare())
        self.last_draw_s = time.perf_counter() - start
        self.refresh()
        return self.last_draw_s

    @work(thread=True, exclusive=True, group="sweep-curves", exit_on_error=False)
    def _build(self, request: CurvesRequest) -> None:
        start = time.perf_counter()
        text = None
        try:
            text = self.build_text(request)
        finally:  # a failed build still ends the build: the next change draws again
            self.post_message(self.Built(text, time.perf_counter() - start))

    def on_sweep_curves_built(self, message: Built) -> None:
        self._building = False
        if message.text is not None:
            self._text, self.last_draw_s = message.text, message.elapsed
            self.refresh()
        if self._again:
            self.replot()

    def render(self):
        return self._text if self._text is not None else Text("")


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

    @property
    def up_to_date(self) -> bool:
        """The curves show the sweep as it is (nothing changed since the last build ended)."""
        return not self._dirty and self.query_one(SweepCurves).up_to_date

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
