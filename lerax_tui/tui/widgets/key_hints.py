"""The bottom line of key hints. Textual's Footer recomposes itself on every focus change (its
bindings change), which made Tab through the form cost a full relayout; these keys are the app's
own and only change with the keymap, so a plain line rebuilt on demand is enough."""

from __future__ import annotations

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Static


class KeyHints(Static):
    def on_mount(self) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        """Show every shown app binding with its current key (after the user's keymap)."""
        app = self.app
        keymap = getattr(app, "user_keymap", {})
        parts = []
        for binding in app.BINDINGS:
            if not isinstance(binding, Binding) or not binding.show or not binding.description:
                continue
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            first = key.split(",")[0].strip()
            display = app.get_key_display(binding.with_key(first))
            parts.append(f"[b $accent]{escape(display)}[/] {escape(binding.description)}")
        parts.append("[b $accent]^p[/] palette")
        self.update("  ".join(parts))
