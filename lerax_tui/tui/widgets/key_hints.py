"""The bottom line of key hints. Textual's Footer recomposes itself on every focus change (its
bindings change), which made Tab through the form cost a full relayout; these keys are the app's
own and only change with the keymap, so a plain line built once is enough."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Static


class KeyHints(Static):
    """Shows ``bindings`` (the app hands them down with the user's keys) and the palette key."""

    def __init__(self, bindings: Sequence[Binding], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bindings = list(bindings)

    def on_mount(self) -> None:
        parts = [f"[b $accent]{escape(self.app.get_key_display(b))}[/] {escape(b.description)}" for b in self.bindings]
        parts.append("[b $accent]^p[/] palette")
        self.update("  ".join(parts))
