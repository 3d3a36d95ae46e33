"""Export from the checkpoint browser (``x``): a dialog for the layout and the file, then the same
``export_checkpoint`` as ``lerax-tui export`` in a thread worker, and the result as a notification."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.core.export import FORMATS, ExportResult, default_output, output_path
from lerax_tui.tui.checkpoint_text import row_label, why_not_loaded
from lerax_tui.tui.screens.dialogs import FormDialog

FORMAT_HELP = {
    "lerax": "lerax main branch",
    "lerax-0.0.5": "lerax 0.0.5 (PyPI)",
    "lerax-tui": "ours, with manifest",
}


class ExportDialog(FormDialog[tuple[str, Path]]):
    """Ask for the layout and the output file of an export.

    Dismisses with ``(format, output path)`` or None on Escape. The browser never replaces a file:
    an existing output is refused here, with the reason (the command line has ``--force``).

    Args:
        source: The checkpoint to export (its folder and name give the default output).
        fmt: The layout selected at first.
        note: A line above the choices (e.g. the env a file without a manifest is read as).
    """

    CSS_PATH = "../checkpoints.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, source: Path, fmt: str = "lerax", *, note: str = ""):
        super().__init__(classes="lt-dialog")
        self.source = Path(source)
        self.note = note
        self.format = fmt
        self._default = default_output(self.source, fmt)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="export"):
            yield Label(f"Export {self.source.name}", id="dialog-title")
            yield Static(
                (self.note + "\n" if self.note else "") + "Read back and verified before it lands; never over a file.\n"
                "↑↓ space: layout · tab: file · enter: export · esc: cancel",
                id="dialog-message",
            )
            with Grid(id="export-grid"):
                yield Label("layout", classes="param-label")
                with RadioSet(id="export-format", compact=True):
                    for name in FORMATS:
                        yield RadioButton(
                            f"{name:<12}{FORMAT_HELP[name]}",
                            value=name == self.format,
                            id=f"format-{name.replace('.', '_')}",
                        )
                yield Label("file", classes="param-label")
                yield Input(
                    str(self._default),
                    id="export-path",
                    placeholder="where to write it (.eqx appended when missing)",
                    compact=True,
                )
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Export (enter)", id="yes", variant="primary")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.format = FORMATS[event.index]
        path = self.query_one("#export-path", Input)
        new_default = default_output(self.source, self.format)
        if path.value.strip() in ("", str(self._default)):  # not edited: follow the layout
            path.value = str(new_default)
        self._default = new_default

    def values(self) -> tuple[str, Path] | str:
        """The chosen layout and output file, or an error message."""
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            return "file: give a file name to write"
        out = Path(text).expanduser()
        if not out.is_absolute():
            out = self.source.parent / out  # relative to the checkpoint's folder, not the app's
        target, _ = output_path(out)
        if out.is_dir():
            return f"file: {out} is a folder: add a file name"
        if target.exists():
            return f"file: {target.name} exists; choose another name (the browser never replaces a file)"
        return self.format, out


class ExportFinished(Message):
    """Posted by the export worker: ``result`` (an ``ExportResult``) or ``error`` (one line)."""

    def __init__(self, source: Path, result: ExportResult | None = None, error: str | None = None):
        super().__init__()
        self.source, self.result, self.error = source, result, error


class BrowserExport(Screen):
    """The browser's export action (``CheckpointBrowserScreen`` derives from it and owns the workflow)."""

    if TYPE_CHECKING:  # what the browser provides

        def current_row(self) -> CheckpointRow | None: ...
        def rescan(self) -> None: ...
        def select_path(self, path: Path) -> None: ...

    def action_export(self) -> None:
        row = self.current_row()
        if row is None or row.listing_problem is not None:
            return
        report = row.report
        if report is None:
            self.notify("still verifying this file: export it once its status shows", timeout=3)
            return
        if not report.ok:
            self.notify(
                why_not_loaded(row).replace("not loaded", "not exported"),
                severity="error",
                title=f"{row.name}: {row_label(row)}",
            )
            return
        env_note = ""
        if report.manifest is None:
            how = "as verified against your values" if row.requested else "inferred from its records"
            env_note = f"{report.env_id} ({how}), " + ", ".join(
                f"{k}={v}" for k, v in (report.hyperparameters or {}).items() if k != "epsilon"
            )

        def answered(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.notify(f"exporting {row.path.name} as {choice[0]}…", timeout=2)
                self._export(row, choice[0], choice[1])

        self.app.push_screen(ExportDialog(row.path, note=env_note), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, row: CheckpointRow, fmt: str, out: Path) -> None:
        from lerax_tui.core.checkpoint import CheckpointError
        from lerax_tui.core.export import ExportError, ExportVerificationError, export_checkpoint

        env_id, overrides = row.requested if row.requested else (None, None)
        try:
            result = export_checkpoint(row.path, out, fmt, env_id=env_id or None, overrides=overrides)
        except (ExportError, CheckpointError, ExportVerificationError) as e:
            self.post_message(ExportFinished(row.path, error=str(e)))
            return
        except Exception as e:  # never a traceback in the UI
            self.post_message(ExportFinished(row.path, error=f"{type(e).__name__}: {e}"))
            return
        self.post_message(ExportFinished(row.path, result=result))

    def on_export_finished(self, message: ExportFinished) -> None:
        result = message.result
        if message.error is not None or result is None:
            self.notify(
                message.error or "no result", severity="error", title=f"{message.source.name}: not exported", timeout=10
            )
            return
        self.notify(
            f"{result.path}\n{result.file_bytes:,} bytes, read back: every weight identical.\n{result.constructor['call']}",
            title=f"exported as {result.format} (verified)",
            timeout=12,
        )
        self.rescan()
        self.select_path(result.path)
