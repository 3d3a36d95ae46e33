"""Loss and epsilon per chunk as two small charts with a y axis (loss on a log scale), read off the
:class:`LiveRun`. The plotext build runs in a thread worker, at most twice a second."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.color import Color
from textual.message import Message
from textual_plotext import PlotextPlot

from lerax_tui.tui.live_run import LiveRun
from lerax_tui.tui.metrics_draw import MetricsFrame, draw_metrics

REDRAW_HZ = 2


class MetricsView(PlotextPlot, can_focus=True):
    HELP = """\
## Loss and epsilon

The mean TD loss (over seeds) and the exploration epsilon at the end of every chunk, against env
steps, averaged down to the width of the pane. Loss is on a log scale (one huge early loss does not
flatten the rest) and is blank until learning starts (`learning_starts`).
"""

    class Built(Message):
        def __init__(self, text: Text | None) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = LiveRun()
        self._text: Text | None = None
        self._dirty = True
        self._building = False

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1 / REDRAW_HZ, self._redraw_if_dirty, name="metrics-redraw")

    def _register_theme(self, app_theme_name: str) -> None:
        super()._register_theme(app_theme_name)
        self._dirty = True

    def on_resize(self) -> None:
        self._dirty = True
        self._redraw_if_dirty()

    def show(self, run: LiveRun) -> None:
        """Draw ``run`` from now on (the picture follows within a second)."""
        self.run = run
        self._dirty = True

    @property
    def up_to_date(self) -> bool:
        """The picture shows the data as they are (nothing changed since the last build ended)."""
        return self._text is not None and not self._dirty and not self._building

    def prepare(self) -> MetricsFrame:
        width, height = self.content_size.width, self.content_size.height
        buckets = max(width, 10)  # braille: two dots per column, two plots side by side
        variables = self.app.theme_variables
        colours = tuple(
            Color.parse(variables.get(name, fallback)).rgb
            for name, fallback in (("error", "#ba3c5b"), ("primary", "#0178d4"))
        )
        return MetricsFrame(
            width=width,
            height=height,
            loss=self.run.loss.bucketed_xy(buckets),
            epsilon=self.run.epsilon.bucketed_xy(buckets),
            x_high=float(max(self.run.total, self.run.step, 1)),
            colours=colours,  # type: ignore[arg-type]
            theme=self._get_plotext_theme_name(self.app.theme),
            x_ticks=height >= 6,
        )

    def _redraw_if_dirty(self) -> None:
        if not self._dirty or self._building or not self.content_size.area:
            return
        self._dirty, self._building = False, True
        self._build(self.prepare())

    def redraw_now(self) -> None:
        """Prepare and build on this thread (tests)."""
        self._text = Text.from_ansi(draw_metrics(self.plt, self.prepare()))
        self.refresh()

    @work(thread=True, exclusive=True, group="metrics", exit_on_error=False)
    def _build(self, frame: MetricsFrame) -> None:
        text = None
        try:
            text = Text.from_ansi(draw_metrics(self.plt, frame))
        finally:
            self.post_message(self.Built(text))

    def on_metrics_view_built(self, message: Built) -> None:
        self._building = False
        if message.text is not None:
            self._text = message.text
            self.refresh()

    def render(self):
        return self._text if self._text is not None else Text("")
