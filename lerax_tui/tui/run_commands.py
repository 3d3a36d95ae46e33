"""The command palette's past-run commands: open any run by name, export its metrics, compare the
ticked runs, widen the table; each says its current key (ticking is ``tui.palette``'s "Overlay run")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches

from lerax_tui.tui.keymap import key_label
from lerax_tui.tui.widgets.runs_list import RunsList


class RunCommands(Provider):
    """Registered on the main screen (``MainScreen.COMMANDS``)."""

    def _runs(self) -> RunsList | None:
        try:
            return self.screen.query_one(RunsList)
        except NoMatches:
            return None

    def _commands(self, runs: RunsList) -> list[tuple[str, str, Callable[[], object]]]:
        """Ticking is the palette's "Overlay run" (``tui.palette``); these open, export and compare."""
        key = partial(key_label, self.app)
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Compare ticked runs", f"{key('runs.compare')} in the Runs tab", runs.compare),
            ("Wide runs table", f"{key('runs.wide')} in the Runs tab (and back)", runs.toggle_wide),
        ]
        for name, path in runs.run_choices():
            commands.append((f"Open run {name}", f"{key('runs.open')} in the Runs tab", partial(runs.open_run, path)))
            commands.append(
                (
                    f"Export metrics CSV of {name}",
                    f"{key('runs.export')} in the Runs tab",
                    partial(runs.export, Path(path)),
                )
            )
        for sweep in runs.sweeps:
            commands.append(
                (
                    f"Open sweep {sweep.name}",
                    f"{key('runs.open')} on its row in the Runs tab",
                    partial(runs.open_sweep, str(sweep.path)),
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
