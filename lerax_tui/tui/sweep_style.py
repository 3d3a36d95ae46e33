"""Each configuration of a sweep keeps one colour and one marker wherever it is drawn (the curves,
the legend, the leaderboard, the sensitivity plots), so it is told apart with or without colour
(``NO_COLOR``). No Textual here."""

from __future__ import annotations

from rich.text import Text

PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
    (127, 127, 127),
)
"""Tableau's ten categorical colours: distinct on dark and light themes alike."""
MARKERS: tuple[str, ...] = ("o", "x", "+", "*", "#", "@", "%", "&", "$", "=")
"""Plain characters plotext draws as points and any terminal shows."""


def colour(index: int) -> tuple[int, int, int]:
    """Configuration ``index``'s colour (the palette repeats every ten)."""
    return PALETTE[index % len(PALETTE)]


def marker(index: int) -> str:
    """Configuration ``index``'s marker; shifted every ten so no two of the first hundred share
    both colour and marker."""
    return MARKERS[(index + index // len(PALETTE)) % len(MARKERS)]


def swatch(index: int, label: str, *, bold: bool = False) -> Text:
    """``o lr=0.001`` in the configuration's colour (its marker first: readable without colour)."""
    r, g, b = colour(index)
    style = f"{'bold ' if bold else ''}rgb({r},{g},{b})"
    return Text.assemble((f"{marker(index)} ", style), (label, style if bold else ""))
