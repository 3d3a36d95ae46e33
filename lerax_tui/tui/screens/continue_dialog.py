"""Before continuing from a policy's weights alone (a lerax file, or a checkpoint whose run holds no
resume state for its step): where exploration starts.

A trained policy's first episodes should not look random, so epsilon starts at the config's
``epsilon_end`` unless the user types another value here. An exact continuation (a resume state)
keeps its own schedule and never asks.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.screens.dialogs import CSS_PATH, FormDialog


class ContinueFromWeightsDialog(FormDialog[float]):
    """Ask for the epsilon the new run's exploration starts at (default ``epsilon_end``).

    Dismisses with the value (from ``epsilon_end`` to 1) or None on Escape.

    Args:
        source: The checkpoint's name, for the title.
        note: What will happen (fresh replay buffer, new run folder).
        epsilon_end: The new run's ``epsilon_end``: the default and the lowest value allowed.
    """

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, source: str, *, note: str, epsilon_end: float) -> None:
        super().__init__(classes="lt-dialog")
        self._source, self._note, self.epsilon_end = source, note, epsilon_end

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="params"):
            yield Label(f"Continue training from {self._source}", id="dialog-title")
            yield Static(
                f"{self._note}\nExploration starts at epsilon_end ({self.epsilon_end:g}), so a trained policy's "
                "first episodes are not random; type 1 to explore from scratch.",
                id="dialog-message",
            )
            with Grid(id="params-grid"):
                yield Label("epsilon", classes="param-label")
                yield Input(f"{self.epsilon_end:g}", id="param-epsilon_start", placeholder="epsilon at step 0")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Start training (enter)", id="yes", variant="primary")
                yield Button(f"Cancel ({key_label(self.app, 'dialog.cancel')})", id="no")

    def on_mount(self) -> None:
        self.query_one("#param-epsilon_start", Input).focus()

    def values(self) -> float | str:
        text = self.query_one("#param-epsilon_start", Input).value.strip()
        try:
            value = float(text)
        except ValueError:
            return f"epsilon: {text!r} is not a number"
        if not self.epsilon_end <= value <= 1.0:
            return f"epsilon: {value:g} is outside [{self.epsilon_end:g}, 1] (it decays to epsilon_end {self.epsilon_end:g})"
        return value
