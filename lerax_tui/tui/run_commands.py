"""The command palette's past-run commands: tick / untick and open any run by name, compare the
ticked runs, export a run's metrics, widen the table; each says its current key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches

from lerax_tui.tui.widgets.runs_list import RunsList, RunsTable


class RunCommands(Provider):
    """Registered on the main screen (``MainScreen.COMMANDS``)."""

    def _runs(self) -> RunsList | None:
        try:
            return self.screen.query_one(RunsList)
        except NoMatches:
            return None

    def _key(self, binding_id: str) -> str:
        for binding in RunsTable.BINDINGS:
            if isinstance(binding, Binding) and binding.id == binding_id:
                keys = self.app._keymap.get(binding_id, binding.key)  # the user's keymap applied
                return self.app.get_key_display(binding.with_key(keys.split(",")[0].strip()))
        return ""

    def _commands(self, runs: RunsList) -> list[tuple[str, str, Callable[[], object]]]:
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Compare ticked runs", f"{self._key('runs.compare')} in the Runs tab", runs.compare),
            ("Wide runs table", f"{self._key('runs.wide')} in the Runs tab (and back)", runs.toggle_wide),
        ]
        ticked = set(runs.ticked)
        for folder in runs.folders:
            key = str(folder.path)
            verb = "Untick run" if key in ticked else "Tick run"
            commands.append(
                (f"{verb} {folder.name}", f"{self._key('runs.tick')} in the Runs tab", partial(runs.tick, folder.path))
            )
            commands.append(
                (
                    f"Open run {folder.name}",
                    f"{self._key('runs.open')} in the Runs tab",
                    partial(runs.open_run, folder.path),
                )
            )
            commands.append(
                (
                    f"Export metrics CSV of {folder.name}",
                    f"{self._key('runs.export')} in the Runs tab",
                    partial(runs.export, Path(folder.path)),
                )
            )
        return commands

    async def discover(self) -> Hits:
        runs = self._runs()
        if runs is None:
            return
        for title, help_text, callback in self._commands(runs)[:2]:
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        runs = self._runs()
        if runs is None:
            return
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands(runs):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
