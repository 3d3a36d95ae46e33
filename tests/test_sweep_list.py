"""`lerax-tui sweep --configs FILE`: an explicit list of configurations. Hostile files are one line and
exit 2 before anything exists; a good list becomes a spec whose every configuration states every
listed key, times any grid, that sweep.json round-trips; a tiny list sweep trains (compiles: slow)."""

from __future__ import annotations

import argparse
import json
import os

import pytest
from support.configs import TINY

from lerax_tui.cli import main
from lerax_tui.train.config import ConfigError, preset, step_rules
from lerax_tui.train.sweep_cli import build_sweep_spec
from lerax_tui.train.sweep_list import MAX_LIST_BYTES, parse_config_list
from lerax_tui.train.sweep_record import new_record, parse_sweep, read_sweep

TINY_SET = [a for k, v in TINY.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]


def _write(tmp_path, text: str | bytes):
    path = tmp_path / "configs.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"learning_rate": 1e-3}', "holds an object, expected a list of objects"),
        ("[]", "is an empty list"),
        ('[{"gamma": 0.9}, 3]', "entry 1 is a number, expected an object"),
        ('[{"gamma": 0.9}, [1]]', "entry 1 is a list, expected an object"),
        ('[{"lerning_rate": 1e-3}]', "entry 0: lerning_rate: unknown hyperparameter"),
        ('[{"gamma": 1.5}]', "entry 0: gamma: 1.5 is out of range"),
        ('[{"gamma": null}]', "entry 0: gamma: None is not a number"),
        ('[{"gamma": [0.9, 0.99]}]', "entry 0: gamma: [0.9, 0.99] is not a number"),
        ('[{"width_size": 12.5}]', "entry 0: width_size: 12.5 is not a whole number"),
        ('[{"double_dqn": "maybe"}]', "entry 0: double_dqn: 'maybe' is not true or false"),
        ('[{"loss": 3}]', "entry 0: loss: 3 is not one of huber|mse"),
        ('[{"seed": 3}]', "entry 0: seed: cannot be swept"),
        ('[{"gamma": 0.9}, {"gamma": "0.9"}]', "entry 1 is the same configuration as entry 0"),
        ('[{"epsilon_start": 0.01}]', "epsilon_end: 0.04 is above epsilon_start 0.01 (configuration 0"),
        ("[{", "is not a JSON list of configurations"),
        (b"\xff\xfe[]", "is not a JSON list of configurations"),
        ("[" * 200 + "]" * 200, "is not a JSON list of configurations (JSON nested deeper"),
    ],
)
def test_bad_lists_are_one_line_exit_2_and_make_nothing(tmp_path, capsys, content, message):
    path = _write(tmp_path, content)
    code = main(["sweep", "CartPole-v1", "--runs-dir", str(tmp_path / "runs"), "--configs", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "runs").exists()


def test_files_that_are_not_lists_are_refused_without_reading_them(tmp_path, capsys):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # reading it would block forever
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(MAX_LIST_BYTES + 1)
    cases = {fifo: "is a FIFO", tmp_path: "is a folder", tmp_path / "missing.json": "does not exist", huge: "too large"}
    for path, message in cases.items():
        code = main(["sweep", "CartPole-v1", "--runs-dir", str(tmp_path / "runs"), "--configs", str(path)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "--configs" in err and message in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--grid", "gamma=0.9,0.99"], "gamma: is both in --configs and --grid"),
        (["--sample", "gamma=0.9:0.99", "--samples", "2"], "gamma: is both in --configs and --sample"),
        (["--set", "gamma=0.9"], "gamma: is both fixed by --set and swept"),
    ],
)
def test_a_listed_key_cannot_also_be_gridded_sampled_or_fixed(tmp_path, capsys, extra, message):
    path = _write(tmp_path, '[{"gamma": 0.95}, {"learning_rate": 1e-3}]')
    code = main(["sweep", "CartPole-v1", "--runs-dir", str(tmp_path / "runs"), "--configs", str(path), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err, err


def test_a_resumed_sweep_refuses_a_list(tmp_path, capsys):
    path = _write(tmp_path, '[{"gamma": 0.95}]')
    assert main(["sweep", "CartPole-v1", "--resume", str(tmp_path), "--configs", str(path)]) == 2
    assert "a resumed sweep keeps its configurations: drop --configs" in capsys.readouterr().err


def _args(path, *, grid=(), steps=None):
    return argparse.Namespace(
        env_id="CartPole-v1", grid=list(grid), sample=[], samples=None, seeds=3, steps=steps, set=[], configs=path
    )


def test_listed_configurations_state_every_listed_key_and_meet_every_grid_point(tmp_path):
    path = _write(tmp_path, '[{"learning_rate": "2e-3", "width_size": 32}, {"gamma": 0.9}, {}]')
    spec = build_sweep_spec(_args(path, grid=["tau=0.5,1"]))
    base = preset("CartPole-v1")
    lr, width, gamma = base.learning_rate, base.width_size, base.gamma
    assert [dict(o) for o in spec.overrides] == [
        {"learning_rate": 2e-3, "width_size": 32, "gamma": gamma, "tau": 0.5},
        {"learning_rate": 2e-3, "width_size": 32, "gamma": gamma, "tau": 1.0},
        {"learning_rate": lr, "width_size": width, "gamma": 0.9, "tau": 0.5},
        {"learning_rate": lr, "width_size": width, "gamma": 0.9, "tau": 1.0},
        {"learning_rate": lr, "width_size": width, "gamma": gamma, "tau": 0.5},
        {"learning_rate": lr, "width_size": width, "gamma": gamma, "tau": 1.0},
    ]
    assert spec.seeds == 3 and spec.num_agents == 18
    assert spec.swept == {
        "learning_rate": [2e-3, lr],
        "width_size": [32, width],
        "gamma": [gamma, 0.9],
        "tau": [0.5, 1.0],
    }
    assert spec.programs() == [[0, 1], [2, 3, 4, 5]]  # width_size changes the shapes: a program per width
    assert spec.summary() == "6 configurations x 3 seeds = 18 agents in 2 programs"
    # sweep.json keeps the list: a resume rebuilds the same configurations
    again = parse_sweep(json.loads(json.dumps(new_record(spec, "CartPole-v1").to_json()))).spec()
    assert again.overrides == spec.overrides and again.swept == spec.swept


def test_a_listed_length_brings_what_the_preset_derives_from_it(tmp_path):
    path = _write(tmp_path, '[{"total_timesteps": 500000}, {"total_timesteps": 50000, "train_frequency": 2}]')
    spec = build_sweep_spec(_args(path))
    rules = step_rules("CartPole-v1")
    long, short = spec.configs()
    assert long.total_timesteps == 500_000
    assert long.train_frequency == rules["train_frequency"](500_000) != preset("CartPole-v1").train_frequency
    assert long.eval_interval == rules["eval_interval"](500_000)
    assert short.train_frequency == 2 and short.eval_interval == rules["eval_interval"](50_000)
    with pytest.raises(ConfigError, match="total_timesteps is swept"):
        build_sweep_spec(_args(path, steps=1000))


def test_parse_config_list_reads_values_like_set():
    assert parse_config_list([{"learning_rate": "1e-3", "double_dqn": "false", "batch_size": 64.0}]) == [
        {"learning_rate": 1e-3, "double_dqn": False, "batch_size": 64}
    ]


@pytest.mark.slow
def test_a_listed_sweep_trains_each_listed_configuration(tmp_path, capsys):
    path = _write(tmp_path, '[{"learning_rate": 1e-3}, {"learning_rate": 3e-3, "double_dqn": false}]')
    runs_dir = tmp_path / "runs"
    code = main(
        ["sweep", "CartPole-v1", "--configs", str(path), "--steps", "256", "--seeds", "2"]
        + ["--runs-dir", str(runs_dir), "--json", *TINY_SET]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert [c["overrides"] for c in out["configs"]] == [
        {"learning_rate": 1e-3, "double_dqn": True},
        {"learning_rate": 3e-3, "double_dqn": False},
    ]
    assert out["programs"] == 1 and all(c["status"] == "finished" for c in out["configs"])
    assert all(len(c["eval_return_per_seed"]) == 2 for c in out["configs"])
    record = read_sweep(out["sweep_dir"])
    assert record.swept == {"learning_rate": [1e-3, 3e-3], "double_dqn": [True, False]}
