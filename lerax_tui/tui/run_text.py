"""What the Runs table, the run summary and the compare view say about a run (text only, no widgets)."""

from __future__ import annotations

from rich.text import Text

from lerax_tui.train.outcome import RunStatus
from lerax_tui.train.run_summary import RunSummary, started_label
from lerax_tui.tui.columns import Column, cut_left

OVERLAY_MARKERS = ("●", "▲", "■", "◆", "✚", "○", "△", "□")
"""The marker of the K-th overlaid run on the chart and in the Runs table's tick column, so overlays
are told apart without colour (NO_COLOR) too."""

STATUS_STYLE = {
    RunStatus.RUNNING: "bold green",
    RunStatus.FINISHED: "",
    RunStatus.STOPPED: "yellow",
    RunStatus.FAILED: "bold red",
    RunStatus.INTERRUPTED: "dim",
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


def table_columns(summaries: list[RunSummary], *, compact: bool = False) -> list[Column]:
    """The Runs table's columns in display order, each as wide as its widest cell (``compact``:
    steps as ``1M``, for a narrow pane)."""

    def widest(cells: list[str], least: int) -> int:
        return max([least, *(len(c) for c in cells)])

    return [
        Column("tick", " ", 1, priority=0),
        Column("name", "run", 12, priority=1, flex=True, most=widest([short_name(s) for s in summaries], 12)),
        Column("status", "status", widest([str(s.status) for s in summaries], 6), priority=2),
        Column(
            "steps",
            "steps",
            widest([format_steps(s.step, compact=compact) for s in summaries], 5),
            priority=3,
            right=True,
        ),
        Column("final", "final", widest([format_return(s.final) for s in summaries], 5), priority=5, right=True),
        Column("best", "best", widest([format_return(s.best) for s in summaries], 4), priority=4, right=True),
        Column("seeds", "seeds", 5, priority=6, right=True),
        Column("env", "env", widest([s.env_id for s in summaries], 3), priority=7),
        Column("started", "started", 11, priority=8),
    ]


def row_cells(
    summary: RunSummary, keys: list[str], widths: dict[str, int], marker: str | None, *, compact: bool = False
) -> list[str | Text]:
    """One run's cells for the shown columns ``keys``; a name too long for its width is cut from the
    left, so the time and the hex that tell runs apart stay (``…120000-abc123``)."""
    cells: dict[str, str | Text] = {
        "tick": Text(marker, style="bold") if marker else Text(" "),
        "name": cut_left(short_name(summary), widths.get("name", 64)),
        "status": status_text(summary.status),
        # numbers right-aligned, with the space after them that a text column has after its text
        "steps": Text(format_steps(summary.step, compact=compact) + " ", justify="right"),
        "final": Text(format_return(summary.final) + " ", justify="right"),
        "best": Text(format_return(summary.best) + " ", justify="right"),
        "seeds": Text(f"{summary.num_seeds} ", justify="right"),
        "env": summary.env_id,
        "started": short_started(summary),
    }
    return [cells[k] for k in keys]
