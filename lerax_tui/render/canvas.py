"""A character canvas and the layout helpers every renderer shares.

Renderers draw into a :class:`Canvas` (one character and one style per terminal cell) and lay pieces
out with :func:`hstack` / :func:`vstack`; :func:`fit` is the last step that guarantees the requested
size. Terminal cells are about twice as tall as they are wide, so drawings that should look
geometrically right (a pole's angle, a link's length) scale x by :data:`ASPECT`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text

ASPECT = 2.0  # a terminal cell is about twice as tall as it is wide

_MISSING = object()


def field(state: Any, name: str, default: Any = _MISSING) -> np.ndarray:
    """Read ``name`` from a state as a numpy array, looking through wrapper states.

    Wrappers (this project's ``GymnaxEnvState``, gymnax's ``LogEnvState``) keep the real state in
    ``env_state``; the first object along that chain with the attribute wins.

    Args:
        state: A gymnax ``EnvState``, a wrapper around one, or any object with the attribute.
        name: The attribute to read.
        default: Returned (as an array) when no object in the chain has ``name``.

    Returns:
        ``np.asarray`` of the attribute.

    Raises:
        AttributeError: If ``name`` is missing and no default was given.
    """
    seen = 0
    obj = state
    while obj is not None and seen < 8:
        if hasattr(obj, name):
            return np.asarray(getattr(obj, name))
        obj = getattr(obj, "env_state", None)
        seen += 1
    if default is _MISSING:
        raise AttributeError(f"state {type(state).__name__} has no field {name!r}")
    return np.asarray(default)


def env_attr(env: Any, name: str) -> Any:
    """An attribute of a gymnax env, looking through adapters and wrappers (``.env``, ``._env``).

    Returns None when ``env`` is None or nothing along the chain has ``name``.
    """
    for _ in range(8):
        if env is None:
            return None
        if hasattr(env, name):
            return getattr(env, name)
        env = getattr(env, "env", None) or getattr(env, "_env", None)
    return None


def scalar(state: Any, name: str, default: Any = _MISSING) -> float:
    """A state field as a python float (the first element of an array field)."""
    value = field(state, name, default)
    return float(value.reshape(-1)[0]) if value.size else float("nan")


def param(params: Any, name: str, default: float) -> float:
    """An env parameter as a float, or ``default`` when ``params`` is None or lacks it."""
    if params is None or not hasattr(params, name):
        return default
    return float(np.asarray(getattr(params, name)).reshape(-1)[0])


class Canvas:
    """A fixed-size grid of characters, each with an optional rich style.

    Coordinates are (x, y) with x the column and y the row from the top; anything outside the
    canvas is silently clipped, so callers never have to check bounds.
    """

    def __init__(self, width: int, height: int):
        self.width = max(0, int(width))
        self.height = max(0, int(height))
        self._chars = [[" "] * self.width for _ in range(self.height)]
        self._styles: list[list[Style | str | None]] = [[None] * self.width for _ in range(self.height)]

    def put(self, x: float, y: float, char: str, style: Style | str | None = None) -> None:
        """Set one cell (rounded to the nearest cell; clipped when outside or not finite)."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        col, row = int(round(x)), int(round(y))
        if 0 <= row < self.height and 0 <= col < self.width:
            self._chars[row][col] = char[:1] or " "
            self._styles[row][col] = style

    def get(self, x: int, y: int) -> str:
        """The character at a cell (a space outside the canvas)."""
        if 0 <= y < self.height and 0 <= x < self.width:
            return self._chars[y][x]
        return " "

    def write(self, x: int, y: int, text: str, style: Style | str | None = None) -> None:
        """Write a string left to right from (x, y), clipped at the right edge."""
        for i, ch in enumerate(text):
            self.put(x + i, y, ch, style)

    def hline(self, x0: int, x1: int, y: int, char: str = "─", style: Style | str | None = None) -> None:
        """A horizontal run of ``char`` from x0 to x1 inclusive."""
        for x in range(min(x0, x1), max(x0, x1) + 1):
            self.put(x, y, char, style)

    def line(self, x0: float, y0: float, x1: float, y1: float, style: Style | str | None = None) -> None:
        """Draw a straight line with characters that follow its slope.

        Steep lines use ``│`` and step with ``/`` or ``\\`` where the column changes, shallow ones use
        ``─`` and step where the row changes, diagonals use ``/`` or ``\\`` throughout. The slope is
        judged as seen on screen (x scaled by :data:`ASPECT`).
        """
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            return
        dx, dy = x1 - x0, y1 - y0
        steps = int(math.ceil(max(abs(dx), abs(dy)))) or 1
        # Screen y grows downwards, so a line going up and right has dx*dy < 0 and looks like "/".
        rising = (dx * dy) < 0
        diag = "/" if rising else "\\"
        angle = math.degrees(math.atan2(abs(dy) * ASPECT, abs(dx))) if (dx or dy) else 90.0
        points = []
        for i in range(steps + 1):
            t = i / steps
            points.append((int(round(x0 + dx * t)), int(round(y0 + dy * t))))
        for i, (x, y) in enumerate(points):
            if angle >= 67.5:
                prev_x = points[i - 1][0] if i else x
                char = diag if x != prev_x else "│"
            elif angle <= 22.5:
                prev_y = points[i - 1][1] if i else y
                char = diag if y != prev_y else "─"
            else:
                char = diag
            self.put(x, y, char, style)

    def to_text(self) -> Text:
        """The canvas as a multi-line rich Text, trailing blank cells removed."""
        out = Text()
        for row in range(self.height):
            chars, styles = self._chars[row], self._styles[row]
            end = self.width
            while end > 0 and chars[end - 1] == " " and styles[end - 1] is None:
                end -= 1
            start = 0
            while start < end:
                stop = start
                while stop < end and styles[stop] == styles[start]:
                    stop += 1
                out.append("".join(chars[start:stop]), style=styles[start])
                start = stop
            if row < self.height - 1:
                out.append("\n")
        return out


