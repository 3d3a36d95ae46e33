"""lerax-tui: train and inspect DQN agents on gymnax environments from the terminal."""

__version__ = "0.1.0"
