"""Episode return against env steps, wall time or episodes: raw returns faint, a smoothed line on
top, a band over seeds, and past runs overlaid. Redrawn by a timer only when something changed.

The live run's data belong to the :class:`LiveRun` the main screen hands down; the chart only reads
them (and the overlays' histories, handed down the same way). What it shows is chosen with its keys
(:class:`ChartSettings`); the data under those settings come from :mod:`lerax_tui.tui.chart_data`
and the picture from :mod:`lerax_tui.tui.chart_draw`, both testable without an app.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.color import Color
from textual.message import Message
from textual_plotext import PlotextPlot

from lerax_tui.tui.chart_draw import Drawn, draw, legend
from lerax_tui.tui.chart_frame import ChartRequest, make_frame
from lerax_tui.tui.chart_settings import ChartSettings
from lerax_tui.tui.history import ReturnHistory
from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.live_run import LiveRun

REDRAW_HZ = 2  # the drain runs at 4 Hz; the chart, the costly part, at 2 Hz


@dataclass
class Overlay:
    label: str
    history: ReturnHistory


class ReturnChart(PlotextPlot, can_focus=True):
    """The chart. Its data are bucketed on the UI thread (a few ms, numpy); plotext's text build,
    the slow part, runs in a thread worker so key presses never wait behind it."""

    BINDINGS = [
        Binding("s", "smoothing", "Smoothing window", id="chart.smoothing"),
        Binding("l", "log_y", "Log / linear y", id="chart.log_y"),
        Binding("x", "x_axis", "X axis: steps / time / episodes", id="chart.x_axis"),
        Binding("b", "band", "Seed band: min-max / std / 95% CI", id="chart.band"),
        Binding("z", "zoom", "Zoom to the last 50/20/10%", id="chart.zoom"),
        Binding("0", "zoom_out", "Zoom out to the whole run", id="chart.zoom_out"),
        Binding("p", "pin_y", "Pin / unpin the y range", id="chart.pin_y"),
    ]

    HELP = """\
## Return chart

Episode return (per seed) against environment steps, wall time or episodes. The faint dots are raw
returns averaged per column, the bright line the smoothed return (trailing mean over the last
episodes of each seed: 20 by default, `s` cycles 50, 100, off, 5). With several seeds the bright
line is their mean and the shaded band spans their min-max, ±1 standard deviation or the 95%
confidence interval of the mean (Student's t; `b` cycles). A mark (`x`, then `+`, `o`, ... for
overlays) is a periodic greedy evaluation (`eval_interval`; mean over seeds); where more fall in
one column than fit, they are averaged into one. Runs ticked in the **Runs** tab are overlaid in
other colours; one still being written by another process grows live.

`l` log-y (returns above 0 only), `x` x axis, `z` zoom to the last 50/20/10% (`0` back to the
whole run), `p` pins the y range shown now (again to follow the data). Tab here to use the keys;
ctrl+p reaches them from anywhere.
"""

    class Built(Message):
        """The build worker's result (``text`` and ``drawn`` None when plotext raised)."""

        def __init__(self, text: Text | None, drawn: Drawn | None, elapsed: float) -> None:
            super().__init__()
            self.text, self.drawn, self.elapsed = text, drawn, elapsed

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = LiveRun()
        self.overlays: dict[str, Overlay] = {}
        self.settings = ChartSettings()
        self._dirty = True
        self._building = False
        self._plt_lock = threading.Lock()
        self._text: Text | None = None
        self._y_range: tuple[float, float] | None = None
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

    # --- the user's settings -----------------------------------------------------------------------

    def apply_settings(self, settings: ChartSettings) -> None:
        self.settings = settings
        self._dirty = True
        self._redraw_if_dirty()

    def action_smoothing(self) -> None:
        self.apply_settings(self.settings.next_smoothing())
        window = self.settings.smoothing
        self.notify(f"smoothing: {window} episodes" if window else "smoothing off: raw returns", timeout=2)

    def action_log_y(self) -> None:
        self.apply_settings(self.settings.toggle_log_y())

    def action_x_axis(self) -> None:
        self.apply_settings(self.settings.next_x_axis())

    def action_band(self) -> None:
        self.apply_settings(self.settings.next_band())
        self.notify(f"seed band: {self.settings.band.value}", timeout=2)

    def action_zoom(self) -> None:
        self.apply_settings(self.settings.next_zoom())

    def action_zoom_out(self) -> None:
        self.apply_settings(self.settings.zoom_out())

    def action_pin_y(self) -> None:
        if self.settings.pinned_y is None and self._y_range is None:
            self.notify("Nothing drawn yet: no y range to pin.", timeout=3)
            return
        self.apply_settings(self.settings.pin_y(self._y_range))

    # --- drawing ---------------------------------------------------------------------------------

    def _redraw_if_dirty(self) -> None:
        if not self._dirty or self._building or not self.size.area:
            return
        self._dirty = False
        self._building = True
        self._build(self.prepare(self.size.width, self.size.height))

    def prepare(self, width: int, height: int) -> ChartRequest:
        """UI thread: freeze what the build will draw (views of the histories, no copies)."""
        return ChartRequest(
            width=width,
            height=height,
            settings=self.settings,
            live_label=self.run.label,
            live=self.run.history.snapshot(),
            overlays=[(o.label, o.history.snapshot()) for o in self.overlays.values()],
            colours=self._colours(),
            theme=self._get_plotext_theme_name(self.app.theme),
            train_key=key_label(self.app, "train.toggle"),
        )

    def build_text(self, request: ChartRequest) -> tuple[Text, Drawn]:
        """Any thread: bucket the histories, draw; the legend line and the plot as Text. plotext's
        figure is one shared object, so builds take turns (``redraw_now`` on the UI thread waits
        for a build the timer started in a worker, instead of drawing into the same figure)."""
        frame = make_frame(request)
        with self._plt_lock:
            drawn = draw(self.plt, frame)
        text = legend(frame, frame.width)
        text.append("\n")
        text.append_text(Text.from_ansi(drawn.text))
        return text, drawn

    def redraw_now(self) -> float:
        """Prepare and build on this thread (benchmarks, tests); returns the seconds it took."""
        start = time.perf_counter()
        text, drawn = self.build_text(self.prepare(self.size.width, self.size.height))
        self._show(text, drawn, time.perf_counter() - start)
        return self.last_draw_s

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def _build(self, request: ChartRequest) -> None:
        start = time.perf_counter()
        text, drawn = None, None
        try:
            text, drawn = self.build_text(request)
        finally:  # a failed build still ends the build: the next change draws again
            self.post_message(self.Built(text, drawn, time.perf_counter() - start))

    def on_return_chart_built(self, message: Built) -> None:
        self._building = False
        if message.text is not None and message.drawn is not None:
            self._show(message.text, message.drawn, message.elapsed)

    def _show(self, text: Text, drawn: Drawn, elapsed: float) -> None:
        self._text, self.last_draw_s = text, elapsed
        if drawn.y_range is not None:
            self._y_range = drawn.y_range
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
