"""The loss and epsilon charts under the return chart: two small plots side by side, each with a
y axis, loss on a log scale (a loss of 6e7 early on no longer flattens the rest).

No Textual here: ``draw_metrics`` takes any plotext-like object (tests pass the ``plotext`` module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lerax_tui.render.chart_scale import log_ticks, nice_limits, nice_ticks, short_number
from lerax_tui.tui.chart_data import log10_or_nan, value_range

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class MetricsFrame:
    """Attributes:
    loss, epsilon: ``(env steps, values)`` per chunk (finite values only).
    x_high: The x range's right end (the run's total steps).
    x_ticks: Label the x axis (off on short terminals, where the rows go to the data).
    """

    width: int
    height: int
    loss: tuple[np.ndarray, np.ndarray]
    epsilon: tuple[np.ndarray, np.ndarray]
    x_high: float
    colours: tuple[RGB, RGB] = ((200, 80, 80), (80, 160, 200))
    theme: str = "clear"
    x_ticks: bool = True


def fmt(value: float | None) -> str:
    """A metric's latest value in a few characters (``–`` when there is none)."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.3f}" if 1e-3 <= abs(value) < 10 else short_number(value)


def draw_metrics(plt: Any, frame: MetricsFrame) -> str:
    """Loss (log y) on the left, epsilon (0..1) on the right; an empty plot says why."""
    plt = plt.main()  # the whole figure, whichever subplot was active (plotext keeps one global)
    plt.clear_figure()
    plt.subplots(1, 2)
    plt.plotsize(frame.width, frame.height)
    if hasattr(plt, "_set_size"):
        plt._set_size(frame.width, frame.height)
    plt.theme(frame.theme)
    rows = max(frame.height - (4 if frame.x_ticks else 3), 1)
    x_high = max(frame.x_high, 1.0)
    x_ticks = nice_ticks(0, x_high, max(2, frame.width // 2 // 14)) if frame.x_ticks else []

    loss_x, loss_y = frame.loss
    sub = plt.subplot(1, 1)
    last = loss_y[-1] if loss_y.size else None
    sub.title(f"loss {fmt(last)} (log)" if loss_y.size else "loss –")
    span = value_range(loss_y, positive_only=True)
    if span is not None:
        lo_exp, hi_exp, positions, labels = log_ticks(span[0], max(span[1], span[0] * 1.0001), max(2, rows))
        sub.plot(loss_x, log10_or_nan(loss_y), marker="braille", color=frame.colours[0])
        sub.ylim(lo_exp, hi_exp)
        sub.yticks(positions, labels)
    _x_axis(sub, x_high, x_ticks)

    eps_x, eps_y = frame.epsilon
    sub = plt.subplot(1, 2)
    sub.title(f"ε {fmt(eps_y[-1] if eps_y.size else None)}")
    if eps_y.size:
        sub.plot(eps_x, eps_y, marker="braille", color=frame.colours[1])
        top = max(1.0, float(np.nanmax(eps_y)))
        lo, hi, ticks = nice_limits(0.0, top, max(1, rows - 1))
        sub.ylim(lo, hi)
        sub.yticks(ticks, [short_number(t) for t in ticks])
    _x_axis(sub, x_high, x_ticks)
    return str(plt.build())


def _x_axis(sub: Any, x_high: float, ticks: list[float]) -> None:
    sub.xlim(0, x_high)
    sub.xticks(ticks, [short_number(t) for t in ticks])
