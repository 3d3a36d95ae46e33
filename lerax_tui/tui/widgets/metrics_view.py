"""Loss and epsilon per chunk as two labelled sparklines, read off the :class:`LiveRun`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from lerax_tui.tui.live_run import LiveRun


class MetricsView(Vertical, can_focus=True):
    HELP = """\
## Loss and epsilon

The mean TD loss (over seeds) and the exploration epsilon at the end of every chunk, squeezed to
the width of the pane. Loss is blank until learning starts (`learning_starts`).
"""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = LiveRun()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="metric"):
            yield Label("loss      ", id="loss-label", classes="metric-label")
            yield Sparkline([], id="loss-spark")
        with Horizontal(classes="metric"):
            yield Label("ε         ", id="eps-label", classes="metric-label")
            yield Sparkline([], id="eps-spark")

    def show(self, run: LiveRun) -> None:
        self.run = run
        spark = self.query_one("#loss-spark", Sparkline)
        width = max(spark.size.width, 10)
        spark.data = run.loss.bucketed(width)
        self.query_one("#eps-spark", Sparkline).data = run.epsilon.bucketed(width)
        loss, eps = run.loss.last, run.epsilon.last
        self.query_one("#loss-label", Label).update(f"loss {_fmt(loss):>5}", layout=False)  # fixed width
        self.query_one("#eps-label", Label).update(f"ε    {_fmt(eps):>5}", layout=False)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.3g}"
