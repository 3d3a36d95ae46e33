"""The chart's keys, the loss/epsilon charts, the system pane and honest progress, driven with Pilot
and the fake trainer (no JAX): keys by binding id, remapped through the keymap, in the palette and
the F1 help."""

from __future__ import annotations

import re
from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.pilot import until

from lerax_tui.train.system_stats import DeviceMemory, SystemSampler
from lerax_tui.tui.app import LeraxApp, make_app
from lerax_tui.tui.chart_settings import Band, XAxis
from lerax_tui.tui.screens.help import HelpScreen
from lerax_tui.tui.widgets.metrics_view import MetricsView
from lerax_tui.tui.widgets.return_chart import ReturnChart
from lerax_tui.tui.widgets.status_bar import StatusBar
from lerax_tui.tui.widgets.system_pane import SystemPane

SIZE = (120, 36)


def app_with(tmp_path: Path, keymap: str = "", **options) -> LeraxApp:
    keymap_path = tmp_path / "keymap.toml"
    keymap_path.write_text(keymap)
    return make_app(
        runs_dir=tmp_path / "runs",
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(options={"chunk_delay": 0.0, **options}),
        catalogue=FAKE_CATALOGUE,
        keymap_path=keymap_path,
    )


async def _trained(pilot, app: LeraxApp, seeds: int = 3) -> ReturnChart:
    app.main_screen.form.rows["num_seeds"].editor.value = str(seeds)
    await pilot.press("f5")
    await until(pilot, lambda: app.main_screen.run.phase == "finished")
    chart = app.query_one(ReturnChart)
    chart.focus()
    await pilot.pause()
    return chart


async def test_chart_keys_change_what_is_drawn(tmp_path):
    app = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chart = await _trained(pilot, app)
        chart.redraw_now()
        assert "min-max of 3 seeds" in chart.render().plain
        await pilot.press("b")
        await pilot.press("b")
        assert chart.settings.band == Band.CI95
        chart.redraw_now()
        assert "95% CI of 3 seeds" in chart.render().plain
        await pilot.press("s")
        assert chart.settings.smoothing == 50
        await pilot.press("x")
        assert chart.settings.x_axis == XAxis.WALL
        chart.redraw_now()
        assert "wall time · smooth 50" in chart.render().plain
        await pilot.press("x", "l", "z")
        chart.redraw_now()
        plain = chart.render().plain
        assert "episodes · smooth 50 · log y · last 50%" in plain
        await pilot.press("0", "p")
        assert chart.settings.zoom == 1.0 and chart.settings.pinned_y is not None
        pinned = chart.settings.pinned_y
        app.main_screen.run.history.extend(0, [50_000], [1e6])  # a wild return: the pinned range holds
        chart.redraw_now()
        assert chart.settings.pinned_y == pinned
        await pilot.press("p")
        assert chart.settings.pinned_y is None


async def test_chart_keys_are_remappable_and_in_the_palette_and_help(tmp_path):
    app = app_with(tmp_path, keymap='"chart.log_y" = "g"\n"view.system" = "f8"\n')
    async with app.run_test(size=SIZE) as pilot:
        chart = await _trained(pilot, app, seeds=1)
        await pilot.press("l")
        assert not chart.settings.log_y  # moved away from l
        await pilot.press("g")
        assert chart.settings.log_y
        focused = {c.title: c.help for c in app.get_system_commands(app.screen)}  # the chart's keys are active
        assert focused["Log / linear y"] == "g on this screen" and "Chart: Log / linear y" not in focused
        assert focused["System pane"] == "f8 on this screen"
        app.query_one("#env-list").focus()
        await pilot.pause()
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}  # ...and from anywhere
        assert commands["Chart: Log / linear y"] == "g on the chart"
        assert commands["Chart: Seed band: min-max / std / 95% CI"] == "b on the chart"
        chart.focus()
        await pilot.pause()
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.screen.keys)
        assert "Return chart" in app.screen.pane_help
        assert keys["g"].endswith("(id `chart.log_y`)") and "(id `chart.zoom`)" in keys["z"]
        await pilot.press("escape")
        await pilot.press("f8")
        assert app.query_one(SystemPane).display


async def test_the_palette_command_runs_on_the_chart_from_anywhere(tmp_path):
    app = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(ReturnChart)
        assert not chart.has_focus
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Chart: Zoom to the last 50/20/10%")
        await command.callback()
        await pilot.pause()
        assert chart.settings.zoom == 0.5


async def test_loss_and_epsilon_charts_have_axes(tmp_path):
    app = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _trained(pilot, app, seeds=1)
        metrics = app.query_one(MetricsView)
        metrics.redraw_now()
        text = metrics.render().plain
        assert "(log)" in text and "ε 0.040" in text and "┤" in text and "50k" in text


class _FakeDevices:
    def __call__(self):
        return [DeviceMemory("gpu:0", 3 << 30, 80 << 30)]


async def test_system_pane_toggles_and_samples_off_the_ui_thread(tmp_path):
    app = app_with(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(SystemPane)
        threads: list[str] = []

        def devices():
            import threading

            threads.append(threading.current_thread().name)
            return _FakeDevices()()

        pane.sampler = SystemSampler(devices=devices)
        assert not pane.display
        await pilot.press("f7")
        await until(pilot, lambda: pane.last is not None)
        assert pane.display and threads and threads[0] != "MainThread"
        text = str(pane.render())
        assert "gpu:0 3.0 GiB / 80.0 GiB (4%)" in text and "RSS" in text
        await until(pilot, lambda: len(threads) >= 2, timeout=3)  # about once a second while shown
        await pilot.press("f7")
        assert not pane.display


async def test_status_shows_compile_time_while_compiling_and_after(tmp_path):
    app = app_with(tmp_path, compile_delay=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        status = app.query_one(StatusBar)
        ticking = re.compile(r"compiling… 0:0[1-9]")  # the clock moves while nothing else reports
        await until(pilot, lambda: ticking.search(str(status.render())) is not None, timeout=6)
        await until(pilot, lambda: app.main_screen.run.phase == "finished", timeout=10)
        await pilot.pause(0.3)
        assert "compile 0.5s" in str(status.render())  # what the trainer measured
