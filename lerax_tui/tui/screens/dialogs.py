"""Small modal dialogs of the checkpoint browser: confirm a delete, give the env and hyperparameters of
a file without a manifest, type a folder to add."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from lerax_tui.tui.keymap import key_label

CSS_PATH = "../checkpoints.tcss"

POLICY_FIELDS = (
    ("width_size", int, "width of each hidden layer"),
    ("depth", int, "number of hidden layers"),
    ("epsilon", float, "epsilon stored in the policy (the file's value wins)"),
)


T = TypeVar("T")


class FormDialog(ModalScreen[T | None], Generic[T]):
    """A dialog of fields whose :meth:`values` is either the result or the error to show in
    ``#dialog-error``: Enter in a field or the ``yes`` button submits, anything else cancels."""

    def values(self) -> T | str:
        raise NotImplementedError

    def action_submit(self) -> None:
        result = self.values()
        if isinstance(result, str):
            self.query_one("#dialog-error", Static).update(result)
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_submit()
        else:
            self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no question; dismisses with True only on an explicit yes (y, or Enter on the button)."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no"),
    ]

    def __init__(self, title: str, message: str, *, yes: str = "Delete", no: str = "Cancel"):
        super().__init__(classes="lt-dialog")
        self._title, self._message, self._yes, self._no = title, message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self._title, id="dialog-title")
            yield Static(self._message, id="dialog-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self._yes} ({key_label(self.app, 'dialog.yes')})", id="yes", variant="error")
                yield Button(f"{self._no} ({key_label(self.app, 'dialog.no')})", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer has the focus

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")


class PolicyParametersDialog(FormDialog[tuple[str, dict]]):
    """Ask which env and hyperparameters a file without a manifest was built for.

    Dismisses with ``(env_id, {"width_size", "depth", "epsilon"})`` or None on Escape. Values must
    parse; the browser then verifies the file against them before loading anything.

    Args:
        file_name: Shown in the title.
        env_id: Prefilled env (inferred from the file, else the app's form).
        hyperparameters: Prefilled values (read off the file's records, else the form).
        env_choices: Ids offered as completions.
        note: A line of context (why we ask, what was inferred).
    """

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        # Enter in any field submits (ctrl+s is the app's priority "checkpoint" key)
    ]

    def __init__(
        self,
        file_name: str,
        *,
        env_id: str | None,
        hyperparameters: dict[str, Any] | None,
        env_choices: Iterable[str] = (),
        note: str = "",
    ):
        super().__init__(classes="lt-dialog")
        self._file_name = file_name
        self._env_id = env_id or ""
        self._hp = dict(hyperparameters or {})
        self._choices = list(env_choices)
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="params"):
            yield Label(f"Parameters for {self._file_name}", id="dialog-title")
            yield Static(
                self._note
                or "This file has no manifest: say what it was built for. It is verified before anything loads.",
                id="dialog-message",
            )
            with Grid(id="params-grid"):
                yield Label("env", classes="param-label")
                yield Input(
                    self._env_id,
                    id="param-env_id",
                    placeholder="e.g. CartPole-v1",
                    suggester=SuggestFromList(self._choices, case_sensitive=False) if self._choices else None,
                )
                for name, _, help_text in POLICY_FIELDS:
                    yield Label(name, classes="param-label")
                    value = self._hp.get(name)
                    yield Input("" if value is None else str(value), id=f"param-{name}", placeholder=help_text)
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Verify and load (enter)", id="yes", variant="primary")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#param-env_id", Input).focus()

    def values(self) -> tuple[str, dict] | str:
        """The parsed values, or an error message naming the field."""
        env_id = self.query_one("#param-env_id", Input).value.strip()
        if not env_id:
            return "env: give an environment id (e.g. CartPole-v1)"
        if self._choices and env_id not in self._choices:
            close = [c for c in self._choices if c.lower().startswith(env_id.lower()[:4])][:4]
            return f"env: unknown environment {env_id!r}" + (
                f" (did you mean {', '.join(close)}?)" if close else " (see `lerax-tui envs`)"
            )
        overrides: dict[str, Any] = {}
        for name, kind, _ in POLICY_FIELDS:
            text = self.query_one(f"#param-{name}", Input).value.strip()
            if not text:
                continue
            try:
                value = kind(text)
            except ValueError:
                return f"{name}: {text!r} is not {'an integer' if kind is int else 'a number'}"
            if kind is int and value < (0 if name == "depth" else 1):
                return f"{name}: must be at least {0 if name == 'depth' else 1}"
            overrides[name] = value
        return env_id, overrides


class FolderDialog(ModalScreen[Path | None]):
    """Type a folder to list in the browser (``~`` expanded)."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, initial: str = ""):
        super().__init__(classes="lt-dialog")
        self._initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label("Add a folder of checkpoints", id="dialog-title")
            yield Input(
                self._initial, id="folder-input", placeholder="path to a folder of .eqx files or of run folders"
            )
            yield Static("", id="dialog-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.dismiss(None)
            return
        folder = Path(text).expanduser()
        if not folder.is_dir():
            self.query_one("#dialog-error", Static).update(f"{folder}: not a folder")
            return
        self.dismiss(folder)

    def action_cancel(self) -> None:
        self.dismiss(None)
