"""SVG snapshots of the sweep views (pytest-textual-snapshot), at 120x36 and 80x24, driven by the fake
sweep trainer (no JAX). Review the report before updating:
``pytest tests/test_sweep_snapshots.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory
from support.fake_sweep import FakeSweepFactory

from lerax_tui.train.config import DQNConfig
from lerax_tui.tui.app import make_app
from lerax_tui.tui.screens.sweep import SweepScreen

SWEEP = {"learning_rate": "1e-3, 3e-3, 1e-2", "gamma": "0.9,0.99", "num_seeds": "2", "total_timesteps": "20000"}


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative runs dir: the same text on every machine
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(tmp_path / "none.toml"))

    def build():
        return make_app(
            runs_dir=Path("runs"),
            env_id="CartPole-v1",
            trainer_factory=FakeFactory(),
            catalogue=FAKE_CATALOGUE,
            sweep_factory=FakeSweepFactory(options={"fail_index": 4}),
        )

    return build


async def _form(pilot) -> None:
    from lerax_tui.tui.widgets.env_picker import EnvPicker

    for _ in range(100):
        main = pilot.app.main_screen
        if main.is_mounted and main.query(EnvPicker) and main.query_one(EnvPicker).entries:
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("main screen never came up")
    main.load_config("CartPole-v1", DQNConfig())  # the library defaults: presets get tuned, pictures should not move
    await pilot.press("f3")
    for name, value in SWEEP.items():
        main.form.rows[name].editor.value = value
    await pilot.pause()


async def _sweep_to_the_end(pilot) -> None:
    await _form(pilot)
    await pilot.press("f5")
    for _ in range(400):
        screen = pilot.app.screen
        if isinstance(screen, SweepScreen) and screen.sweep.ended and pilot.app.main_screen.session is None:
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("the sweep never ended")
    from lerax_tui.tui.widgets.sweep_chart import SweepChart

    screen = pilot.app.screen
    chart = screen.query_one(SweepChart)
    for _ in range(200):  # the screen saw the last event, and the chart's redraw (a thread worker) ended
        await pilot.pause(0.05)
        if (screen.session is None or screen._version == screen.session.version) and chart.up_to_date:
            break
    else:
        raise AssertionError("the sweep chart never caught up")


def test_form_with_swept_fields(snap_compare, app_factory):
    async def run_before(pilot):
        await _form(pilot)
        pilot.app.main_screen.query_one("#chart").focus()  # not an Input: its blinking cursor made the picture flaky
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=(120, 36), run_before=run_before)


def test_sweep_screen_finished(snap_compare, app_factory):
    assert snap_compare(app_factory(), terminal_size=(120, 36), run_before=_sweep_to_the_end)


def test_sweep_screen_80x24(snap_compare, app_factory):
    assert snap_compare(app_factory(), terminal_size=(80, 24), run_before=_sweep_to_the_end)


def test_sweep_sensitivity_80x24(snap_compare, app_factory):
    async def run_before(pilot):
        await _sweep_to_the_end(pilot)
        await pilot.press("v")
        await pilot.pause(0.5)

    assert snap_compare(app_factory(), terminal_size=(80, 24), run_before=run_before)
