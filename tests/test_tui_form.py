"""The config form as the user types: every error at once, the engine's limits live, edits kept unless
the user agrees to discard them, a "Cannot start" line that follows the fix, eval_interval following
total_timesteps (and the same in ``train --steps``)."""

from __future__ import annotations

import argparse

import pytest
from support.fake import FAKE_CATALOGUE, FakeFactory
from support.pilot import SIZE, until

from lerax_tui.train import config as config_module
from lerax_tui.train.cli import new_run_config
from lerax_tui.train.config import ConfigError, DQNConfig, preset, problems, step_rules, with_total_timesteps
from lerax_tui.train.memory import buffer_bytes_for, engine_problems
from lerax_tui.tui.app import make_app
from lerax_tui.tui.screens.dialogs import ConfirmDialog
from lerax_tui.tui.widgets.config_form import ConfigForm

GiB = 2**30


def form_app(tmp_path, memory: int | None = 64 * GiB):
    factory = FakeFactory(options={"chunk_delay": 0.02})
    app = make_app(
        runs_dir=tmp_path / "runs",
        trainer_factory=factory,
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "none.toml",
        memory_probe=lambda: memory,
    )
    return app, factory


async def type_into(pilot, name: str, text: str) -> None:
    editor = pilot.app.main_screen.form.rows[name].editor
    editor.value = text
    await pilot.pause()


def errors(form: ConfigForm) -> dict[str, str]:
    return {
        name: str(row.query_one(".field-error").render())
        for name, row in form.rows.items()
        if row.has_class("-invalid")
    }


# --- pure checks ----------------------------------------------------------------------------------


def test_problems_lists_every_field_then_the_rules_between_valid_fields():
    values = DQNConfig().to_dict() | {"gamma": 2.0, "num_envs": 0, "batch_size": 999_999, "epsilon_start": 0.01}
    found = problems(values)
    assert [e.field for e in found] == ["num_envs", "batch_size", "gamma", "epsilon_end"]
    assert "out of range" in str(found[1])  # batch_size's own range, not the rule against buffer_size
    values["batch_size"] = 60_000  # in range, larger than the buffer
    assert [e.field for e in problems(values)] == ["num_envs", "gamma", "batch_size", "epsilon_end"]
    with pytest.raises(ConfigError, match="num_envs"):
        DQNConfig(**values)  # the constructor raises the first of them


def test_engine_problems_without_jax():
    config = DQNConfig(total_timesteps=3_000_000_000, buffer_size=10**8, batch_size=64)
    need = buffer_bytes_for((4,), config)
    assert need == 10**8 * (2 * 16 + 10)
    found = engine_problems((4,), config, available=need)  # 80% of it is usable: too small
    assert [e.field for e in found] == ["total_timesteps", "buffer_size"]
    assert "32-bit step counter" in str(found[0]) and "GiB of replay buffer" in str(found[1])
    assert engine_problems((4,), DQNConfig(), available=None) == []  # unknown memory: not checked


def test_eval_interval_follows_total_timesteps_unless_set():
    base = preset("CartPole-v1")
    assert base.eval_interval == base.total_timesteps // 10
    assert with_total_timesteps(base, 2_000_000, env_id="CartPole-v1").eval_interval == 200_000
    assert (
        with_total_timesteps(base, 2_000_000, env_id="CartPole-v1", explicit=["eval_interval"]).eval_interval
        == base.eval_interval
    )
    custom = base.replace(eval_interval=777)  # not what its length derives: kept
    assert with_total_timesteps(custom, 2_000_000, env_id="CartPole-v1").eval_interval == 777


SCALED = ("train_frequency", "target_update_interval")


@pytest.fixture
def cartpole_scales(monkeypatch):
    """CartPole's family scaling its gradient steps and target updates with the run's length."""
    monkeypatch.setitem(config_module._FAMILY_SCALED, "cartpole", SCALED)


