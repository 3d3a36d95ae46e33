"""CSV exports from the Runs tab, the run summary and the compare view: written in a thread worker
of the widget or screen that asked (files are written atomically by ``train.run_export``), the
result said in a notification back on the UI thread."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

from textual.widget import Widget

from lerax_tui.train.run_export import export_metrics


def export_in_worker(node: Widget, write: Callable[[], str], out: Path) -> None:
    """Run ``write`` (it writes ``out`` and returns the notice) in a thread worker of ``node``; an
    ``OSError`` becomes an ``export failed`` notice instead."""

    def job() -> None:
        try:
            text, severity = write(), "information"
        except OSError as e:
            text, severity = f"export failed: {e.strerror or e} ({out})", "error"
        node.app.call_from_thread(node.notify, text, severity=severity, timeout=8)

    node.run_worker(job, thread=True, exit_on_error=False, group="csv-export")


def export_run_metrics(node: Widget, run_dir: Path, out: Path) -> None:
    """A run's metrics (a row per chunk) to ``out``, in a worker of ``node``."""

    def write() -> str:
        written, rows = export_metrics(run_dir, out)
        when = _dt.datetime.now().strftime("%H:%M:%S")
        return f"{rows:,} rows of {run_dir.name} → {written} ({when})"

    export_in_worker(node, write, out)