def lines_of(text: Text) -> list[Text]:
    """Split a Text into its lines (an empty Text is no lines)."""
    if not text.plain:
        return []
    return list(text.split("\n", allow_blank=True))


def vstack(*parts: Text | str | None) -> Text:
    """Join texts top to bottom (None and empty parts are skipped)."""
    pieces = [Text(p) if isinstance(p, str) else p for p in parts if p]
    return Text("\n").join(pieces)


def hstack(left: Text, right: Text, gap: int = 2) -> Text:
    """Put ``right`` beside ``left``, padding ``left``'s lines to a common width."""
    left_lines, right_lines = lines_of(left), lines_of(right)
    left_width = max((line.cell_len for line in left_lines), default=0)
    rows = []
    for i in range(max(len(left_lines), len(right_lines))):
        row = left_lines[i].copy() if i < len(left_lines) else Text()
        if i < len(right_lines) and right_lines[i].plain:
            row.pad_right(left_width - row.cell_len + gap)
            row.append_text(right_lines[i])
        rows.append(row)
    return Text("\n").join(rows)


def width_of(text: Text) -> int:
    """The widest line of a Text, in terminal cells."""
    return max((line.cell_len for line in lines_of(text)), default=0)


def fit(text: Text, width: int, height: int) -> Text:
    """Crop a Text to at most ``height`` lines of at most ``width`` cells each."""
    width, height = max(0, int(width)), max(0, int(height))
    rows = lines_of(text)[:height]
    cropped = []
    for row in rows:
        row = row.copy()
        if row.cell_len > width:
            row.truncate(width, overflow="crop")
        row.rstrip()
        cropped.append(row)
    return Text("\n").join(cropped)


def fmt(value: float, digits: int = 3) -> str:
    """A short signed number with about ``digits + 1`` significant figures: ``+0.123``, ``-12.35``,
    ``+1234``, ``+1.23e+05``, ``nan``."""
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("+inf" if value > 0 else "-inf")
    size = abs(value)
    if size != 0 and (size >= 1e5 or size < 10**-digits):
        return f"{value:+.{max(digits - 1, 1)}e}"
    decimals = digits - int(math.floor(math.log10(size))) if size >= 1 else digits
    return f"{value:+.{max(decimals, 0)}f}"


def signed_bar(value: float, scale: float, half: int, style: str = "cyan", negative_style: str = "magenta") -> Text:
    """A bar around a centre axis: negative values grow left of ``│``, positive ones right.

    Args:
        value: The value to draw.
        scale: The magnitude that fills a half (values beyond it are clipped).
        half: Cells on each side of the axis.
        style: Style of positive bars.
        negative_style: Style of negative bars.
    """
    half = max(0, half)
    cells = 0 if not (math.isfinite(value) and scale > 0) else min(half, int(round(abs(value) / scale * half)))
    if math.isfinite(value) and value != 0 and scale > 0 and cells == 0 and half:
        cells = 1  # a non-zero value never looks like zero
    bar = Text()
    if value < 0:
        bar.append(" " * (half - cells))
        bar.append("█" * cells, style=negative_style)
        bar.append("│", style="dim")
        bar.append(" " * half)
    else:
        bar.append(" " * half)
        bar.append("│", style="dim")
        bar.append("█" * cells, style=style)
        bar.append(" " * (half - cells))
    return bar
