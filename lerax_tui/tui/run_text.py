"""What the Runs table, the run summary and the compare view say about a run (text only, no widgets)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from rich.text import Text

from lerax_tui.train.outcome import RunStatus
from lerax_tui.train.run_summary import RunSummary, started_label
from lerax_tui.tui.columns import Column, cut_left, cut_right
from lerax_tui.tui.runs_listing import (
    Listing,
    SweepFigures,
    SweepListing,
    SweepMember,
    member_returns,
    member_status,
    sweep_figures,
)

OVERLAY_MARKERS = ("●", "▲", "■", "◆", "✚", "○", "△", "□")
"""The marker of the K-th overlaid run on the chart and in the Runs table's tick column, so overlays
are told apart without colour (NO_COLOR) too."""

STATUS_STYLE: dict[str, str] = {
    RunStatus.RUNNING: "bold green",
    RunStatus.FINISHED: "",
    RunStatus.STOPPED: "yellow",
    RunStatus.FAILED: "bold red",
    RunStatus.INTERRUPTED: "dim",
    "pending": "dim",
    "damaged": "bold red",
}

DASH = "–"


def overlay_marker(index: int) -> str:
    return OVERLAY_MARKERS[index % len(OVERLAY_MARKERS)]


def format_return(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.1f}" if abs(value) < 100_000 else f"{value:.3g}"


def format_steps(value: int | None, *, compact: bool = False) -> str:
    """``1,000,000``, or with ``compact`` ``1M`` / ``12.5k`` (3 significant digits, never cut)."""
    if value is None:
        return DASH
    if compact and value >= 10_000:
        for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if value >= size:
                return f"{value / size:.3g}{suffix}"
    return f"{value:,}"


def status_text(status: RunStatus) -> Text:
    return Text(str(status), style=STATUS_STYLE.get(status, ""))


def short_name(summary: RunSummary) -> str:
    """The folder's name without its env prefix (the env has its own column): ``20261124-120000-abc123``."""
    prefix = summary.env_id + "-"
    return (
        summary.name[len(prefix) :]
        if summary.name.startswith(prefix) and len(summary.name) > len(prefix)
        else summary.name
    )


def short_started(summary: RunSummary) -> str:
    """``11-24 12:00`` (the year only in the summary)."""
    label = started_label(summary)
    return label[5:] if len(label) == 16 else label


@dataclass(frozen=True)
class Row:
    """One line of the Runs table: its key (a folder's path), plain text by column key, and how
    the name is cut when it does not fit (a run's from the left, keeping its time and hex; a sweep
    member's from the right, keeping its first values)."""

    key: str
    cells: dict[str, str]
    cut_right: bool = False
    keep: int = 0  # the name's first characters that are never cut (``sweep ``, ``├ ``)
    short_name: str = ""  # the name when the full one does not fit (a member's values without keys)


NUMERIC = ("steps", "final", "best", "seeds")


def run_row(summary: RunSummary, marker: str | None, *, compact: bool = False) -> Row:
    """A plain run's row (``compact``: steps as ``1M``, for a narrow pane)."""
    return Row(
        str(summary.path),
        {
            "tick": marker or " ",
            "name": short_name(summary),
            "status": str(summary.status),
            "steps": format_steps(summary.step, compact=compact),
            "final": format_return(summary.final),
            "best": format_return(summary.best),
            "seeds": str(summary.num_seeds),
            "env": summary.env_id,
            "started": short_started(summary),
        },
    )


def waiting_row(key: str, name: str) -> Row:
    """A run listed whose figures are still being read."""
    return Row(key, {"tick": " ", "name": name, "status": "…"})


def sweep_row(sweep: SweepListing, figures: SweepFigures, *, expanded: bool, compact: bool = False) -> Row:
    """A sweep's own row: ▸ (▾ when its members are shown), its status over the members, the least
    steps a member has made, its best member's final and best, configurations × seeds."""
    seeds = f"{figures.configs}×{figures.seeds}" if figures.seeds is not None else str(figures.configs)
    started = sweep.created or ""
    return Row(
        str(sweep.path),
        keep=len("sweep ") if sweep.short_name.startswith("sweep ") else 0,
        cells={
            "tick": "▾" if expanded else "▸",
            "name": sweep.short_name,
            "status": str(figures.status),
            "steps": format_steps(figures.step, compact=compact),
            "final": format_return(figures.final),
            "best": format_return(figures.best),
            "seeds": seeds,
            "env": sweep.env_id,
            "started": _started_short(started),
        },
    )


