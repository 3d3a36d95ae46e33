"""Checkpoint browser (placeholder until the browser issue lands; another engineer replaces it).

Opened with ctrl+o. The browser can later call ``app.load_config_into_form(env_id, config)`` and
``app.start_training(...)`` to continue training from a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class CheckpointBrowserScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="browser.back")]

    HELP = """\
## Checkpoint browser

Not built yet: it will list checkpoints under the runs folder, verify them and continue training.
**Escape** goes back.
"""

    def __init__(self, runs_dir: Path, checkpoints_dir: Path | None = None) -> None:
        super().__init__(id="browser")
        self.runs_dir = Path(runs_dir)
        self.checkpoints_dir = Path(checkpoints_dir) if checkpoints_dir else None

    def compose(self) -> ComposeResult:
        where = self.checkpoints_dir or self.runs_dir
        with Vertical(id="browser-body"):
            yield Static(f"[b]Checkpoint browser[/b]\n\n{where}\n\nComing soon. Escape to go back.", id="browser-placeholder")
        yield Footer()
