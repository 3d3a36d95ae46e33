"""SVG snapshots of the config form: every error at once, the focused field, eval_interval marked auto,
in the default theme at 80x24 and a light theme at 120x36. Review before updating:
``pytest tests/test_tui_form_snapshot.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory

from lerax_tui.train.config import DQNConfig
from lerax_tui.tui.app import make_app


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(tmp_path / "none.toml"))
    return make_app(
        runs_dir=Path("runs"),
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        memory_probe=lambda: 64 * 2**30,
    )


def editing(theme: str | None = None):
    async def run_before(pilot) -> None:
        screen = pilot.app.main_screen
        for _ in range(100):
            if screen.is_mounted and screen.query("#config-form"):
                break
            await pilot.pause(0.05)
        if theme:
            pilot.app.theme = theme
        # Fixed values (not the preset, which gets tuned); eval_interval = total/10, so it follows.
        screen.load_config("CartPole-v1", DQNConfig(eval_interval=5_000))
        await pilot.press("f3")
        rows = screen.form.rows
        rows["width_size"].editor.value = "0"
        rows["depth"].editor.value = "99"
        rows["total_timesteps"].editor.focus()
        await pilot.pause(0.2)

    return run_before


def test_form_errors_and_focus_80x24(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=editing())


def test_form_errors_and_focus_light_theme(snap_compare, app):
    assert snap_compare(app, terminal_size=(120, 36), run_before=editing("textual-light"))
