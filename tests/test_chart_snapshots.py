"""SVG snapshots of the chart's settings, the loss/epsilon charts and the system pane, at 120x36 and
80x24 (pytest-textual-snapshot; review the report before ``--snapshot-update``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory
from support.settle import settled

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.system_stats import DeviceMemory, SystemSample, SystemSampler
from lerax_tui.tui.app import make_app
from lerax_tui.tui.widgets.return_chart import ReturnChart
from lerax_tui.tui.widgets.system_pane import SystemPane


class FixedSampler(SystemSampler):
    """The same figures every second: pictures that do not depend on the machine."""

    def sample(self) -> SystemSample:
        devices = [DeviceMemory("gpu:0", 3_221_225_472, 85_899_345_920), DeviceMemory("gpu:1", 1_073_741_824, None)]
        return SystemSample(143.0, 1_288_490_189, devices=devices, cpu_count=16)


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(tmp_path / "none.toml"))

    def build():
        factory = FakeFactory(options={"run_name": "CartPole-v1-20260101-000000-5eed00"})
        return make_app(runs_dir=Path("runs"), env_id="CartPole-v1", trainer_factory=factory, catalogue=FAKE_CATALOGUE)

    return build


async def _train(pilot, seeds: int = 3) -> None:
    screen = pilot.app.main_screen
    for _ in range(100):
        if screen.is_mounted and screen.query_one("#env-picker").entries:
            break
        await pilot.pause(0.05)
    screen.load_config("CartPole-v1", DQNConfig(num_seeds=seeds, eval_interval=2_500))
    await pilot.press("f5")
    for _ in range(200):
        if screen.run.phase == "finished":
            break
        await pilot.pause(0.05)
    assert screen.run.phase == "finished"


def _chart_settings_test(size):
    async def run_before(pilot):
        await _train(pilot)
        pilot.app.query_one(ReturnChart).focus()
        await pilot.press("b", "b", "l", "z")  # 95% CI band, log y, the last 50%
        pilot.app.clear_notifications()  # the keys' toasts come and go on a timer: not part of the picture
        await settled(pilot)

    return size, run_before


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_chart_ci_band_log_y_zoomed(snap_compare, app_factory, size):
    size, run_before = _chart_settings_test(size)
    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_system_pane_with_two_accelerators(snap_compare, app_factory, size):
    async def run_before(pilot):
        await _train(pilot, seeds=1)
        pane = pilot.app.query_one(SystemPane)
        pane.sampler = FixedSampler()
        await pilot.press("f7")
        for _ in range(50):
            if pane.last is not None:
                break
            await pilot.pause(0.05)
        await settled(pilot)

    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)
