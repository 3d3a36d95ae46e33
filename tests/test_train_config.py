"""Configuration validation messages name the field, the value and the allowed range; presets are valid."""

from __future__ import annotations

import pytest

from lerax_tui.train.config import ConfigError, DQNConfig, parse_overrides, preset


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"gamma": 1.5}, "gamma: 1.5 is out of range (allowed [0.0, 1.0])"),
        ({"learning_rate": 0.0}, "learning_rate: 0.0 is out of range (allowed (0.0, 1.0])"),
        ({"loss": "l1"}, "loss: 'l1' is not one of huber|mse"),
        ({"batch_size": 512, "buffer_size": 100}, "batch_size: 512 is larger than buffer_size 100"),
        ({"epsilon_end": 0.9, "epsilon_start": 0.5}, "epsilon_end: 0.9 is above epsilon_start 0.5"),
        ({"n_step": 0}, "n_step: 0 is out of range (allowed [1, 64])"),
        ({"num_envs": 2.5}, "num_envs: 2.5 is not a whole number"),
    ],
)
def test_messages(changes, message):
    with pytest.raises(ConfigError) as info:
        DQNConfig(**changes)
    assert message in str(info.value)


def test_overrides_are_typed():
    assert parse_overrides(["learning_rate=3e-4", "width_size=128", "double_dqn=false", "total_timesteps=1e5"]) == {
        "learning_rate": 3e-4,
        "width_size": 128,
        "double_dqn": False,
        "total_timesteps": 100_000,
    }


@pytest.mark.parametrize(
    "env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Breakout-MinAtar", "Catch-bsuite", "FourRooms-misc"]
)
def test_presets_are_valid_and_fit_the_engine(env_id):
    from lerax_tui.core import make_env
    from lerax_tui.train.dqn import check_engine

    config = preset(env_id)
    check_engine(make_env(env_id), config)
    assert DQNConfig.from_dict(config.to_dict()) == config
    # every preset evaluates ten times over its run, the last time at its last step
    assert config.eval_interval * 10 == config.total_timesteps
