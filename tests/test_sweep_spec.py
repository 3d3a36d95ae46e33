"""Sweep specs: grids and sampled ranges are read like --set, every bad sweep is one clear error before
anything runs, and sweep.json round-trips and refuses hostile content."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from lerax_tui.train import config as config_module
from lerax_tui.train.config import ConfigError, DQNConfig, preset, step_rules
from lerax_tui.train.sweep_cli import build_sweep_spec
from lerax_tui.train.sweep_record import (
    ConfigResult,
    ConfigStatus,
    SweepFileError,
    new_record,
    parse_sweep,
    read_sweep,
    write_sweep,
)
from lerax_tui.train.sweep_spec import (
    SHAPE_KEYS,
    TRACED_KEYS,
    SampleRange,
    build_spec,
    parse_field,
    parse_grid_args,
    parse_sample_args,
)


def test_field_text_is_a_list_or_a_range():
    assert parse_field("learning_rate", "1e-3, 3e-3,1e-2") == [1e-3, 3e-3, 1e-2]
    assert parse_field("learning_rate", "1e-3") == [1e-3]
    assert parse_field("double_dqn", "true,false") == [True, False]
    assert parse_field("loss", "huber, mse") == ["huber", "mse"]
    assert parse_field("total_timesteps", "1e4,50_000") == [10_000, 50_000]
    assert parse_field("learning_rate", "1e-4:1e-2:log") == SampleRange(1e-4, 1e-2, True)
    assert parse_field("batch_size", "32:256") == SampleRange(32, 256, False)


@pytest.mark.parametrize(
    "key, text, message",
    [
        ("learnin_rate", "1e-3", "learnin_rate: unknown hyperparameter"),
        ("learning_rate", "", "learning_rate: empty list"),
        ("learning_rate", "1e-3,,1e-2", "has an empty item"),
        ("learning_rate", "fast", "learning_rate: 'fast' is not a number"),
        ("gamma", "0.9,1.5", "gamma: 1.5 is out of range (allowed [0.0, 1.0])"),
        ("learning_rate", "0", "learning_rate: 0.0 is out of range"),
        ("width_size", "64,64", "width_size: 64 is listed twice"),
        ("loss", "huber,l1", "loss: 'l1' is not one of huber|mse"),
        ("seed", "0,1", "seed: cannot be swept"),
        ("num_seeds", "1,2", "num_seeds: cannot be swept"),
        ("loss", "a:b", "loss: is not a number"),
        ("learning_rate", "1e-2:1e-4", "has its low end above its high end"),
        ("gamma", "0:0.99:log", "needs a low end above 0"),
        ("gamma", "0.9:0.99:cubic", "is not a range"),
        ("gamma", "0.9:2", "gamma: 2.0 is out of range"),
    ],
)
def test_bad_field_text_is_one_clear_error(key, text, message):
    with pytest.raises(ConfigError) as info:
        parse_field(key, text)
    assert message in str(info.value)


def test_grid_product_and_key_split():
    grid = parse_grid_args(["learning_rate=1e-3,3e-3,1e-2", "gamma=0.98,0.99"])
    spec = build_spec(DQNConfig(), grid, seeds=4)
    assert spec.num_configs == 6 and spec.num_agents == 24
    assert spec.overrides[0] == {"learning_rate": 1e-3, "gamma": 0.98}
    assert spec.overrides[1] == {"learning_rate": 1e-3, "gamma": 0.99}
    assert spec.overrides[-1] == {"learning_rate": 1e-2, "gamma": 0.99}
    assert spec.traced_keys == ("learning_rate", "gamma") and spec.shape_keys == ()
    assert spec.programs() == [list(range(6))]
    assert spec.summary() == "6 configurations x 4 seeds = 24 agents"
    assert spec.config(5).learning_rate == 1e-2 and spec.config(5).num_seeds == 4
    assert {"width_size", "depth", "batch_size", "buffer_size", "num_envs", "n_step"} <= SHAPE_KEYS
    assert not SHAPE_KEYS & TRACED_KEYS


def test_shape_keys_give_one_program_per_distinct_shape():
    grid = parse_grid_args(["width_size=32,64", "learning_rate=1e-3,1e-2", "depth=1"])
    spec = build_spec(DQNConfig(), grid, seeds=2)
    assert spec.shape_keys == ("width_size", "depth")
    assert spec.programs() == [[0, 1], [2, 3]]
    assert spec.varying_keys == ("width_size", "learning_rate")
    assert spec.summary() == "4 configurations x 2 seeds = 8 agents in 2 programs"


def test_samples_are_seeded_rounded_and_in_range():
    sample = parse_sample_args(["learning_rate=1e-4:1e-2:log", "batch_size=16:128", "gamma=0.9:0.999"])
    grid = {"double_dqn": [True, False]}
    spec = build_spec(DQNConfig(seed=3), grid, sample, samples=20)
    assert spec.num_configs == 40
    draws = [o for o in spec.overrides if o["double_dqn"]]
    assert [{k: v for k, v in o.items() if k != "double_dqn"} for o in spec.overrides if not o["double_dqn"]] == [
        {k: v for k, v in o.items() if k != "double_dqn"} for o in draws
    ]  # every grid point meets the same draws
    for o in draws:
        assert 1e-4 <= o["learning_rate"] <= 1e-2 and isinstance(o["batch_size"], int) and 16 <= o["batch_size"] <= 128
        assert 0.9 <= o["gamma"] <= 0.999
        assert float(f"{o['learning_rate']:.3e}") == o["learning_rate"]  # four significant digits
    # log-uniform: about half the draws below the geometric middle (1e-3), far more than uniform's 9%
    assert sum(o["learning_rate"] < 1e-3 for o in draws) >= 5
    again = build_spec(DQNConfig(seed=3), grid, sample, samples=20)
    other = build_spec(DQNConfig(seed=4), grid, sample, samples=20)
    assert again.overrides == spec.overrides and other.overrides != spec.overrides


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(grid={"learning_rate": []}), "learning_rate: empty list"),
        (
            dict(grid={"gamma": [0.9]}, sample={"gamma": SampleRange(0.9, 0.99)}, samples=2),
            "both in --grid and --sample",
        ),
        (dict(sample={"gamma": SampleRange(0.9, 0.99)}), "--samples: --sample needs --samples N"),
        (dict(samples=3), "--samples: --samples needs at least one --sample"),
        (
            dict(grid={"width_size": list(range(1, 101)), "depth": list(range(0, 16)), "gamma": [0.9, 0.99, 0.999]}),
            "configurations is more than a sweep takes",
        ),
        (
            dict(grid={"batch_size": [32, 256]}),
            "batch_size: 256 is larger than buffer_size 128 (configuration 1: batch_size=256)",
        ),
        (dict(seeds=0), "--seeds: 0 is out of range"),
    ],
)
def test_bad_sweeps_are_one_clear_error(kwargs, message):
    with pytest.raises(ConfigError) as info:
        build_spec(DQNConfig(buffer_size=128), **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("pair, message", [("learning_rate", "is not KEY=VALUES"), ("=1,2", "no hyperparameter name")])
def test_bad_grid_arguments(pair, message):
    with pytest.raises(ConfigError, match=message):
        parse_grid_args([pair])
    with pytest.raises(ConfigError, match="twice"):
        parse_grid_args(["gamma=0.9", "gamma=0.99"])


def test_memory_check_counts_the_largest_program():
    grid = {"learning_rate": [1e-3, 1e-2, 1e-1], "buffer_size": [1000, 100_000]}
    spec = build_spec(DQNConfig(batch_size=64), grid, seeds=4)
    per_transition = 2 * 4 * 4 + 10  # CartPole's 4 floats, twice, plus action, reward and flags
    assert spec.program_bytes((4,)) == 3 * 4 * 100_000 * per_transition
    spec.check_memory((4,), None)
    spec.check_memory((4,), 10 * 3 * 4 * 100_000 * per_transition)
    with pytest.raises(ConfigError, match=r"12 agents \(3 configuration\(s\) x 4 seed\(s\)\) in one program need"):
        spec.check_memory((4,), 3 * 4 * 100_000 * per_transition)


def sweep_args(*, steps=None, grid=(), set=()):
    return argparse.Namespace(
        env_id="CartPole-v1", grid=list(grid), sample=[], samples=None, seeds=2, steps=steps, set=list(set)
    )


def test_sweep_steps_move_what_the_preset_derives_from_its_length_unless_given(monkeypatch):
    monkeypatch.setitem(config_module._FAMILY_SCALED, "cartpole", ("target_update_interval",))
    rules = step_rules("CartPole-v1")
    base = build_sweep_spec(sweep_args(steps=500_000, grid=["gamma=0.99,0.995"])).base
    assert base.total_timesteps == 500_000
    assert {name: getattr(base, name) for name in rules} == {name: rule(500_000) for name, rule in rules.items()}
    assert (base.eval_interval, base.target_update_interval) == (50_000, 80)  # as `train --steps 500000` runs it
    kept = build_sweep_spec(sweep_args(steps=500_000, set=["eval_interval=5000"])).base
    assert kept.eval_interval == 5_000
    swept = build_sweep_spec(sweep_args(steps=500_000, grid=["eval_interval=1000,2000"]))
    assert [o["eval_interval"] for o in swept.overrides] == [1_000, 2_000]
    same = build_sweep_spec(sweep_args(grid=["gamma=0.99,0.995"])).base
    assert same == preset("CartPole-v1").replace(num_seeds=2)


def test_sweep_json_round_trips(tmp_path):
    spec = build_spec(
        DQNConfig(), {"learning_rate": [1e-3, 1e-2]}, {"gamma": SampleRange(0.9, 0.99)}, samples=2, seeds=3
    )
    record = new_record(spec, "CartPole-v1", created="2026-01-01T00:00:00+00:00")
    record.update(1, status=ConfigStatus.FAILED, error="diverged")
    record.update(0, status=ConfigStatus.FINISHED, result=ConfigResult(200.0, [100.0, 300.0, 200.0], 250.0))
    write_sweep(tmp_path, record)
    raw = json.loads((tmp_path / "sweep.json").read_text())
    assert raw["kind"] == "lerax-tui-sweep" and raw["version"] == 1 and raw["seeds"] == 3 and raw["samples"] == 2
    assert raw["swept"] == {"learning_rate": [1e-3, 1e-2], "gamma": {"lo": 0.9, "hi": 0.99, "log": False}}
    assert raw["configs"][0]["run_dir"] == "config-000" and raw["configs"][0]["result"]["eval_return_mean"] == 200.0
    assert raw["configs"][1]["status"] == "failed" and raw["programs"] == 1 and raw["base"]["num_seeds"] == 3
    back = read_sweep(tmp_path)
    assert back.to_json() == raw
    assert back.spec().overrides == spec.overrides and back.spec().base == spec.base


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.update(kind="other"), "kind is 'other'"),
        (lambda r: r.update(version=2), "version 2"),
        (lambda r: r["configs"][0].update(run_dir="../../etc"), "expected a folder name inside the sweep folder"),
        (lambda r: r["configs"][0].update(status="done"), "status is 'done'"),
        (lambda r: r["configs"][1].update(index=0), "configs[1].index is 0"),
        (lambda r: r["configs"][0]["overrides"].update(gamma=7), "gamma: 7.0 is out of range"),
        (lambda r: r["configs"][0].update(result={"eval_return_mean": "high"}), "eval_return_mean is str"),
        (lambda r: r.update(seeds=True), "seeds is True"),
        (lambda r: r["swept"].update(gamma="0.9:0.99"), "swept.gamma is str"),
    ],
)
def test_hostile_sweep_json_is_refused(change, message):
    spec = build_spec(DQNConfig(), {"learning_rate": [1e-3, 1e-2]}, seeds=2)
    raw = new_record(spec, "CartPole-v1").to_json()
    change(raw)
    with pytest.raises(SweepFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_sweep(raw)


def test_importing_the_spec_starts_no_jax():
    code = "import sys, lerax_tui.train.sweep_spec, lerax_tui.train.sweep_record; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
