"""Action names per environment, and Q-values drawn as one bar per action."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text

from lerax_tui.render.canvas import fmt

# MinAtar's full action set, in its order: ['n', 'l', 'u', 'r', 'd', 'f'].
_MINATAR_FULL = ["noop", "left", "up", "right", "down", "fire"]
# Each game's gymnax minimal action set (indices into the full set).
_MINATAR_MINIMAL = {
    "Asterix-MinAtar": [0, 1, 2, 3, 4],
    "Breakout-MinAtar": [0, 1, 3],
    "Freeway-MinAtar": [0, 2, 4],
    "Seaquest-MinAtar": [0, 1, 2, 3, 4, 5],
    "SpaceInvaders-MinAtar": [0, 1, 3, 5],
}
_NAMES = {
    "CartPole-v1": ["left", "right"],
    "Acrobot-v1": ["-1 torque", "0", "+1 torque"],
    "MountainCar-v0": ["left", "none", "right"],
    "Catch-bsuite": ["left", "stay", "right"],
    # gymnax's directions [[-1, 0], [0, 1], [1, 0], [0, -1]] as (row, col) moves.
    "FourRooms-misc": ["up", "right", "down", "left"],
    "MetaMaze-misc": ["up", "right", "down", "left"],
    "Pong-misc": ["stay", "up", "down"],
    "UmbrellaChain-bsuite": ["no umbrella", "umbrella"],
}
_PREFIXED = {
    "BernoulliBandit-misc": "arm ",
    "GaussianBandit-misc": "arm ",
    "SimpleBandit-bsuite": "arm ",
    "DiscountingChain-bsuite": "chain ",
}


def action_names(env_id: str, n: int) -> list[str]:
    """Names of ``env_id``'s ``n`` discrete actions, in action-index order.

    Args:
        env_id: A gymnax id.
        n: How many actions the policy has (names are only used when the count matches).

    Returns:
        ``n`` names, e.g. CartPole ``["left", "right"]``, Breakout ``["noop", "left", "right"]``;
        ``["a0", "a1", ...]`` for an env without known names.
    """
    known = _NAMES.get(env_id)
    if known is None and env_id in _MINATAR_MINIMAL:
        minimal = _MINATAR_MINIMAL[env_id]
        known = [_MINATAR_FULL[a] for a in minimal] if n == len(minimal) else list(_MINATAR_FULL)
    if known is not None and len(known) == n:
        return list(known)
    if env_id in _PREFIXED:
        return [f"{_PREFIXED[env_id]}{i}" for i in range(n)]
    return [f"a{i}" for i in range(n)]


def q_value_bars(q_values: Any, chosen: int, *, width: int = 30, action_names: list[str] | None = None) -> Text:
    """One line per action, in index order: marker, name, value and a bar; the chosen one highlighted.

    The bars span the Q-values' own range (the smallest gets one cell, the largest the full bar), so
    the small differences a greedy choice rests on are visible; the numbers give the scale.

    Args:
        q_values: One Q-value per action.
        chosen: The index of the chosen action (marked with ``▶``); out of range marks none.
        width: Cells across.
        action_names: One name per action (``a0``, ``a1``, ... when None or the wrong length).

    Returns:
        ``len(q_values)`` lines, none wider than ``width``.
    """
    q = np.asarray(q_values, dtype=float).reshape(-1)
    names = (
        action_names if action_names is not None and len(action_names) == q.size else [f"a{i}" for i in range(q.size)]
    )
    finite = q[np.isfinite(q)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    name_w = min(max((len(name) for name in names), default=1), max(3, width // 3))
    value_w = 8
    bar_w = max(0, width - 2 - name_w - 1 - value_w - 1)
    lines = []
    for i, value in enumerate(q):
        is_chosen = i == chosen
        if not math.isfinite(value):
            cells = 0
        elif hi > lo:
            cells = 1 + int(round((value - lo) / (hi - lo) * (bar_w - 1)))
        else:
            cells = bar_w
        cells = max(0, min(bar_w, cells))
        line = Text()
        line.append("▶ " if is_chosen else "  ", style="bold green")
        line.append(names[i][:name_w].ljust(name_w), style="bold green" if is_chosen else "")
        line.append(" " + fmt(float(value), 3).rjust(value_w) + " ", style="bold" if is_chosen else "dim")
        line.append("█" * cells, style="green" if is_chosen else "blue")
        line.append("░" * (bar_w - cells), style="grey23")
        if line.cell_len > width:
            line.truncate(width, overflow="crop")
        lines.append(line)
    return Text("\n").join(lines)
