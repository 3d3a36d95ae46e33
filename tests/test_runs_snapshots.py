"""SVG snapshots of the Runs table (two runs ticked and overlaid), a run summary and the compare view,
at 120x36 and 80x24, over run folders the fake trainer wrote. Review the report before updating:
``pytest tests/test_runs_snapshots.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory
from support.past_runs import CONTINUED, SEEDS, make_past_runs

from lerax_tui.tui.app import make_app
from lerax_tui.tui.screens.run_compare import RunCompareScreen
from lerax_tui.tui.screens.run_summary import RunSummaryScreen
from lerax_tui.tui.widgets.runs_list import RunsList

SIZES = [(120, 36), (80, 24)]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative runs dir: the same text on every machine
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(tmp_path / "none.toml"))
    make_past_runs(Path("runs"))
    return make_app(
        runs_dir=Path("runs"), env_id="CartPole-v1", trainer_factory=FakeFactory(), catalogue=FAKE_CATALOGUE
    )


async def _runs_ticked(pilot) -> RunsList:
    for _ in range(200):
        if pilot.app.main_screen.is_mounted and pilot.app.main_screen.query(RunsList):
            break
        await pilot.pause(0.05)
    await pilot.press("f4")
    runs_list = pilot.app.query_one(RunsList)
    for _ in range(200):
        if len(runs_list.summaries) == 7:
            break
        await pilot.pause(0.05)
    runs_list.tick(Path("runs") / CONTINUED)
    runs_list.tick(Path("runs") / SEEDS)
    await pilot.pause(0.8)  # the chart's redraw
    return runs_list


async def _mounted(pilot, cls) -> None:
    for _ in range(200):
        if isinstance(pilot.app.screen, cls) and pilot.app.screen.is_mounted:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_table_with_overlays(snap_compare, app, size):
    async def run_before(pilot):
        await _runs_ticked(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_summary(snap_compare, app, size):
    async def run_before(pilot):
        runs_list = await _runs_ticked(pilot)
        runs_list.open_run(Path("runs") / CONTINUED)
        await _mounted(pilot, RunSummaryScreen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_compare(snap_compare, app, size):
    async def run_before(pilot):
        await _runs_ticked(pilot)
        await pilot.press("c")
        await _mounted(pilot, RunCompareScreen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
