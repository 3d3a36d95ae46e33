"""The command palette's entries and F1's key list, each showing the keys bound *now* (after the user's keymap).

How a new key plugs in: declare a ``Binding(key, action, description, id="area.name")`` in the
``BINDINGS`` of the screen or widget that handles it. The keymap then accepts its id, F1 lists it
with its current keys while it is active, and the palette offers it (:func:`screen_commands`). Text
that names a key says ``{key:area.name}`` and goes through :func:`lerax_tui.tui.keymap.with_keys`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from lerax_tui.tui.keymap import declared_bindings, key_label

if TYPE_CHECKING:
    from lerax_tui.tui.screens.main import MainScreen

# The app's own actions: (binding id, palette title, what it does, the app action it runs).
APP_COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    (
        "train.toggle",
        "Start / stop training",
        "train with the form's config, or stop and checkpoint",
        "toggle_training",
    ),
    ("train.pause", "Pause / resume training", "pause at the next chunk boundary", "toggle_pause"),
    ("train.checkpoint", "Checkpoint now", "write a checkpoint at the end of this chunk", "checkpoint"),
    ("app.browser", "Open checkpoint browser", "every checkpoint under the runs folder, verified", "open_browser"),
    ("form.reset", "Reset config to preset", "the selected environment's preset", "reset_form"),
    ("app.help", "Help", "help for the focused pane and every key", "help"),
    ("app.tab_envs", "Show Environments", "switch the side pane to Environments", "show_tab('tab-envs')"),
    ("app.tab_config", "Show Config", "switch the side pane to Config", "show_tab('tab-config')"),
    ("app.tab_runs", "Show Past runs", "switch the side pane to Past runs", "show_tab('tab-runs')"),
)
APP_IDS = frozenset(binding_id for binding_id, *_ in APP_COMMANDS) | {"app.quit", "app.help_quit"}


def app_commands(app: App) -> Iterable[SystemCommand]:
    for binding_id, title, help_text, action in APP_COMMANDS:
        yield SystemCommand(
            title, f"{key_label(app, binding_id)}: {help_text}", lambda action=action: app.run_action(action)
        )


def _ours(binding: Binding) -> bool:
    """A binding of this app (an id and a description), not one of a Textual widget's own."""
    return bool(binding.id and binding.description and not binding.system)


def screen_commands(app: App, screen: Screen) -> Iterable[SystemCommand]:
    """The keyed actions active on ``screen`` (the browser's, the inspector's, a focused widget's) that
    are not the app's own, with their current keys, so the palette reaches whatever the keys do."""
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not _ours(binding) or binding.id in APP_IDS or binding.id in seen:
            continue
        seen.add(binding.id or "")
        yield SystemCommand(
            binding.description,
            f"{app.get_key_display(binding)} on this screen",
            lambda action=binding.action, node=active.node: app.run_action(action, node),
        )


def main_screen_commands(main: MainScreen) -> Iterable[SystemCommand]:
    """Choices the main screen makes with the cursor: each supported environment, each past run's overlay."""
    from lerax_tui.tui.widgets.env_picker import EnvPicker
    from lerax_tui.tui.widgets.runs_list import RunsList

    for env in main.query_one(EnvPicker).entries:
        if env.supported:
            yield SystemCommand(
                f"Environment {env.env_id}",
                f"train {env.env_id} next: its preset goes into Config",
                lambda env_id=env.env_id: main.select_env(env_id),
            )
    runs = main.query_one(RunsList)
    ticked = runs.ticked
    for name, path in runs.run_choices():
        verb = "Remove overlay" if str(path) in ticked else "Overlay run"
        yield SystemCommand(
            f"{verb} {name}",
            "untick it: its return leaves the chart"
            if verb == "Remove overlay"
            else "tick it: its return joins the chart",
            lambda path=path: runs.toggle(path),
        )


def help_keys(app: App, screen: Screen) -> list[tuple[str, str]]:
    """F1's key list for ``screen``: each active binding of ours once, with every key it has now."""
    by_id: dict[str, tuple[list[str], Binding]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not _ours(binding):
            continue
        keys, _ = by_id.setdefault(binding.id or "", ([], binding))
        label = app.get_key_display(binding)
        if label not in keys:
            keys.append(label)
    order = {binding_id: i for i, binding_id in enumerate(declared_bindings())}  # as declared, remapped or not
    listed = sorted(by_id.values(), key=lambda entry: order.get(entry[1].id or "", len(order)))
    return [(" / ".join(keys), f"{binding.description} (id `{binding.id}`)") for keys, binding in listed]
