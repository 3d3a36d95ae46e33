"""A swept total_timesteps moves what the preset derives from the run's length (eval_interval, and
CartPole's train_frequency and target_update_interval) for each configuration, as `train --steps`
would for that length, unless set with --set or swept themselves; from the command line and the form.
No JAX, no training."""

from __future__ import annotations

import argparse

import pytest

from lerax_tui.train import config as config_module
from lerax_tui.train.config import preset, step_rules, with_total_timesteps
from lerax_tui.train.sweep_cli import build_sweep_spec
from lerax_tui.train.sweep_record import new_record, parse_sweep
from lerax_tui.train.sweep_spec import TRACED_KEYS
from lerax_tui.tui.sweep_form import read_form

ENV = "CartPole-v1"
SCALED = ("train_frequency", "target_update_interval")


@pytest.fixture(autouse=True)
def _cartpole_scales(monkeypatch):
    monkeypatch.setitem(config_module._FAMILY_SCALED, "cartpole", SCALED)


def args(*, grid=(), sample=(), samples=None, set=()):
    return argparse.Namespace(
        env_id=ENV, grid=list(grid), sample=list(sample), samples=samples, seeds=2, steps=None, set=list(set)
    )


def followed(config) -> dict:
    return {name: getattr(config, name) for name in step_rules(ENV)}


def test_each_swept_length_gets_its_own_derived_fields():
    spec = build_sweep_spec(args(grid=["total_timesteps=50000,500000", "gamma=0.99,0.995"]))
    totals = [c.total_timesteps for c in spec.configs()]
    assert totals == [50_000, 50_000, 500_000, 500_000]
    for config in spec.configs():
        alone = with_total_timesteps(preset(ENV), config.total_timesteps, env_id=ENV)  # `train --steps N`
        assert followed(config) == followed(alone)
    short, long = spec.config(0), spec.config(2)
    assert (short.eval_interval, long.eval_interval) == (5_000, 50_000)
    assert (long.train_frequency, long.target_update_interval) == (10 * short.train_frequency, 80)
    assert spec.varying_keys == ("total_timesteps", "gamma")  # derived values are no swept keys of their own
    # one program per length (a shape key); within one, the derived (traced) values are all equal
    assert spec.programs() == [[0, 1], [2, 3]]
    assert set(step_rules(ENV)) <= TRACED_KEYS
    for group in spec.programs():
        assert len({tuple(followed(spec.config(i)).items()) for i in group}) == 1


def test_set_or_swept_derived_fields_stay_as_given():
    spec = build_sweep_spec(args(grid=["total_timesteps=50000,500000"], set=["train_frequency=2"]))
    assert [c.train_frequency for c in spec.configs()] == [2, 2]
    assert [c.target_update_interval for c in spec.configs()] == [8, 80]
    spec = build_sweep_spec(args(grid=["total_timesteps=50000,500000", "eval_interval=1000,2000"]))
    assert [c.eval_interval for c in spec.configs()] == [1_000, 2_000, 1_000, 2_000]
    assert [c.train_frequency for c in spec.configs()] == [4, 4, 40, 40]
    unswept = build_sweep_spec(args(grid=["gamma=0.99,0.995"]))
    assert all(c == preset(ENV).replace(num_seeds=2, gamma=c.gamma) for c in unswept.configs())
    assert all(set(o) == {"gamma"} for o in unswept.overrides)


def test_sampled_lengths_follow_and_a_resumed_sweep_keeps_them():
    spec = build_sweep_spec(args(sample=["total_timesteps=20000:400000"], samples=4))
    for config in spec.configs():
        assert config.eval_interval == config.total_timesteps // 10
        assert config.train_frequency == max(1, round(4 * config.total_timesteps / 50_000))
    again = parse_sweep(new_record(spec, ENV).to_json()).spec()  # sweep.json read back, as --resume does
    assert again.configs() == spec.configs()


