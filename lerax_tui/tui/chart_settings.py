"""What the user chose for the return chart: smoothing, log-y, x-axis, seed band, zoom, pinned y.

No Textual here: each key of the chart steps one of these settings, and the drawing reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

SMOOTHING_WINDOWS = (20, 50, 100, 0, 5)
"""Episodes per trailing mean, in the order the smoothing key cycles them (0: off, raw returns)."""

ZOOMS = (1.0, 0.5, 0.2, 0.1)
"""Fractions of the x range shown (the last ones), in the order the zoom key cycles them."""


class XAxis(StrEnum):
    STEPS = "env steps"
    WALL = "wall time"
    EPISODES = "episodes"


class Band(StrEnum):
    """What the shaded band around the mean of several seeds spans."""

    MINMAX = "min-max"
    STD = "±1 std"
    CI95 = "95% CI"


def _next(options: tuple[T, ...], current: T) -> T:
    index = options.index(current) if current in options else -1
    return options[(index + 1) % len(options)]


@dataclass(frozen=True)
class ChartSettings:
    """Attributes:
    smoothing: Episodes in the trailing mean of the bright line (0: off).
    log_y: Returns on a log scale (only where they are all positive).
    x_axis: What x measures.
    band: What the band over seeds spans.
    zoom: The fraction of the x range shown, the most recent part (1.0: everything).
    pinned_y: A fixed y range ``(low, high)`` in returns, or None to follow the data.
    """

    smoothing: int = SMOOTHING_WINDOWS[0]
    log_y: bool = False
    x_axis: XAxis = XAxis.STEPS
    band: Band = Band.MINMAX
    zoom: float = 1.0
    pinned_y: tuple[float, float] | None = None

    def next_smoothing(self) -> ChartSettings:
        return replace(self, smoothing=_next(SMOOTHING_WINDOWS, self.smoothing))

    def toggle_log_y(self) -> ChartSettings:
        return replace(self, log_y=not self.log_y, pinned_y=None)  # a pin in one scale means little in the other

    def next_x_axis(self) -> ChartSettings:
        return replace(self, x_axis=_next(tuple(XAxis), self.x_axis))

    def next_band(self) -> ChartSettings:
        return replace(self, band=_next(tuple(Band), self.band))

    def next_zoom(self) -> ChartSettings:
        return replace(self, zoom=_next(ZOOMS, self.zoom))

    def zoom_out(self) -> ChartSettings:
        return replace(self, zoom=1.0)

    def pin_y(self, shown: tuple[float, float] | None) -> ChartSettings:
        """Pin the y range ``shown`` now, or unpin when one is pinned."""
        return replace(self, pinned_y=None if self.pinned_y is not None else shown)

    def describe(self) -> list[str]:
        """The settings that differ from the defaults, shortly (for the chart's axis line)."""
        parts = [f"smooth {self.smoothing}" if self.smoothing else "raw"]
        if self.log_y:
            parts.append("log y")
        if self.zoom < 1.0:
            parts.append(f"last {self.zoom:.0%}")
        if self.pinned_y is not None:
            parts.append("y pinned")
        return parts