def test_the_cartpole_preset_keeps_its_updates_per_run_at_any_length():
    assert set(step_rules("CartPole-v1")) == {"eval_interval", *SCALED}  # the shipped table, no fixture
    long = new_run_config(cli_args(steps=500_000), {})
    assert (long.train_frequency, long.target_update_interval, long.eval_interval) == (40, 80, 50_000)
    assert new_run_config(cli_args(), {}) == preset("CartPole-v1")


def test_a_family_scales_its_fields_with_the_run_length(cartpole_scales):
    base = preset("CartPole-v1")
    rules = step_rules("CartPole-v1")
    assert set(rules) == {"eval_interval", "train_frequency", "target_update_interval"}
    assert {name: rule(base.total_timesteps) for name, rule in rules.items()} == {
        name: getattr(base, name) for name in rules
    }  # at its own length the preset is what it always was
    long = with_total_timesteps(base, 500_000, env_id="CartPole-v1")
    assert (long.train_frequency, long.target_update_interval, long.eval_interval) == (40, 80, 50_000)
    assert long == base.replace(
        total_timesteps=500_000, train_frequency=40, target_update_interval=80, eval_interval=50_000
    )
    assert with_total_timesteps(long, base.total_timesteps, env_id="CartPole-v1") == base  # and back
    short = with_total_timesteps(base, 10_000, env_id="CartPole-v1")
    assert (short.train_frequency, short.target_update_interval) == (1, 2)  # rounded, at least 1
    kept = with_total_timesteps(base, 500_000, env_id="CartPole-v1", explicit=["train_frequency"])
    assert (kept.train_frequency, kept.target_update_interval) == (base.train_frequency, 80)
    acrobot = preset("Acrobot-v1")  # its preset scales nothing but eval_interval
    assert set(step_rules("Acrobot-v1")) == {"eval_interval"}
    longer = with_total_timesteps(acrobot, 1_000_000, env_id="Acrobot-v1")
    assert longer == acrobot.replace(total_timesteps=1_000_000, eval_interval=100_000)


def cli_args(**given):
    return argparse.Namespace(**{"env_id": "CartPole-v1", "steps": None, "seed": None, "seeds": None, **given})


def test_train_cli_steps_move_eval_interval_unless_set(cartpole_scales):
    assert new_run_config(cli_args(steps=2_000_000), {}).eval_interval == 200_000
    assert new_run_config(cli_args(), {"total_timesteps": 2_000_000}).eval_interval == 200_000
    kept = new_run_config(cli_args(steps=2_000_000), {"eval_interval": 5_000})
    assert (kept.total_timesteps, kept.eval_interval) == (2_000_000, 5_000)
    assert new_run_config(cli_args(), {}) == preset("CartPole-v1")
    scaled = new_run_config(cli_args(steps=500_000), {"target_update_interval": 8})
    assert (scaled.train_frequency, scaled.target_update_interval) == (40, 8)  # --set wins over following
    with pytest.raises(ConfigError, match="contradicts"):
        new_run_config(cli_args(steps=10), {"total_timesteps": 20})


# --- the form in the app --------------------------------------------------------------------------


async def test_every_error_shows_at_once_and_engine_limits_live(tmp_path):
    app, factory = form_app(tmp_path, memory=1 * GiB)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.main_screen.memory_available == 1 * GiB)
        form = app.main_screen.form
        await type_into(pilot, "learning_rate", "fast")
        await type_into(pilot, "gamma", "2")
        await type_into(pilot, "num_envs", "0")
        shown = errors(form)
        assert set(shown) == {"learning_rate", "gamma", "num_envs"}
        assert "'fast' is not a number" in shown["learning_rate"] and "out of range" in shown["gamma"]
        for name, value in (("learning_rate", "1e-3"), ("gamma", "0.99"), ("num_envs", "8")):
            await type_into(pilot, name, value)
        assert errors(form) == {}
        await type_into(pilot, "total_timesteps", "3000000000")  # past the 32-bit step counter
        await type_into(pilot, "buffer_size", "50000000")  # 50M CartPole transitions: ~2 GiB > 1 GiB
        shown = errors(form)
        assert "32-bit step counter" in shown["total_timesteps"] and "GiB" in shown["buffer_size"]
        await pilot.press("f5")  # refused before anything starts
        await pilot.pause()
        assert factory.made == [] and app.main_screen.session is None


