"""Table columns that fit the width they get: the most important first, the rest only when they fit,
numbers never cut, names cut where they still tell rows apart.

Shared by the Runs table and the checkpoint browser (80 columns is a terminal people use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """A column the table may show.

    Attributes:
        key: The DataTable column key.
        label: The header.
        width: Its width: the widest cell (numbers are never cut) or, for ``flex``, the least it
            may be given.
        priority: Lower is kept first when the width runs out.
        flex: Takes the room the kept columns leave (a name, cut to fit).
        most: A flex column never grows past this (its widest cell).
        right: Its cells (numbers) are right-aligned, and so is its header.
        want: For a flex column: the width it takes, once the columns up to ``want_priority``
            are kept, before any column after them (a name whole beats one more column).
        want_priority: See ``want``.
    """

    key: str
    label: str
    width: int
    priority: int
    flex: bool = False
    most: int | None = None
    right: bool = False
    want: int | None = None
    want_priority: float = 0.5


def fit_columns(columns: Sequence[Column], available: int, *, gap: int = 2) -> list[tuple[Column, int]]:
    """The columns to show and their widths, in ``columns``' order.

    Columns are kept by priority while each one fits (its ``width`` plus ``gap``: the DataTable's
    cell padding); a flex column's ``want`` is reserved at its ``want_priority`` like one more
    column; the room left goes to the flex columns, up to their ``most``. The first column by
    priority is always kept.
    """

    def least(column: Column) -> int:
        return max(column.width, len(column.label) if not column.flex else 1)

    # (priority, column, width it asks for, whether it is a flex column's extra)
    asks: list[tuple[float, Column, int, bool]] = [(c.priority, c, least(c) + gap, False) for c in columns]
    for c in columns:
        if c.flex and c.want is not None:
            most = c.most if c.most is not None else c.want
            extra = min(c.want, most) - least(c)
            if extra > 0:
                asks.append((c.want_priority, c, extra, True))
    reserved: dict[str, int] = {}
    used = 0
    for _, column, width, extra in sorted(asks, key=lambda a: a[0]):
        if extra:
            if column.key in reserved and used + width <= available:
                reserved[column.key] += width
                used += width
        elif not reserved or used + width <= available:
            reserved[column.key] = width - gap
            used += width
    left = max(0, available - used)
    widths: dict[str, int] = {}
    for column in columns:
        if column.key not in reserved:
            continue
        width = reserved[column.key]
        if column.flex:
            grow = left if column.most is None else min(left, max(0, column.most - width))
            width, left = width + grow, left - grow
        widths[column.key] = width
    return [(c, widths[c.key]) for c in columns if c.key in widths]


def cut_middle(text: str, width: int) -> str:
    """``text`` in ``width`` characters, cut in the middle (``CartPo…0-abc123``): the end, which
    tells run folders and files apart, stays whole."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1) // 3
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head) :]


def cut_left(text: str, width: int) -> str:
    """``text`` in ``width`` characters, cut from the left (``…step-000050000``)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    return ELLIPSIS + text[len(text) - (width - 1) :]


def cut_right(text: str, width: int) -> str:
    """``text`` in ``width`` characters, cut at the right (``seed-1-step…``)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    return text[: width - 1] + ELLIPSIS
