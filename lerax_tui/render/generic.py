"""The view for environments without a scene of their own: the observation itself.

A vector becomes one labelled bar per value around a zero axis, scaled to the largest magnitude;
a 2-D observation a heat grid; a 3-D one of on/off channels a coloured channel grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text

from lerax_tui.render.canvas import fmt, signed_bar, vstack
from lerax_tui.render.grids import EMPTY, Swatch, grid_with_legend, render_channels

# What each observation entry means, where gymnax documents it.
_LABELS: dict[str, list[str]] = {
    "CartPole-v1": ["x", "x_dot", "theta", "theta_dot"],
    "Acrobot-v1": ["cos θ1", "sin θ1", "cos θ2", "sin θ2", "ω1", "ω2"],
    "MountainCar-v0": ["position", "velocity"],
    "FourRooms-misc": ["pos row", "pos col", "goal row", "goal col"],
    "DiscountingChain-bsuite": ["context", "time"],
}


def observation_labels(env_id: str, n: int) -> list[str]:
    """A short name for each of the ``n`` entries of ``env_id``'s flat observation.

    Known layouts get their names (CartPole's ``x``, ``theta``, ...); anything else ``obs[i]``.
    """
    known = _LABELS.get(env_id)
    if known is not None and len(known) == n:
        return list(known)
    if env_id == "MemoryChain-bsuite" and n >= 2:
        return ["time left", "query"] + [f"context {i}" for i in range(n - 2)]
    if env_id == "UmbrellaChain-bsuite" and n >= 3:
        return ["need umbrella", "has umbrella", "time left"] + [f"distractor {i}" for i in range(n - 3)]
    if env_id in ("BernoulliBandit-misc", "GaussianBandit-misc") and n >= 2:
        return ["last reward"] + [f"last a{i}" for i in range(n - 2)] + ["time"]
    if env_id == "MetaMaze-misc" and n == 15:
        return (
            [f"view {r},{c}" for r in range(3) for c in range(3)]
            + [f"last a{i}" for i in range(4)]
            + ["last reward", "time"]
        )
    return [f"obs[{i}]" for i in range(n)]


def render_vector(
    values: Any, *, width: int, height: int, labels: list[str] | None = None, title: str = "observation"
) -> Text:
    """One line per value: its label, the number, and a bar around zero scaled to the largest |value|.

    Args:
        values: Anything numpy can flatten.
        width: Cells across.
        height: Rows, including the title line; values that do not fit are counted on the last line.
        labels: One label per value (``obs[i]`` when None).
        title: The first line's text.
    """
    flat = np.asarray(values, dtype=float).reshape(-1)
    labels = labels if labels is not None and len(labels) == flat.size else [f"obs[{i}]" for i in range(flat.size)]
    finite = flat[np.isfinite(flat)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    header = Text.assemble((title, "bold"), (f"  {flat.size} values, max |x| {scale:.3g}", "dim"))
    rows = height - 1
    if rows < 1:
        return header
    shown = flat.size if flat.size <= rows else rows - 1
    label_w = min(max((len(label) for label in labels), default=1), 14)
    value_w = 8
    half = max(0, (width - label_w - value_w - 3) // 2)
    lines = []
    for i in range(shown):
        line = Text()
        line.append(labels[i][:label_w].ljust(label_w), style="bold")
        line.append(" " + fmt(float(flat[i]), 3).rjust(value_w) + " ")
        line.append_text(signed_bar(float(flat[i]), scale, half))
        lines.append(line)
    if shown < flat.size:
        lines.append(Text(f"… {flat.size - shown} more", style="dim"))
    return vstack(header, Text("\n").join(lines))


# Heat levels: magenta for negative values, blue to yellow for positive, darker nearer zero.
_HEAT = [
    Swatch("< 0", "magenta", "░░"),
    Swatch("< 0", "magenta", "▒▒"),
    Swatch("< 0", "magenta", "▓▓"),
    Swatch("< 0", "bright_magenta", "██"),
    Swatch("> 0", "blue", "░░"),
    Swatch("> 0", "cyan", "▒▒"),
    Swatch("> 0", "green", "▓▓"),
    Swatch("> 0", "bright_yellow", "██"),
]


def heat_grid(values: np.ndarray) -> np.ndarray:
    """Quantise a 2-D array into :data:`_HEAT` indices by |value| / max |value| (zero stays empty)."""
    values = np.nan_to_num(np.asarray(values, dtype=float))
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if scale == 0:
        return np.full(values.shape, EMPTY, dtype=np.int64)
    level = np.clip(np.ceil(np.abs(values) / scale * 4) - 1, 0, 3).astype(np.int64)
    grid = np.where(values > 0, 4 + level, level)
    return np.where(values == 0, EMPTY, grid)


def render_heat(values: Any, *, width: int, height: int, title: str = "observation") -> Text:
    """A 2-D array as a heat grid: shade and colour by magnitude and sign, zero cells dotted."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    header = Text.assemble((title, "bold"), (f"  {values.shape[0]}x{values.shape[1]}, range {lo:.3g}..{hi:.3g}", "dim"))
    key = Text("\n").join(
        [
            Text.assemble(*[(s.glyph, s.colour) for s in _HEAT[4:]], (" > 0", "dim")),
            Text.assemble(*[(s.glyph, s.colour) for s in _HEAT[:4]], (" < 0", "dim")),
        ]
    )
    return grid_with_legend(heat_grid(values), _HEAT, header, width=width, height=height, key=key)


def render_generic(env_state: Any, observation: Any, *, width: int, height: int, env_id: str = "", **_: Any) -> Text:
    """The observation: bars for a vector, a heat grid for 2-D, a channel grid (or heat of the max) for 3-D."""
    if observation is None:
        return Text(f"{env_id or 'environment'}: no observation to show", style="dim")
    obs = np.asarray(observation)
    if obs.ndim <= 1 or (obs.ndim == 2 and 1 in obs.shape and obs.size > 1):
        return render_vector(obs, width=width, height=height, labels=observation_labels(env_id, obs.size))
    if obs.ndim == 2:
        return render_heat(obs, width=width, height=height)
    if obs.ndim == 3:
        binary = np.isin(obs, (0, 1)).all() if obs.dtype != bool else True
        if binary and obs.shape[-1] <= 10:
            return render_channels(obs, width=width, height=height, title=f"observation {obs.shape}")
        return render_heat(obs.max(axis=-1), width=width, height=height, title=f"max over {obs.shape[-1]} channels")
    return render_vector(obs, width=width, height=height, title=f"observation {obs.shape} (flattened)")
