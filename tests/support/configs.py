"""The tiny DQN configuration the engine, runner and stop tests share: compiles in seconds on 2 cores."""

from __future__ import annotations

TINY = dict(
    width_size=8,
    depth=1,
    num_envs=2,
    total_timesteps=256,
    buffer_size=128,
    batch_size=8,
    learning_starts=32,
    train_frequency=2,
    target_update_interval=32,
    eval_episodes=2,
)
