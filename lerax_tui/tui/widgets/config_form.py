"""The hyperparameter form, built from ``DQNConfig``'s field metadata (group, help, range)."""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from lerax_tui.train.config import GROUPS, ConfigError, DQNConfig, coerce, describe_range


def _kind(f: Field[Any]) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FieldRow(Vertical):
    """One hyperparameter: name and allowed range, its editor, and an error line when invalid."""

    def __init__(self, f: Field[Any]) -> None:
        super().__init__(classes="field-row", id=f"row-{f.name}")
        self.field = f
        self.tooltip = f.metadata["help"]

    @property
    def name_(self) -> str:
        return self.field.name

    def compose(self) -> ComposeResult:
        f = self.field
        with Horizontal(classes="field-head"):
            yield Label(f.name, classes="field-name")
            yield Label(describe_range(f.name), classes="field-range")
        if f.metadata["choices"]:
            yield Select([(c, c) for c in f.metadata["choices"]], allow_blank=False, compact=True, id=f"field-{f.name}")
        elif _kind(f) == "bool":
            yield Checkbox("enabled", compact=True, id=f"field-{f.name}")
        else:
            yield Input(compact=True, id=f"field-{f.name}", select_on_focus=False)
        yield Static("", classes="field-error")

    @property
    def editor(self) -> Widget:
        return self.query_one(f"#field-{self.field.name}")

    def raw_value(self) -> Any:
        editor = self.editor
        if isinstance(editor, Select):
            return editor.value
        if isinstance(editor, Checkbox):
            return editor.value
        return editor.value  # type: ignore[attr-defined]

    def set_value(self, value: Any) -> None:
        editor = self.editor
        with editor.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            if isinstance(editor, Input):
                editor.value = _text(value)
            else:
                editor.value = value  # type: ignore[attr-defined]

    def set_error(self, message: str | None) -> None:
        self.set_class(bool(message), "-invalid")
        self.query_one(".field-error", Static).update(message or "")


class ConfigForm(VerticalScroll, can_focus=False):
    """Every field of ``DQNConfig`` grouped as Policy, DQN, Exploration, Run."""

    HELP = """\
## Hyperparameters

Every field of the DQN configuration, grouped. The allowed range is shown at the right of each
name; an invalid value is named in red under its field and blocks **{key:train.toggle}** until it is fixed.
**{key:form.reset}** resets every field to the selected environment's preset.
The form is locked while a run is going. Hover (or focus) a field for what it means.
"""

    class Changed(Message):
        """The form's validity changed or a value was edited."""

        def __init__(self, error: ConfigError | None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, config: DQNConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preset = config
        self._initial = config
        self.error: ConfigError | None = None

    def compose(self) -> ComposeResult:
        all_fields = fields(DQNConfig)
        for group in GROUPS:
            yield Static(group, classes="group-title")
            for f in all_fields:
                if f.metadata["group"] == group:
                    yield FieldRow(f)

    def on_mount(self) -> None:
        self.load(self._initial)

    @property
    def rows(self) -> dict[str, FieldRow]:
        return {row.field.name: row for row in self.query(FieldRow)}

    def load(self, config: DQNConfig, *, preset: DQNConfig | None = None) -> None:
        """Show ``config``'s values; ``preset`` becomes what reset-to-preset returns to."""
        if preset is not None:
            self.preset = preset
        with self.app.batch_update():
            for name, row in self.rows.items():
                row.set_value(getattr(config, name))
        self.validate()

    def reset_to_preset(self) -> None:
        self.load(self.preset)

    def validate(self) -> DQNConfig | None:
        """Show every problem inline; the config when all is well."""
        rows = self.rows
        values: dict[str, Any] = {}
        first: ConfigError | None = None
        for name, row in rows.items():
            try:
                values[name] = coerce(name, row.raw_value())
                row.set_error(None)
            except ConfigError as error:
                row.set_error(str(error))
                first = first or error
        config = None
        if first is None:
            try:
                config = DQNConfig(**values)
            except ConfigError as error:  # a range or cross-field rule
                rows[error.field].set_error(str(error))
                first = error
        self.error = first
        self.post_message(self.Changed(first))
        return config

    def config(self) -> DQNConfig:
        """The validated config.

        Raises:
            ConfigError: the first problem (also shown inline and its field focused).
        """
        config = self.validate()
        if config is None:
            assert self.error is not None
            self.rows[self.error.field].editor.focus()
            raise self.error
        return config

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Message) -> None:
        event.stop()
        self.validate()
