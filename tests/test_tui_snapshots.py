"""SVG snapshots of the main screen (pytest-textual-snapshot). Review the report before updating:
``pytest tests/test_tui_snapshots.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory
from support.settle import settled

from lerax_tui.train.config import DQNConfig
from lerax_tui.tui.app import make_app


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative runs dir: the same text on every machine
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(tmp_path / "none.toml"))

    def build(**options):
        factory = FakeFactory(options={"run_name": "CartPole-v1-20260101-000000-5eed00", **options})
        return make_app(runs_dir=Path("runs"), env_id="CartPole-v1", trainer_factory=factory, catalogue=FAKE_CATALOGUE)

    return build


async def _ready(pilot) -> None:
    # snap_compare calls run_before as soon as the app starts, before the main screen is up.
    from lerax_tui.tui.widgets.env_picker import EnvPicker

    for _ in range(100):
        if (
            pilot.app.main_screen.is_mounted
            and pilot.app.main_screen.query(EnvPicker)
            and pilot.app.main_screen.query_one(EnvPicker).entries
        ):
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("main screen never came up")
    # The library defaults, not the CartPole preset: presets get tuned, these pictures should not move.
    pilot.app.main_screen.load_config("CartPole-v1", DQNConfig())
    await pilot.pause()


async def _train_to_the_end(pilot) -> None:
    screen = pilot.app.main_screen
    await pilot.press("f5")
    for _ in range(200):
        if screen.run.phase == "finished":
            break
        await pilot.pause(0.05)
    assert screen.run.phase == "finished", (screen.run.phase, screen.run.message)
    await settled(pilot)


def test_main_screen_idle(snap_compare, app_factory):
    assert snap_compare(app_factory(), terminal_size=(120, 36))


def test_main_screen_after_training_three_seeds(snap_compare, app_factory):
    app = app_factory()

    async def run_before(pilot):
        await _ready(pilot)
        await pilot.press("f3")
        form = app.main_screen.form
        form.rows["num_seeds"].editor.value = "3"
        form.rows["eval_interval"].editor.value = "5000"  # greedy evaluations marked on the chart
        await _train_to_the_end(pilot)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_small_terminal_80x24_training(snap_compare, app_factory):
    async def run_before(pilot):
        await _ready(pilot)
        await _train_to_the_end(pilot)

    assert snap_compare(app_factory(), terminal_size=(80, 24), run_before=run_before)
