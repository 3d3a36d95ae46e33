"""F1: help for the focused pane, then every key (as currently mapped)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Markdown

from lerax_tui.train.config import describe_range
from lerax_tui.tui.keymap import with_keys
from lerax_tui.tui.widgets.config_form import FieldRow

GENERAL_HELP = """\
## lerax-tui

Pick an environment (**Env** tab, Enter), adjust hyperparameters (**Config** tab), press **{key:train.toggle}** to
train. The chart fills as episodes finish. **Runs** overlays earlier runs. Tab / Shift+Tab move
between panes; arrows move inside them. **ctrl+p** lists every action.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, pane_help: str | None, keys: list[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self.pane_help = pane_help
        self.keys = keys

    def compose(self) -> ComposeResult:
        rows = "\n".join(f"- `{key}` {description}" for key, description in self.keys)
        text = with_keys(self.pane_help or GENERAL_HELP, self.app) + "\n## Keys\n\n" + rows
        text += "\n\nRemap any key by its id in `~/.config/lerax-tui/keymap.toml` (or `$LERAX_TUI_KEYMAP`).\n"
        with VerticalScroll(id="help-body"):
            yield Markdown(text, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def pane_help(widget: Widget | None) -> str | None:
    """Help for the focused widget: the nearest ancestor with ``HELP``, plus the field if a form field."""
    node: DOMNode | None = widget
    field_text = ""
    while node is not None:
        if isinstance(node, FieldRow) and not field_text:
            name = node.field.name
            field_text = f"### `{name}`\n\n{node.field.metadata['help']}. Allowed: `{describe_range(name)}`.\n\n"
        if node.HELP:
            return node.HELP + ("\n" + field_text if field_text else "")
        node = node.parent
    return None
