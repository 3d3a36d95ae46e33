"""The Runs tab as a table, the run summary, the compare view and CSV export, driven with Pilot over
run folders the fake trainer wrote (no JAX)."""

from __future__ import annotations

import csv
from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.past_runs import CONTINUED, FAILED, FINISHED, KILLED, SEEDS, SLOWER, STOPPED, make_past_runs

from lerax_tui.train.outcome import RunStatus
from lerax_tui.tui.app import make_app
from lerax_tui.tui.palette import screen_commands
from lerax_tui.tui.screens.run_compare import RunCompareScreen
from lerax_tui.tui.screens.run_summary import RunSummaryScreen
from lerax_tui.tui.widgets.return_chart import ReturnChart
from lerax_tui.tui.widgets.runs_list import RunsList, RunsTable


def app_over(tmp_path: Path):
    runs = make_past_runs(tmp_path / "runs")
    app = make_app(
        runs_dir=runs,
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
    )
    return app, runs


async def until(pilot, condition, timeout: float = 8.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


async def runs_tab(pilot) -> RunsList:
    await pilot.press("f4")
    runs_list = pilot.app.query_one(RunsList)
    await until(pilot, lambda: len(runs_list.summaries) == 7)
    await pilot.pause(0.1)
    return runs_list


async def opened(pilot, cls):
    """Wait for a pushed screen of ``cls`` to be mounted (pushing returns before it composes)."""
    await until(pilot, lambda: isinstance(pilot.app.screen, cls) and pilot.app.screen.is_mounted)
    await pilot.pause(0.1)
    return pilot.app.screen


def table_text(app) -> list[str]:
    table = app.query_one(RunsTable)
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_statuses_figures_and_the_columns_that_fit(tmp_path):
    app, runs = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        status = {Path(k).name: s.status for k, s in runs_list.summaries.items()}
        assert status == {
            FINISHED: RunStatus.FINISHED,
            SLOWER: RunStatus.FINISHED,
            SEEDS: RunStatus.FINISHED,
            FAILED: RunStatus.FAILED,
            KILLED: RunStatus.INTERRUPTED,
            STOPPED: RunStatus.STOPPED,
            CONTINUED: RunStatus.FINISHED,
        }
        seeds = runs_list.summaries[str(runs / SEEDS)]
        assert seeds.num_seeds == 4 and seeds.step == 1_000_000 and seeds.final == 200.0
        table = app.query_one(RunsTable)
        shown = [str(c.label).strip() or " " for c in table.columns.values()]
        assert shown[:5] == [" ", "run", "status", "steps", "best"]  # the side pane: the first columns
        rows = table_text(app)
        assert any("1,000,000" in r and "finished" in r for r in rows)  # numbers whole
        assert any("interrupted" in r for r in rows) and any("failed" in r for r in rows)
        await pilot.press("w")  # wide: every column
        await until(pilot, lambda: "started" in [str(c.label).strip() or " " for c in table.columns.values()])
        assert [str(c.label).strip() or " " for c in table.columns.values()] == [
            " ", "run", "status", "steps", "final", "best", "seeds", "env", "started",
        ]  # fmt: skip
        await pilot.press("w")
        await until(pilot, lambda: "started" not in [str(c.label).strip() or " " for c in table.columns.values()])


async def test_80_columns_keep_run_status_and_steps(tmp_path):
    app, _ = app_over(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_tab(pilot)
        table = app.query_one(RunsTable)
        labels = [str(c.label).strip() or " " for c in table.columns.values()]
        assert labels[:4] == [" ", "run", "status", "steps"]
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert len(set(names)) == len(names)  # cut, but never alike
        assert all(n.endswith(("abc123", "d4e5f6", "0a1b2c", "77aa00", "beef01", "5709ed", "c0ffee")) for n in names)


async def test_ticking_overlays_with_markers_and_compare(tmp_path):
    app, runs = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        order = [f.name for f in runs_list.folders]
        await pilot.press("space")
        await pilot.press("down", "space")
        chart = app.query_one(ReturnChart)
        await until(pilot, lambda: len(chart.overlays) == 2)
        labels = list(chart.overlays)
        assert labels[0].startswith("● ") and labels[1].startswith("▲ ")  # the marker, not only the colour
        rows = table_text(app)
        assert rows[0].startswith("●") and rows[1].startswith("▲") and not rows[2].startswith(("●", "▲"))
        await pilot.press("c")
        compare = await opened(pilot, RunCompareScreen)
        header, rows = compare.table()
        assert header[1:] == order[:2]
        keys = [r[0] for r in rows]
        assert keys[:2] == ["env", "status"] and "epsilon_start" in keys  # the continued run starts at 0.05
        assert "learning_rate" not in keys  # the same in both: hidden until a
        await pilot.press("a")
        assert "learning_rate" in [r[0] for r in compare.table()[1]]
        await pilot.press("x")
        exports = runs / "exports"
        await until(pilot, lambda: any(exports.glob("compare-*.csv")))
        (written,) = exports.glob("compare-*.csv")
        table = list(csv.reader(written.open()))
        assert table[0] == ["key", *order[:2]] and ["learning_rate", "0.0023", "0.0023"] in table
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)
        await pilot.press("space")  # untick the second
        await until(pilot, lambda: len(chart.overlays) == 1)


async def test_compare_needs_two_ticked_runs(tmp_path):
    app, _ = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await runs_tab(pilot)
        await pilot.press("c")
        await pilot.pause(0.2)
        assert app.screen is app.main_screen


async def test_summary_shows_differences_seeds_origin_and_exports(tmp_path):
    app, runs = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        runs_list.open_run(runs / SEEDS)
        screen = await opened(pilot, RunSummaryScreen)
        config = str(screen.query_one("#summary-config").render())
        assert "width_size" in config and "256   preset 128" in config and "learning_rate" not in config
        assert screen.query_one("#summary-seeds").row_count == 4
        await pilot.press("x")
        out = runs / "exports" / f"{SEEDS}-metrics.csv"
        await until(pilot, lambda: out.exists())
        rows = list(csv.reader(out.open()))
        assert rows[0][:2] == ["step", "wall_s"] and rows[-1][0] == "1000000"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)
        await pilot.press("enter")  # the highlighted (newest) run: continued from a lerax file
        origin = str((await opened(pilot, RunSummaryScreen)).query_one("#summary-origin").render())
        assert "cartpole_trained.eqx" in origin and "policy-weights" in origin and "0.05" in origin


async def test_palette_ticks_and_opens_runs_by_name(tmp_path):
    app, runs = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"overlay run 121500-d4e5f6")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: runs_list.tick_order == [str(runs / SLOWER)])
        await pilot.press("ctrl+p")
        await pilot.press(*"open run 124500-77aa00")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await opened(pilot, RunSummaryScreen)
        assert app.screen.summary.name == FAILED
        assert "non-finite" in str(app.screen.query_one("#summary-header").render())


async def test_help_lists_the_runs_keys(tmp_path):
    from lerax_tui.tui.screens.help import HelpScreen

    app, _ = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await runs_tab(pilot)
        await pilot.press("f1")
        await opened(pilot, HelpScreen)
        text = " ".join(str(w.render()) for w in app.screen.query("*"))
        for binding_id in ("runs.tick", "runs.open", "runs.compare", "runs.export", "runs.wide"):
            assert binding_id in text


async def test_summary_and_compare_keys_are_in_the_palette(tmp_path):
    app, runs = app_over(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        runs_list.open_run(runs / SEEDS)
        await opened(pilot, RunSummaryScreen)
        titles = [c.title for c in screen_commands(app, app.screen)]
        assert "Export metrics CSV" in titles and "Back" in titles
