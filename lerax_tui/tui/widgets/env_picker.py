"""Environment picker: a filter box over every catalogue entry; unsupported ones dimmed with why."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from lerax_tui.core.env_catalogue import EnvInfo


class EnvOptionList(OptionList):
    HELP = """\
## Environments

Every gymnax environment. **Enter** selects the highlighted one: its observation and action
spaces are shown below the list and its preset is loaded into the **Config** tab.
Dimmed entries cannot be trained by a DQN here; the reason is shown next to them.
Start typing to filter the list (the text goes to the filter box above; **{key:envs.to_list}** comes back).
"""

    def on_key(self, event: events.Key) -> None:
        # Typing on the list filters it: hand the character to the filter box.
        if event.character and event.is_printable and not event.character.isspace():
            event.stop()
            event.prevent_default()
            box = self.screen.query_one("#env-filter", Input)
            box.focus()
            box.cursor_position = len(box.value)  # carry on the filter, wherever its cursor was left
            box.insert_text_at_cursor(event.character)


class EnvPicker(Vertical):
    """Filter input, list of environments, and details of the highlighted one."""

    HELP = EnvOptionList.HELP
    BINDINGS = [Binding("down", "focus_list", "Go to list", show=False, id="envs.to_list")]

    class Selected(Message):
        """The user chose a supported environment."""

        def __init__(self, env: EnvInfo) -> None:
            super().__init__()
            self.env = env

    def __init__(self, env_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selected_id = env_id
        self._entries: list[EnvInfo] = []
        self._error: str | None = None

    def compose(self) -> ComposeResult:
        # select_on_focus off: focus arrives after the typed letter is inserted, and selecting then
        # would make the next letter replace it (acro -> cro).
        yield Input(placeholder="type to filter environments", id="env-filter", compact=True, select_on_focus=False)
        yield EnvOptionList(Option("loading environments…", disabled=True), id="env-list")
        yield Static("", id="env-details")

    @property
    def entries(self) -> list[EnvInfo]:
        return self._entries

    def set_catalogue(self, entries: Sequence[EnvInfo]) -> None:
        self._entries = list(entries)
        self._refill()
        self.show_details(self.entry(self.selected_id))

    def set_error(self, message: str) -> None:
        self._error = message
        option_list = self.query_one(EnvOptionList)
        option_list.clear_options()
        option_list.add_option(Option(Text(f"cannot list environments: {message}", style="italic"), disabled=True))

    def entry(self, env_id: str) -> EnvInfo | None:
        return next((e for e in self._entries if e.env_id == env_id), None)

    def _refill(self) -> None:
        needle = self.query_one("#env-filter", Input).value.strip().lower()
        option_list = self.query_one(EnvOptionList)
        option_list.clear_options()
        shown = [e for e in self._entries if needle in f"{e.env_id} {e.family}".lower()]
        option_list.add_options(_option(e, e.env_id == self.selected_id) for e in shown)
        if not shown:
            option_list.add_option(Option(Text(f"no environment matches {needle!r}", style="italic"), disabled=True))
            return
        ids = [e.env_id for e in shown]
        option_list.highlighted = ids.index(self.selected_id) if self.selected_id in ids else 0

    def mark_selected(self, env_id: str) -> None:
        self.selected_id = env_id
        if self._entries:
            self._refill()
            self.show_details(self.entry(env_id))

    def show_details(self, env: EnvInfo | None) -> None:
        details = self.query_one("#env-details", Static)
        if env is None:
            details.update(f"[b]{self.selected_id}[/b]" if not self._entries else "")
            return
        shape = "?" if env.observation_shape is None else "×".join(map(str, env.observation_shape)) or "scalar"
        lines = [
            f"[b]{env.env_id}[/b] [dim]({env.family})[/dim]",
            f"obs {shape} · actions {env.action_space}",
        ]
        if env.max_episode_steps:
            lines[-1] += f" · ≤{env.max_episode_steps} steps"
        if not env.supported:
            lines.append(f"[$warning]not supported: {env.reason}[/]")
        details.update("\n".join(lines))

    def action_focus_list(self) -> None:
        if self.query_one("#env-filter", Input).has_focus:
            self.query_one(EnvOptionList).focus()

    @on(Input.Changed, "#env-filter")
    def _filter_changed(self) -> None:
        if self._entries:
            self._refill()

    @on(Input.Submitted, "#env-filter")
    def _filter_submitted(self) -> None:
        option_list = self.query_one(EnvOptionList)
        if option_list.highlighted is not None:
            option_list.action_select()

    @on(OptionList.OptionHighlighted, "#env-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.show_details(self.entry(event.option.id))

    @on(OptionList.OptionSelected, "#env-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        env = self.entry(event.option.id or "")
        if env is None:
            return
        if not env.supported:
            self.notify(f"{env.env_id} cannot be trained here: {env.reason}", severity="warning")
            return
        self.post_message(self.Selected(env))


def _option(env: EnvInfo, selected: bool) -> Option:
    marker = "● " if selected else "  "
    if env.supported:
        prompt = Text(marker + env.env_id)
    else:
        prompt = Text(marker + env.env_id, style="dim")
        prompt.append(f"  ✗ {_short_reason(env.reason)}", style="dim italic")
    prompt.no_wrap = True
    prompt.overflow = "ellipsis"
    return Option(prompt, id=env.env_id)


def _short_reason(reason: str | None) -> str:
    reason = reason or "unsupported"
    return reason.split(" (")[0].split(":")[0]
