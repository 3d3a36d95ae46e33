"""Sweeps in the app, driven with Pilot and the fake sweep trainer (no JAX): swept form fields and the
status line, F5 starting the sweep screen, the leaderboard's keys, CSV export, stopping, a sweep folder
opened from disk, the keymap and the palette."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.fake_sweep import FakeSweepFactory, factor
from support.pilot import board_evals

from lerax_tui.train.sweep_record import ConfigStatus, read_sweep
from lerax_tui.tui import app as app_module
from lerax_tui.tui.app import LeraxApp, make_app
from lerax_tui.tui.screens.sweep import OpenCheckpoint, SweepScreen
from lerax_tui.tui.sweep_table import SortKey, ranked
from lerax_tui.tui.widgets.leaderboard import Leaderboard
from lerax_tui.tui.widgets.status_bar import StatusBar

SIZE = (120, 36)


def app_with(tmp_path: Path, **options) -> tuple[LeraxApp, FakeSweepFactory]:
    sweeps = FakeSweepFactory(options={"chunk_delay": 0.02, **options})
    app = make_app(
        runs_dir=tmp_path / "runs",
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
        sweep_factory=sweeps,
    )
    return app, sweeps


async def until(pilot, condition, timeout: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


async def fill(pilot, app: LeraxApp, **fields) -> None:
    for name, value in fields.items():
        app.main_screen.form.rows[name].editor.value = str(value)  # type: ignore[attr-defined]
    await pilot.pause()


def status_text(app: LeraxApp) -> str:
    return str(app.main_screen.query_one(StatusBar).render())


async def test_swept_fields_are_marked_and_the_status_line_counts_agents(tmp_path):
    app, _ = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, app, learning_rate="1e-3, 3e-3, 1e-2", gamma="0.9,0.99,0.999", num_seeds=4)
        rows = app.main_screen.form.rows
        assert rows["learning_rate"].has_class("-swept") and not rows["tau"].has_class("-swept")
        assert "sweep: 9 configurations x 4 seeds = 36 agents" in status_text(app)
        await fill(pilot, app, gamma="0.99")
        assert "sweep: 3 configurations x 4 seeds = 12 agents" in status_text(app)
        await fill(pilot, app, learning_rate="1e-3")
        assert "sweep:" not in status_text(app)
        assert app.main_screen.form.sweep is None


async def start_sweep(pilot, app: LeraxApp, **fields) -> SweepScreen:
    await fill(pilot, app, **fields)
    await pilot.press("f5")
    await until(pilot, lambda: isinstance(app.screen, SweepScreen))
    assert isinstance(app.screen, SweepScreen)
    return app.screen


async def test_enter_puts_a_configuration_into_the_form(tmp_path):
    app, _ = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_sweep(pilot, app, learning_rate="1e-3,3e-3", gamma="0.9,0.99", total_timesteps=3000)
        await until(pilot, lambda: app.main_screen.session is None)
        board = screen.query_one(Leaderboard)
        top = board.current_index()
        assert top is not None
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.main_screen)
        form = app.main_screen.form
        chosen = screen.sweep.members[top].overrides
        assert float(form.rows["learning_rate"].raw_value()) == chosen["learning_rate"]
        assert float(form.rows["gamma"].raw_value()) == chosen["gamma"]
        assert form.sweep is None and form.validate() is not None  # one configuration now: F5 trains it alone


async def test_f6_pauses_and_f5_stops_a_running_sweep_and_every_configuration_ends(tmp_path):
    app, sweeps = app_with(tmp_path, chunk_delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_sweep(pilot, app, learning_rate="1e-3,3e-3", total_timesteps=500_000)
        await until(pilot, lambda: any(m.step for m in screen.sweep.members))
        await pilot.press("f6")  # the app's keys drive the sweep like a run: pause, resume, checkpoint
        await pilot.press("f6")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: sweeps.last.calls[:3] == ["pause", "resume", "checkpoint"])
        await pilot.press("f5")
        await until(pilot, lambda: app.main_screen.session is None, timeout=10)
        await pilot.pause(0.3)
        assert "stop" in sweeps.last.calls
        assert screen.sweep.phase == "stopped"
        assert [m.status for m in screen.sweep.members] == [ConfigStatus.STOPPED] * 2


async def test_a_failing_configuration_is_marked_and_the_others_finish(tmp_path):
    app, _ = app_with(tmp_path, fail_index=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_sweep(pilot, app, learning_rate="1e-3,3e-3,1e-2", total_timesteps=4000)
        await until(pilot, lambda: app.main_screen.session is None)
        await pilot.pause(0.3)
        assert [m.status for m in screen.sweep.members] == ["finished", "failed", "finished"]
        assert "failed" in str(screen.query_one("#sweep-status").render())


async def test_without_an_engine_the_sweep_fails_in_one_line(tmp_path):
    def no_engine(*args):
        from lerax_tui.tui.sweep_session import SweepEngineMissing

        raise SweepEngineMissing("this build has no sweep engine yet")

    app, _ = app_with(tmp_path)
    app.main_screen.sweep_factory = no_engine
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_sweep(pilot, app, learning_rate="1e-3,3e-3")
        await until(pilot, lambda: app.main_screen.session is None)
        await pilot.pause(0.3)
        assert screen.sweep.phase == "failed" and "no sweep engine" in screen.sweep.message


async def test_ctrl_t_shows_the_sweep_again_and_ctrl_w_opens_its_folder(tmp_path):
    app, sweeps = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        live = await start_sweep(pilot, app, learning_rate="1e-3,3e-3,1e-2", total_timesteps=3000)
        await until(pilot, lambda: app.main_screen.session is None)
        await pilot.press("escape")
        assert app.screen is app.main_screen
        await pilot.press("ctrl+t")  # the last sweep again, on a new screen over the same model
        assert isinstance(app.screen, SweepScreen) and app.screen.sweep is live.sweep
        await pilot.press("escape")
        await pilot.press("ctrl+g")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen is not live)
        opened = app.screen
        assert isinstance(opened, SweepScreen) and opened.session is None
        assert opened.sweep.sweep_dir == sweeps.last.sweep_dir
        assert opened.query_one(Leaderboard).order == [m.index for m in ranked(live.sweep, SortKey.BEST)]
        assert [m.final_eval for m in opened.sweep.members] == [m.final_eval for m in live.sweep.members]


async def test_a_broken_sweep_json_is_one_line_in_the_picker(tmp_path):
    app, _ = app_with(tmp_path)
    bad = tmp_path / "runs" / "sweep-bad"
    bad.mkdir(parents=True)
    (bad / "sweep.json").write_text('{"kind": "lerax-tui-sweep", "version": 7}')
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+g")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.5)
        error = str(app.screen.query_one("#sweep-picker-error").render())
        assert "version 7 is not one this program reads" in error


async def test_a_finished_sweep_ranks_sorts_exports_and_opens_the_best_checkpoint(tmp_path):
    opened: list[Path] = []

    class Capturing(LeraxApp):
        CSS_PATH = str(Path(app_module.__file__).parent / "app.tcss")

        def on_open_checkpoint(self, request: OpenCheckpoint) -> None:
            opened.append(request.path)
            request.prevent_default()  # not the app's own handler too (it would open the real browser)

    sweeps = FakeSweepFactory(options={"chunk_delay": 0.02})
    app = Capturing(
        tmp_path / "runs",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        sweep_factory=sweeps,
        keymap_path=tmp_path / "no-keymap.toml",
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_sweep(
            pilot, app, learning_rate="1e-3,3e-3,1e-2", gamma="0.9,0.99", total_timesteps=4000, num_seeds=2
        )
        sweep = screen.sweep
        await until(pilot, lambda: app.main_screen.session is None and sweep.ended)
        await pilot.pause(0.3)
        assert sweep.phase == "finished" and sweeps.last.spec.num_configs == 6
        assert [m.status for m in sweep.members] == [ConfigStatus.FINISHED] * 6
        assert app.main_screen.form.disabled is False
        board = screen.query_one(Leaderboard)
        assert board.order == sorted(range(6), key=lambda i: (-factor(i, 6), i))  # best first
        # the evaluation column: each one's final evaluation (sweep.json's result), not its last periodic one
        record = read_sweep(sweeps.last.sweep_dir)
        title, shown = board_evals(board)
        assert title == "final eval"
        for m, entry in zip(sweep.members, record.configs, strict=True):
            assert entry.result is not None and entry.result.eval_return_mean is not None
            assert m.eval_mean is not None and abs(entry.result.eval_return_mean - m.eval_mean) > 1
            assert shown[m.index] == f"{entry.result.eval_return_mean:,.1f} ± 0.8"

        # the best checkpoint of the highlighted configuration's best seed
        index = board.current_index()
        assert index is not None
        await pilot.press("i")
        await until(pilot, lambda: bool(opened))
        member = sweep.members[index]
        assert opened[0].parent == member.run_dir / "checkpoints" and opened[0].stem.endswith("best")

        # sorting from the keyboard
        await pilot.press("s")  # latest greedy eval
        assert board.sort_key == "eval"
        await pilot.press("s", "s")  # configuration order
        assert board.order == list(range(6))
        await pilot.press("r")
        assert board.order == list(range(6))[::-1]

        # the CSV, in the order shown
        await pilot.press("x")
        path = sweeps.last.sweep_dir / "leaderboard.csv"
        await until(pilot, path.exists)
        rows = list(csv.DictReader(path.open()))
        assert [int(r["config"]) for r in rows] == board.order
        assert {r["gamma"] for r in rows} == {"0.9", "0.99"}

        # every key in the palette and in F1
        titles = [c.title for c in app.get_system_commands(screen)]
        for title in ("Sort by next column", "Use in form", "Inspect best checkpoint", "Export CSV", "Back"):
            assert title in titles
        await pilot.press("f1")
        await pilot.pause()
        help_text = app.screen.query_one("#help-text").source  # type: ignore[attr-defined]
        assert "## Leaderboard" in help_text and "leaderboard.export" in help_text and "sweep.view" in help_text
