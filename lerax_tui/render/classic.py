"""Classic-control scenes: CartPole's cart and pole, Acrobot's two links, MountainCar's hill.

Each renderer draws the physical state, not the observation: the first line gives the numbers,
the rest is a picture scaled to the requested size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text

from lerax_tui.render.canvas import ASPECT, Canvas, fmt, param, scalar, vstack


def _sin(angle: float) -> float:
    """``math.sin`` that returns nan for a non-finite angle (a diverged state is drawn, not raised)."""
    return math.sin(angle) if math.isfinite(angle) else math.nan


def _cos(angle: float) -> float:
    return math.cos(angle) if math.isfinite(angle) else math.nan


def render_cartpole(env_state: Any, observation: Any, *, width: int, height: int, params: Any = None, **_: Any) -> Text:
    """The cart on its track between the ±x_threshold limits, with the pole at its angle.

    Positive ``theta`` leans the pole right (towards +x), as in gym's drawing.
    """
    x = scalar(env_state, "x")
    x_dot = scalar(env_state, "x_dot", 0.0)
    theta = scalar(env_state, "theta")
    theta_dot = scalar(env_state, "theta_dot", 0.0)
    limit = param(params, "x_threshold", 2.4)
    theta_limit = param(params, "theta_threshold_radians", 12 * 2 * math.pi / 360)
    header = Text.assemble(
        ("x ", "dim"),
        fmt(x, 3),
        ("  v ", "dim"),
        fmt(x_dot, 3),
        ("  θ ", "dim"),
        (f"{math.degrees(theta):+.1f}°", "bold red" if abs(theta) > theta_limit else "bold"),
        (f" (±{math.degrees(theta_limit):.0f}°)", "dim"),
        ("  ω ", "dim"),
        fmt(theta_dot, 3),
    )
    rows = height - 1
    if rows < 3 or width < 9:
        return header
    canvas = Canvas(width, rows)
    labels = rows >= 6
    track_y = rows - (2 if labels else 1)
    cart_y = track_y - 1
    left, right = 1, width - 2
    centre = (left + right) / 2

    def column(pos: float) -> float:
        return centre + pos / limit * (right - left) / 2

    canvas.hline(left, right, track_y, "─", "dim")
    for edge in (left, right):
        canvas.put(edge, track_y, "┴", "red")
        canvas.put(edge, cart_y, "│", "red")
    if labels:
        canvas.write(left, track_y + 1, f"-{limit:g}", "dim")
        canvas.put(round(centre), track_y + 1, "0", "dim")
        canvas.write(right - len(f"+{limit:g}") + 1, track_y + 1, f"+{limit:g}", "dim")

    cx = column(max(-1.1 * limit, min(1.1 * limit, x)))
    half = max(1, min(3, width // 16))
    out_of_bounds = abs(x) > limit
    for dx in range(-half, half + 1):
        canvas.put(cx + dx, cart_y, "█", "bold red" if out_of_bounds else "bold blue")
    canvas.put(cx - half - 1, cart_y, "▐", "blue")
    canvas.put(cx + half + 1, cart_y, "▌", "blue")
    # The pole's x reach is scaled by the cell aspect so the drawn angle is the true angle; its
    # length is capped so a tall view does not turn it into a flagpole.
    length = max(1, min(cart_y - 1, max(4, height // 2)))
    base_x, base_y = cx, cart_y - 1
    tip_x = base_x + length * _sin(theta) * ASPECT
    tip_y = base_y - length * _cos(theta) + 1
    canvas.line(base_x, base_y, tip_x, tip_y, "bold yellow")
    canvas.put(cx, cart_y, "o", "bold white on blue")
    return vstack(header, canvas.to_text())


def render_acrobot(env_state: Any, observation: Any, *, width: int, height: int, **_: Any) -> Text:
    """Two links hanging from a pivot, at joint angles ``theta1`` and ``theta2`` (0 = straight down).

    A dotted line one link above the pivot marks the height the tip must pass to end the episode.
    """
    theta1 = scalar(env_state, "joint_angle1")
    theta2 = scalar(env_state, "joint_angle2")
    omega1 = scalar(env_state, "velocity_1", 0.0)
    omega2 = scalar(env_state, "velocity_2", 0.0)
    tip_height = -_cos(theta1) - _cos(theta1 + theta2)
    header = Text.assemble(
        ("θ1 ", "dim"),
        f"{math.degrees(theta1):+.0f}°",
        ("  θ2 ", "dim"),
        f"{math.degrees(theta2):+.0f}°",
        ("  ω ", "dim"),
        f"{omega1:+.1f} {omega2:+.1f}",
        ("  tip ", "dim"),
        (f"{tip_height:+.2f}", "bold green" if tip_height > 1.0 else "bold"),
        (" (goal >1)", "dim"),
    )
    rows = height - 1
    if rows < 5 or width < 9:
        return header
    canvas = Canvas(width, rows)
    unit = min((rows - 1) / 4, (width - 1) / (4 * ASPECT))
    px, py = (width - 1) / 2, (rows - 1) / 2
    goal_y = round(py - unit)
    for gx in range(0, width, 2):
        canvas.put(gx, goal_y, "┄", "green dim")
    j1x, j1y = px + unit * _sin(theta1) * ASPECT, py + unit * _cos(theta1)
    tx, ty = j1x + unit * _sin(theta1 + theta2) * ASPECT, j1y + unit * _cos(theta1 + theta2)
    canvas.line(px, py, j1x, j1y, "bold cyan")
    canvas.line(j1x, j1y, tx, ty, "bold magenta")
    canvas.put(px, py, "O", "bold white")
    canvas.put(j1x, j1y, "o", "bold white")
    canvas.put(tx, ty, "●", "bold green" if tip_height > 1.0 else "bold yellow")
    return vstack(header, canvas.to_text())


def render_mountain_car(
    env_state: Any, observation: Any, *, width: int, height: int, params: Any = None, **_: Any
) -> Text:
    """The hill ``sin(3x)`` over the track's range, the car on it, and the flag at the goal."""
    position = scalar(env_state, "position")
    velocity = scalar(env_state, "velocity", 0.0)
    lo = param(params, "min_position", -1.2)
    hi = param(params, "max_position", 0.6)
    goal = param(params, "goal_position", 0.5)
    header = Text.assemble(
        ("x ", "dim"),
        fmt(position, 3),
        ("  v ", "dim"),
        fmt(velocity, 4),
        ("  goal ", "dim"),
        (f"x ≥ {goal:g}", "bold green" if position >= goal else "bold"),
    )
    rows = height - 1
    if rows < 4 or width < 8:
        return header
    canvas = Canvas(width, rows)
    top = min(3, rows - 2)  # room above the hill's crest for the flag

    def col(x: float) -> float:
        return (x - lo) / (hi - lo) * (width - 1)

    def row(x: float) -> float:
        return top + (1 - (_sin(3 * x) + 1) / 2) * (rows - 1 - top)

    xs = np.linspace(lo, hi, width)
    for a, b in zip(xs[:-1], xs[1:]):
        canvas.line(col(a), row(a), col(b), row(b), "green")
    gx, gy = col(goal), round(row(goal))
    for k in range(1, top + 1):
        canvas.put(gx, gy - k, "│", "white")
    canvas.put(gx + 1, gy - top, "▶", "bold yellow")
    car = min(hi, max(lo, position))
    canvas.put(col(car), round(row(car)) - 1, "█", "bold red")
    return vstack(header, canvas.to_text())
