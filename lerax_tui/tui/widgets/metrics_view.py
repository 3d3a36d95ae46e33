"""Loss and epsilon per chunk as two labelled sparklines."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from lerax_tui.tui.history import ScalarSeries


class MetricsView(Vertical, can_focus=True):
    HELP = """\
## Loss and epsilon

The mean TD loss (over seeds) and the exploration epsilon at the end of every chunk, squeezed to
the width of the pane. Loss is blank until learning starts (`learning_starts`).
"""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loss = ScalarSeries()
        self.epsilon = ScalarSeries()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="metric"):
            yield Label("loss      ", id="loss-label", classes="metric-label")
            yield Sparkline([], id="loss-spark")
        with Horizontal(classes="metric"):
            yield Label("ε         ", id="eps-label", classes="metric-label")
            yield Sparkline([], id="eps-spark")

    def reset(self) -> None:
        self.loss = ScalarSeries()
        self.epsilon = ScalarSeries()
        self.redraw()

    def add_chunk(self, chunk) -> None:
        import numpy as np

        loss = np.asarray(chunk.loss, dtype=float)
        finite = loss[np.isfinite(loss)]
        self.loss.append(chunk.step, float(finite.mean()) if finite.size else None)
        self.epsilon.append(chunk.step, chunk.epsilon)

    def redraw(self) -> None:
        spark = self.query_one("#loss-spark", Sparkline)
        width = max(spark.size.width, 10)
        spark.data = self.loss.bucketed(width)
        self.query_one("#eps-spark", Sparkline).data = self.epsilon.bucketed(width)
        loss, eps = self.loss.last, self.epsilon.last
        self.query_one("#loss-label", Label).update(f"loss {_fmt(loss):>5}", layout=False)  # fixed width
        self.query_one("#eps-label", Label).update(f"ε    {_fmt(eps):>5}", layout=False)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.3g}"