def test_the_form_sweeps_lengths_with_their_own_derived_fields():
    base = preset(ENV)
    raw = {k: str(v) for k, v in base.to_dict().items()}
    raw["total_timesteps"] = "50000, 500000"
    plain, sweep = read_form(raw)
    config = base.replace(total_timesteps=int(plain["total_timesteps"]))
    rules = step_rules(ENV)
    spec = sweep.spec(config, follow=rules)
    assert [c.train_frequency for c in spec.configs()] == [4, 40]
    assert [c.eval_interval for c in spec.configs()] == [5_000, 50_000]
    by_hand = sweep.spec(config, follow={k: r for k, r in rules.items() if k != "train_frequency"})
    assert [c.train_frequency for c in by_hand.configs()] == [4, 4]


async def test_the_app_form_gives_each_swept_length_its_own_derived_fields(tmp_path):
    from support.fake import FAKE_CATALOGUE, FakeFactory
    from support.pilot import until

    from lerax_tui.tui.app import make_app

    app = make_app(
        runs_dir=tmp_path / "runs",
        env_id=ENV,
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        form = app.main_screen.form  # type: ignore[attr-defined]
        form.rows["total_timesteps"].editor.value = "100000"
        await until(pilot, lambda: form.rows["train_frequency"].raw_value() == "8")
        form.rows["total_timesteps"].editor.value = "50000, 500000, 100000"
        await until(pilot, lambda: form.sweep is not None)
        assert [c.train_frequency for c in form.sweep.configs()] == [4, 40, 8]
        assert [c.target_update_interval for c in form.sweep.configs()] == [8, 80, 16]
        # the auto rows show what each length runs with, in the lengths' order, and are no sweep of their own
        shown = {name: form.rows[name].raw_value() for name in ("eval_interval", *SCALED)}
        assert shown == {"eval_interval": "5000, 50000, 10000", "train_frequency": "4, 40, 8"} | {
            "target_update_interval": "8, 80, 16"
        }
        assert all(form.rows[name].has_class("-follows") for name in shown)
        assert form.sweep.num_configs == 3 and form.sweep.varying_keys == ("total_timesteps",)
        assert form.config().train_frequency == 4  # the base configuration: the first length's
        assert form.edited_fields() == ["total_timesteps"]
        form.rows["target_update_interval"].editor.value = "16"  # set by hand: no longer follows
        await until(pilot, lambda: form.sweep is not None and form.sweep.config(1).target_update_interval == 16)
        assert [c.train_frequency for c in form.sweep.configs()] == [4, 40, 8]
        assert not form.rows["target_update_interval"].has_class("-follows")
        form.rows["total_timesteps"].editor.value = "20000:400000:log"  # a range: its ends' values
        await until(pilot, lambda: form.rows["eval_interval"].raw_value() == "2000:40000:log")
        assert form.rows["target_update_interval"].raw_value() == "16"
        await until(pilot, lambda: form.sweep is not None and form.sweep.varying_keys == ("total_timesteps",))
        assert all(c.eval_interval == c.total_timesteps // 10 for c in form.sweep.configs())
        form.rows["total_timesteps"].editor.value = "100000"  # one length again: plain values
        await until(pilot, lambda: form.rows["train_frequency"].raw_value() == "8" and form.sweep is None)
        assert form.rows["eval_interval"].raw_value() == "10000" and form.config().eval_interval == 10_000


def test_the_sweep_screen_counts_each_configuration_at_its_own_length():
    from lerax_tui.tui.sweep_run import SweepRun

    spec = build_sweep_spec(args(grid=["total_timesteps=50000,500000", "gamma=0.99,0.995"]))
    run = SweepRun(list(spec.overrides), spec.varying_keys, seeds=2, total_steps=spec.base.total_timesteps)
    assert run.total_steps == 2 * 50_000 + 2 * 500_000 and run.longest == 500_000
    plain = SweepRun([{"gamma": 0.99}, {"gamma": 0.995}], ("gamma",), seeds=2, total_steps=50_000)
    assert (plain.total_steps, plain.longest) == (100_000, 50_000)
