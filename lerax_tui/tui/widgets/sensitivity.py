"""The sensitivity picture: the final greedy return of every configuration against each swept
hyperparameter, one small plot per hyperparameter (its points in the configurations' colours and
markers). Until a configuration ends, its latest greedy evaluation stands in (the title says so).
"""

from __future__ import annotations

import math
from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_style import colour, marker


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def log_axis(values: list[Any]) -> bool:
    """A numeric axis spanning two decades or more of positive values is drawn on a log scale."""
    return _numeric(values) and all(v > 0 for v in values) and max(values) / min(values) >= 100


def grid_shape(panels: int, width: int) -> tuple[int, int]:
    """(rows, columns) of ``panels`` small plots in ``width`` columns (at least ~28 columns each)."""
    cols = max(1, min(panels, width // 28))
    return math.ceil(panels / cols), cols


class SensitivityPanel(PlotextPlot):
    """One swept key's plot."""

    def __init__(self, sweep: SweepRun, key: str) -> None:
        super().__init__(classes="sensitivity-panel")
        self.sweep, self.key = sweep, key

    def replot(self, final: bool) -> None:
        plt, sweep, key = self.plt, self.sweep, self.key
        plt.clear_data()
        plt.clear_figure()
        values = [m.overrides.get(key) for m in sweep.members]
        plt.title(f"{key}{'' if final else ' (latest eval)'}")
        distinct = sorted({repr(v): v for v in values}.values(), key=lambda v: (str(type(v)), v))
        numeric = _numeric(values)
        if numeric and log_axis(values):
            plt.xscale("log")
        elif not numeric:  # choices and bools: one column per value
            plt.xticks(list(range(len(distinct))), [str(v) for v in distinct])
        for member, value in zip(sweep.members, values, strict=True):
            y = member.outcome
            if y is None or not math.isfinite(y):
                continue
            x = value if numeric else distinct.index(value)
            plt.scatter([x], [y], marker=marker(member.index), color=colour(member.index))
        self.refresh()


class SensitivityPlot(Grid, can_focus=False):
    """One small plot per swept key that varies, as many side by side as the width allows."""

    HELP = """\
## Sensitivity

Each small plot is one swept hyperparameter: every configuration's final greedy return (its
latest greedy evaluation while it still trains) against that hyperparameter's value, in the
configuration's colour and marker. A flat cloud means the return hardly depends on it; a peak
shows where to look next. Axes over two decades or more are logarithmic.
"""

    def __init__(self, sweep: SweepRun, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sweep = sweep

    def compose(self) -> ComposeResult:
        if not self.sweep.varying:
            yield Static("nothing varies: no sensitivity to show", classes="sensitivity-empty")
        for key in self.sweep.varying:
            yield SensitivityPanel(self.sweep, key)

    def on_resize(self) -> None:
        rows, cols = grid_shape(max(len(self.sweep.varying), 1), max(self.size.width, 28))
        self.styles.grid_size_columns = cols
        self.styles.grid_size_rows = rows

    def replot(self) -> None:
        final = all(m.final_eval is not None for m in self.sweep.members if m.status != "failed")
        for panel in self.query(SensitivityPanel):
            panel.replot(final)