async def test_cannot_start_line_follows_the_fix(tmp_path):
    app, factory = form_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "gamma", "2")
        await type_into(pilot, "tau", "0")
        await pilot.press("f5")
        await pilot.pause()
        status = lambda: str(app.query_one("#status").render())  # noqa: E731
        assert "Cannot start: gamma" in status()
        await type_into(pilot, "gamma", "0.9")
        assert "Cannot start: tau" in status() and "gamma" not in status()
        await type_into(pilot, "tau", "1")
        assert "Cannot start" not in status()
        await pilot.press("f5")
        await until(pilot, lambda: factory.made)
        await pilot.press("f5")
        await until(pilot, lambda: app.main_screen.session is None)


async def test_switching_environment_asks_before_discarding_edits(tmp_path):
    app, _ = form_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main_screen
        screen.select_env("Acrobot-v1")  # nothing edited: no question
        await pilot.pause()
        assert screen.env_id == "Acrobot-v1" and not isinstance(app.screen, ConfirmDialog)
        await type_into(pilot, "learning_rate", "0.0005")
        screen.select_env("CartPole-v1")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "learning_rate" in str(app.screen.query_one("#dialog-message").render())
        await pilot.press("n")
        await pilot.pause()
        assert screen.env_id == "Acrobot-v1" and screen.form.rows["learning_rate"].raw_value() == "0.0005"
        screen.select_env("CartPole-v1")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert screen.env_id == "CartPole-v1"
        assert screen.form.rows["learning_rate"].raw_value() == f"{preset('CartPole-v1').learning_rate:g}"
        assert screen.form.edited_fields() == []


async def test_eval_interval_follows_total_timesteps_in_the_form(tmp_path):
    app, _ = form_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = app.main_screen.form
        assert form.rows["eval_interval"].has_class("-follows")
        await type_into(pilot, "total_timesteps", "")  # half typed: left alone
        await type_into(pilot, "total_timesteps", "2000000")
        assert form.rows["eval_interval"].raw_value() == "200000"
        assert form.edited_fields() == ["total_timesteps"]  # eval_interval only followed it
        await type_into(pilot, "eval_interval", "7000")  # set by hand: no longer follows
        assert not form.rows["eval_interval"].has_class("-follows")
        await type_into(pilot, "total_timesteps", "100000")
        assert form.rows["eval_interval"].raw_value() == "7000"
        assert form.config().eval_interval == 7000
        assert form.edited_fields() == ["total_timesteps", "eval_interval"]
        await pilot.press("ctrl+r")  # the preset again: it follows again
        await pilot.pause()
        assert form.rows["eval_interval"].has_class("-follows")


async def test_fields_the_preset_scales_follow_total_timesteps_in_the_form(tmp_path, cartpole_scales):
    app, _ = form_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = app.main_screen.form  # CartPole-v1: train_frequency and target_update_interval scale
        scaled = SCALED
        assert all(form.rows[name].has_class("-follows") for name in scaled)
        assert not form.rows["learning_rate"].has_class("-follows")
        await type_into(pilot, "total_timesteps", "500000")
        assert [form.rows[name].raw_value() for name in scaled] == ["40", "80"]
        assert form.edited_fields() == ["total_timesteps"]
        await type_into(pilot, "target_update_interval", "12")  # set by hand: kept, no longer follows
        assert not form.rows["target_update_interval"].has_class("-follows")
        await type_into(pilot, "total_timesteps", "100000")
        config = form.config()
        assert (config.train_frequency, config.target_update_interval) == (8, 12)
        assert form.edited_fields() == ["total_timesteps", "target_update_interval"]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert all(form.rows[name].has_class("-follows") for name in scaled)
