"""Sweeps in the Runs tab, driven with Pilot over folders the fake trainers wrote (no JAX): a sweep is
one row that unfolds into its members, which tick, open, compare and export like runs; Enter on the
sweep's row opens its sweep view; a damaged sweep.json is one row that says so (and why on Enter)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.past_runs import make_past_runs
from support.past_sweeps import DAMAGED, RATES, SWEEP, make_damaged_sweep, make_sweep
from support.pilot import until as wait_until

from lerax_tui.train.outcome import RunStatus
from lerax_tui.tui.app import make_app
from lerax_tui.tui.palette import main_screen_commands
from lerax_tui.tui.run_text import Row, member_row, row_cells, sweep_row
from lerax_tui.tui.runs_listing import list_runs, member_status, sweep_figures
from lerax_tui.tui.screens.run_compare import RunCompareScreen
from lerax_tui.tui.screens.run_summary import RunSummaryScreen
from lerax_tui.tui.screens.sweep import SweepScreen
from lerax_tui.tui.widgets.return_chart import ReturnChart
from lerax_tui.tui.widgets.runs_list import RunsList, RunsTable


def runs_folder(tmp_path: Path) -> Path:
    runs = make_past_runs(tmp_path / "runs")
    now = time.time()
    make_sweep(runs, mtime=now + 60)  # the newest: first in the table
    make_damaged_sweep(runs, mtime=now - 86_400)  # the oldest: last
    return runs


def app_over(runs: Path, tmp_path: Path):
    return make_app(
        runs_dir=runs,
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
    )


async def until(pilot, condition) -> None:
    await wait_until(pilot, condition, timeout=8.0)


def table_text(app) -> list[str]:
    table = app.query_one(RunsTable)
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def runs_tab(pilot) -> RunsList:
    await pilot.press("f4")
    runs_list = pilot.app.query_one(RunsList)
    await until(pilot, lambda: len(runs_list.summaries) == 7 + 3 + 3)  # runs and both sweeps' members
    await pilot.pause(0.1)
    return runs_list


def test_listing_reads_sweeps_and_a_damaged_one_never_raises(tmp_path):
    runs = runs_folder(tmp_path)
    listing = list_runs(runs)
    assert len(listing.runs) == 7  # the sweeps' members are not top-level runs
    good, bad = sorted(listing.sweeps, key=lambda s: s.name == DAMAGED)
    assert good.name == SWEEP and good.error is None and good.seeds == 2
    assert [m.label for m in good.members] == ["lr 0.001", "lr 0.003", "lr 0.01"]
    assert bad.error is not None and "configs[1].run_dir" in bad.error and "\n" not in bad.error
    assert [m.path.name for m in bad.members] == ["config-000", "config-001", "config-002"]  # found on disk
    (again,) = [s for s in list_runs(runs).sweeps if s.name == SWEEP]
    assert again is good  # unchanged sweep.json: not parsed again
    text = (runs / SWEEP / "sweep.json").read_text()
    (runs / SWEEP / "sweep.json").write_text(text.replace('"seeds": 2', '"seeds": 3'))
    (changed,) = [s for s in list_runs(runs).sweeps if s.name == SWEEP]
    assert changed.seeds == 3  # rewritten: read again
    (runs / SWEEP / "sweep.json").write_text(text)
    items = listing.items()
    assert items[0].name == SWEEP and items[-1].name == DAMAGED  # newest first, runs in between
    for junk in (b"", b"[]", b'{"kind": "lerax-tui-sweep", "version": 1}', b"\xff\xfe", b"{" * 5000):
        (runs / DAMAGED / "sweep.json").write_bytes(junk)
        (broken,) = [s for s in list_runs(runs).sweeps if s.name == DAMAGED]
        assert broken.error and "\n" not in broken.error and len(broken.error) <= 300
    (runs / DAMAGED / "sweep.json").unlink()
    os.mkfifo(runs / DAMAGED / "sweep.json")  # never opened: it would block the listing
    (broken,) = [s for s in list_runs(runs).sweeps if s.name == DAMAGED]
    assert broken.error is not None and broken.error.startswith("sweep.json unreadable")


def test_sweep_row_and_member_cells(tmp_path):
    runs = runs_folder(tmp_path)
    listing = list_runs(runs)
    (good,) = [s for s in listing.sweeps if s.name == SWEEP]
    figures = sweep_figures(good, {})  # nothing read yet: results from sweep.json
    assert figures.status == RunStatus.FINISHED and figures.configs == 3 and figures.seeds == 2
    assert figures.best is not None and figures.final is not None
    row = sweep_row(good, figures, expanded=False)
    cells = [str(c) for c in row_cells(row, ["tick", "name", "status", "seeds"], {"name": 12})]
    assert cells[0] == "▸" and cells[1].startswith("sweep …") and len(cells[1]) == 12
    assert cells[2] == "finished" and cells[3].strip() == "3×2"
    member = good.members[0]
    assert member_status(member, None) == "…"
    row = member_row(member, None, "●", last=True)
    assert [str(c) for c in row_cells(row, ["tick", "name"], {"name": 12})] == ["●", "└ lr 0.001"]
    assert [str(c) for c in row_cells(row, ["tick", "name"], {"name": 8})] == ["●", "└ 0.001"]  # values only
    assert [str(c) for c in row_cells(row, ["tick", "name"], {"name": 5})] == ["●", "└ 0.…"]  # the tree mark stays
    assert isinstance(sweep_row(good, figures, expanded=True), Row)
    (bad,) = [s for s in listing.sweeps if s.name == DAMAGED]
    assert sweep_figures(bad, {}).status == "damaged"


async def test_a_sweep_unfolds_and_its_members_work_like_runs(tmp_path):
    runs = runs_folder(tmp_path)
    app = app_over(runs, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        runs_list = await runs_tab(pilot)
        rows = table_text(app)
        assert len(rows) == 9 and rows[0].startswith("▸ sweep") and "finished" in rows[0] and "damaged" in rows[-1]
        assert "2 sweeps" in str(app.query_one("#runs-dir-label").render())
        await pilot.press("e")  # unfold the first sweep
        await until(pilot, lambda: len(table_text(app)) == 12)
        rows = table_text(app)
        assert rows[0].startswith("▾") and [r.split()[2] for r in rows[1:4]] == ["0.001", "0.003", "0.01"]
        assert all("finished" in r for r in rows[1:4])  # from sweep.json: the fake wrote no result.json
        await pilot.press("down", "space", "down", "space")  # tick two members
        members = [str(runs / SWEEP / f"config-00{i}") for i in range(2)]
        assert runs_list.tick_order == members
        chart = app.query_one(ReturnChart)
        await until(pilot, lambda: len(chart.overlays) == 2)
        assert any("lr 0.001" in name for name in chart.overlays)
        await pilot.press("c")
        compare = await _opened(pilot, RunCompareScreen)
        assert [s.path for s in compare.summaries] == [Path(m) for m in members]
        await pilot.press("escape")
        await pilot.press("enter")  # on the second member: its summary
        summary = await _opened(pilot, RunSummaryScreen)
        assert summary.summary.path == runs / SWEEP / "config-001"
        assert f"{SWEEP}/config-001 (lr 0.003)" in str(summary.query_one("#summary-header").render())
        # the fake wrote no result.json: the sweep's record completes the member's status and finals
        assert summary.summary.status == RunStatus.FINISHED and summary.summary.final is not None
        assert all(seed.final is not None for seed in summary.summary.seeds)
        await pilot.press("escape")
        await pilot.press("x")
        out = runs / "exports" / f"{SWEEP}-config-001-metrics.csv"
        await until(pilot, out.exists)
        await pilot.press("up", "up", "e")  # fold it again from its own row; ticked members stay ticked
        await until(pilot, lambda: len(table_text(app)) == 9)
        assert runs_list.tick_order == members
        titles = [c.title for c in main_screen_commands(app.main_screen)]
        assert f"Remove overlay {SWEEP}/config-000 (lr 0.001)" in titles
        assert f"Overlay run {SWEEP}/config-002 (lr 0.01)" in titles


async def test_enter_opens_a_sweep_and_a_damaged_one_says_why(tmp_path):
    runs = runs_folder(tmp_path)
    app = app_over(runs, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_tab(pilot)
        await pilot.press("enter")
        sweep = await _opened(pilot, SweepScreen)
        assert sweep.sweep.sweep_dir == runs / SWEEP and len(sweep.sweep.members) == len(RATES)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)
        for _ in range(8):
            await pilot.press("down")
        caption = str(app.query_one("#runs-dir-label").render())
        assert "configs[1].run_dir" in caption  # on its row, the caption says why it is damaged
        await pilot.press("enter")
        await until(pilot, lambda: any("configs[1].run_dir" in n.message for n in app._notifications))
        assert app.screen is app.main_screen
        await pilot.press("space")  # unfolds it: its members are still there to open
        await until(pilot, lambda: len(table_text(app)) == 12)
        assert table_text(app)[-1].split()[1] == "config-002"


async def _opened(pilot, cls):
    await until(pilot, lambda: isinstance(pilot.app.screen, cls) and pilot.app.screen.is_mounted)
    await pilot.pause(0.1)
    return pilot.app.screen