def member_row(
    member: SweepMember, summary: RunSummary | None, marker: str | None, *, last: bool, compact: bool = False
) -> Row:
    """A sweep member's row, under its sweep: ``├ lr 0.001, gamma 0.9`` and its own figures."""
    branch = "└ " if last else "├ "
    name, short = branch + member.label, (branch + member.values) if member.values else ""
    status = str(member_status(member, summary))
    cells = {"tick": marker or " ", "name": name, "status": status}
    if summary is not None:
        final, best = member_returns(member, summary)
        cells = {**run_row(summary, marker, compact=compact).cells, **cells}
        cells.update(final=format_return(final), best=format_return(best))
    return Row(str(member.path), cells, cut_right=True, keep=2, short_name=short)


def _started_short(iso: str) -> str:
    try:
        when = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return "?"
    return when.astimezone().strftime("%m-%d %H:%M")


def table_columns(rows: list[Row]) -> list[Column]:
    """The Runs table's columns in display order, each as wide as its widest cell."""

    def widest(key: str, least: int) -> int:
        return max([least, *(len(r.cells.get(key, "")) for r in rows)])

    return [
        Column("tick", " ", 1, priority=0),
        Column("name", "run", 12, priority=1, flex=True, most=widest("name", 12)),
        Column("status", "status", widest("status", 6), priority=2),
        Column("steps", "steps", widest("steps", 5), priority=3, right=True),
        Column("final", "final", widest("final", 5), priority=5, right=True),
        Column("best", "best", widest("best", 4), priority=4, right=True),
        Column("seeds", "seeds", widest("seeds", 5), priority=6, right=True),
        Column("env", "env", widest("env", 3), priority=7),
        Column("started", "started", 11, priority=8),
    ]


def row_cells(row: Row, keys: list[str], widths: dict[str, int]) -> list[str | Text]:
    """A row's cells for the shown columns ``keys``: a name too long for its width is cut (see
    :class:`Row`), numbers right-aligned, the status in its colour."""
    out: list[str | Text] = []
    for key in keys:
        value = row.cells.get(key, "")
        if key == "tick":
            out.append(Text(value, style="bold") if value.strip() else Text(" "))
        elif key == "name":
            width = widths.get("name", 64) - row.keep
            if row.short_name and len(value) - row.keep > width:
                value = row.short_name
            rest = value[row.keep :]
            out.append(value[: row.keep] + (cut_right(rest, width) if row.cut_right else cut_left(rest, width)))
        elif key == "status":
            out.append(Text(value, style=STATUS_STYLE.get(value, "")))
        elif key in NUMERIC:
            # right-aligned, with the space after them that a text column has after its text
            out.append(Text(value + " ", justify="right") if value else "")
        else:
            out.append(value)
    return out


def table_rows(
    listing: Listing,
    summaries: dict[str, RunSummary],
    tick_order: list[str],
    expanded: set[str],
    *,
    compact: bool = False,
) -> list[Row]:
    """The Runs table's rows, newest first: each run; each sweep, with its members under it when
    it is in ``expanded``; the K-th ticked run (``tick_order``) carries the K-th marker."""
    markers = {key: overlay_marker(i) for i, key in enumerate(tick_order)}
    rows: list[Row] = []
    for item in listing.items():
        key = str(item.path)
        if isinstance(item, SweepListing):
            rows.append(sweep_row(item, sweep_figures(item, summaries), expanded=key in expanded, compact=compact))
            if key in expanded:
                for i, member in enumerate(item.members):
                    path, last = str(member.path), i == len(item.members) - 1
                    rows.append(member_row(member, summaries.get(path), markers.get(path), last=last, compact=compact))
        elif key in summaries:
            rows.append(run_row(summaries[key], markers.get(key), compact=compact))
        else:  # listed, figures still being read
            rows.append(waiting_row(key, item.name))
    return rows
