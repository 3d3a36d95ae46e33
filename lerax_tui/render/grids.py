"""Grid worlds: the MinAtar channel grids, Catch, DeepSea, FourRooms, MetaMaze and Pong.

Every grid is reduced to a 2-D array of palette indices (-1 for an empty cell) and painted by
:func:`paint_grid`, which picks the largest cell size that fits: two characters per cell, one, or
half blocks (two grid rows per terminal row), and max-pooling beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text

from lerax_tui.render.canvas import env_attr, field, hstack, scalar, vstack, width_of

EMPTY = -1


@dataclass(frozen=True)
class Swatch:
    """How one kind of cell looks: its name (for the legend), colour, and two-character glyph."""

    name: str
    colour: str
    glyph: str = "██"


# MinAtar channel names and colours, in channel order (from each game's gymnax docstring).
MINATAR_CHANNELS: dict[str, list[Swatch]] = {
    "Asterix-MinAtar": [
        Swatch("player", "bright_cyan"),
        Swatch("enemy", "red"),
        Swatch("trail", "grey50", "░░"),
        Swatch("gold", "yellow"),
    ],
    "Breakout-MinAtar": [
        Swatch("paddle", "bright_cyan"),
        Swatch("ball", "bright_yellow"),
        Swatch("trail", "grey50", "░░"),
        Swatch("brick", "red"),
    ],
    "Freeway-MinAtar": [
        Swatch("chicken", "bright_yellow"),
        Swatch("car", "red"),
        Swatch("speed1", "grey35", "░░"),
        Swatch("speed2", "grey50", "░░"),
        Swatch("speed3", "grey62", "▒▒"),
        Swatch("speed4", "grey74", "▒▒"),
        Swatch("speed5", "grey85", "▓▓"),
    ],
    "Seaquest-MinAtar": [
        Swatch("sub front", "bright_yellow"),
        Swatch("sub back", "yellow"),
        Swatch("bullet", "bright_white", "▪▪"),
        Swatch("trail", "grey50", "░░"),
        Swatch("enemy bullet", "bright_red", "▪▪"),
        Swatch("enemy fish", "green"),
        Swatch("enemy sub", "red"),
        Swatch("oxygen", "bright_blue"),
        Swatch("divers", "cyan", "▄▄"),
        Swatch("diver", "bright_magenta"),
    ],
    "SpaceInvaders-MinAtar": [
        Swatch("cannon", "bright_cyan"),
        Swatch("alien", "green"),
        Swatch("alien ←", "green", "◀◀"),
        Swatch("alien →", "green", "▶▶"),
        Swatch("bullet", "bright_white", "▪▪"),
        Swatch("enemy bullet", "bright_red", "▪▪"),
    ],
}

# Colours for channels of grids we know nothing about (cycled).
GENERIC_COLOURS = [
    "bright_cyan",
    "bright_yellow",
    "red",
    "green",
    "magenta",
    "blue",
    "bright_white",
    "orange1",
    "purple",
    "grey62",
]

# gymnax's FourRooms layout (misc/rooms.py): "x" is a wall.
FOUR_ROOMS_MAP = """
xxxxxxxxxxxxx
x     x     x
x     x     x
x           x
x     x     x
x     x     x
xx xxxx     x
x     xxx xxx
x     x     x
x     x     x
x           x
x     x     x
xxxxxxxxxxxxx"""


def _open_map(layout: str) -> np.ndarray:
    rows = layout.split("\n")[1:]
    return np.array([[ch == " " for ch in row] for row in rows], dtype=bool)


def meta_maze_open_map(maze_size: int = 9, rf_size: int = 3) -> np.ndarray:
    """The MetaMaze layout gymnax builds (misc/meta_maze.py), True where the agent may walk."""
    off = (rf_size - 1) // 2
    full = maze_size + 2 * off
    maze = off * [full * "x"]
    with_walls = off * "x" + ((maze_size + 1) // 2) * " x" + (off - 1) * "x"
    without_walls = off * "x" + maze_size * " " + off * "x"
    for r in range(maze_size):
        maze.append(without_walls if r % 2 == 0 else with_walls)
    maze += off * [full * "x"]
    return np.array([[ch == " " for ch in row] for row in maze], dtype=bool)


@dataclass(frozen=True)
class _Layout:
    cell_w: int  # terminal cells per grid cell, across
    per_row: int  # grid rows per terminal row: 1, or 2 with half blocks
    pool: int  # grid cells max-pooled into one, each way
    repeat: int = 1  # terminal rows per grid row when scaled up


def _fit_cells(n_rows: int, n_cols: int, width: int, height: int, scale_up: bool = False) -> _Layout:
    """Choose the largest cell size (then pooling) with which the grid fits in ``width`` x ``height``."""
    if scale_up and n_cols * 4 <= width and n_rows * 2 <= height:
        return _Layout(4, 1, 1, 2)
    for pool in range(1, max(n_rows, n_cols) + 1):
        rows, cols = -(-n_rows // pool), -(-n_cols // pool)
        for cell_w, per_row in ((2, 1), (1, 1), (2, 2), (1, 2)):
            if cols * cell_w <= width and -(-rows // per_row) <= height:
                return _Layout(cell_w, per_row, pool)
    return _Layout(1, 2, max(n_rows, n_cols))


def _pool(grid: np.ndarray, pool: int) -> np.ndarray:
    """Max-pool an index grid so that the highest palette index in a block wins."""
    if pool == 1:
        return grid
    rows, cols = -(-grid.shape[0] // pool), -(-grid.shape[1] // pool)
    padded = np.full((rows * pool, cols * pool), EMPTY, dtype=grid.dtype)
    padded[: grid.shape[0], : grid.shape[1]] = grid
    return padded.reshape(rows, pool, cols, pool).max(axis=(1, 3))


def paint_grid(
    grid: np.ndarray, palette: list[Swatch], *, width: int, height: int, empty: str = "· ", scale_up: bool = False
) -> Text:
    """Paint a grid of palette indices as coloured cells, as large as ``width`` x ``height`` allows.

    Args:
        grid: 2-D integer array; ``-1`` is an empty cell, ``k`` is drawn with ``palette[k]``.
        palette: The swatches.
        width: Cells available across.
        height: Rows available.
        empty: The two characters of an empty cell.
        scale_up: Allow cells of 4x2 terminal cells when there is room (glyphs are repeated, so
            this suits grids of solid colours such as MinAtar's).

    Returns:
        The painted grid (no wider than ``width``, no taller than ``height``).
    """
    grid = np.asarray(grid, dtype=np.int64)
    if grid.ndim != 2 or grid.size == 0 or width < 1 or height < 1:
        return Text()
    layout = _fit_cells(grid.shape[0], grid.shape[1], width, height, scale_up)
    cell_w = layout.cell_w
    grid = _pool(grid, layout.pool)
    out = Text()
    if layout.per_row == 1:
        terminal_rows = [(r, rep) for r in range(grid.shape[0]) for rep in range(layout.repeat)]
        for i, (r, rep) in enumerate(terminal_rows):
            for k in grid[r]:
                if k == EMPTY:
                    out.append(empty.ljust(cell_w)[:cell_w] if rep == 0 else " " * cell_w, style="grey30")
                else:
                    swatch = palette[int(k) % len(palette)]
                    out.append(
                        (swatch.glyph * cell_w)[:cell_w] if cell_w != 1 else swatch.glyph[0], style=swatch.colour
                    )
            if i < len(terminal_rows) - 1:
                out.append("\n")
        return out
    # Half blocks: the upper grid row is the foreground of "▀", the lower one its background.
    if grid.shape[0] % 2:
        grid = np.vstack([grid, np.full((1, grid.shape[1]), EMPTY, dtype=grid.dtype)])
    for r in range(0, grid.shape[0], 2):
        for top, bottom in zip(grid[r], grid[r + 1]):
            top_c = palette[int(top) % len(palette)].colour if top != EMPTY else None
            bot_c = palette[int(bottom) % len(palette)].colour if bottom != EMPTY else None
            if top_c is None and bot_c is None:
                out.append(" " * cell_w)
            elif bot_c is None:
                out.append("▀" * cell_w, style=Style(color=top_c))
            elif top_c is None:
                out.append("▄" * cell_w, style=Style(color=bot_c))
            else:
                out.append("▀" * cell_w, style=Style(color=top_c, bgcolor=bot_c))
        if r + 2 < grid.shape[0]:
            out.append("\n")
    return out


def legend(palette: list[Swatch], used: set[int] | None = None) -> Text:
    """One line per swatch: its glyph in colour and its name; unused ones dimmed."""
    lines = []
    for k, swatch in enumerate(palette):
        line = Text()
        line.append(swatch.glyph, style=swatch.colour)
        line.append(" " + swatch.name, style="dim" if used is not None and k not in used else "")
        lines.append(line)
    return Text("\n").join(lines)


def grid_with_legend(
    grid: np.ndarray,
    palette: list[Swatch],
    header: Text | None,
    *,
    width: int,
    height: int,
    key: Text | None = None,
    scale_up: bool = False,
) -> Text:
    """A header line, the grid, and the legend beside it (or below it, or left out) as space allows.

    The legend (``key``, or one line per swatch when None) goes beside the grid only when that costs
    the grid no resolution; ``scale_up`` is passed to :func:`paint_grid`.
    """
    rows = height - (1 if header is not None else 0)
    if key is None:
        key = legend(palette, used={int(k) for k in np.unique(grid) if k != EMPTY})
    key_w, key_h = width_of(key), len(key.plain.split("\n"))
    side_w = width - key_w - 2
    full_size = _fit_cells(grid.shape[0], grid.shape[1], width, rows, scale_up)
    side_size = _fit_cells(grid.shape[0], grid.shape[1], side_w, rows, scale_up)
    if side_size == full_size and key_h <= rows and side_w >= 1:
        return vstack(header, hstack(paint_grid(grid, palette, width=side_w, height=rows, scale_up=scale_up), key))
    painted = paint_grid(grid, palette, width=width, height=rows, scale_up=scale_up)
    grid_h = len(painted.plain.split("\n")) if painted.plain else 0
    if rows - grid_h >= 2 and width >= 8:
        lines = key.split("\n")[: rows - grid_h - 1]
        return vstack(header, painted, Text(""), Text("\n").join(lines))
    return vstack(header, painted)


def channel_grid(observation: np.ndarray) -> np.ndarray:
    """For an (H, W, C) observation: the highest active channel of each cell, or -1 where none is."""
    obs = np.asarray(observation)
    active = obs.astype(float) > 0.5 if obs.dtype != bool else obs
    channels = np.arange(obs.shape[-1])
    highest = np.where(active, channels, -1).max(axis=-1)
    return highest.astype(np.int64)


def render_minatar(env_state: Any, observation: Any, *, width: int, height: int, env_id: str = "", **_: Any) -> Text:
    """The 10x10 channel grid, each cell coloured by its highest active channel, with a legend."""
    if observation is None:
        raise ValueError("the MinAtar renderer draws the observation; pass it")
    obs = np.asarray(observation)
    if obs.ndim != 3:
        raise ValueError(f"a MinAtar observation is (10, 10, C); got shape {obs.shape}")
    palette = MINATAR_CHANNELS.get(env_id)
    if palette is None or len(palette) != obs.shape[-1]:
        palette = [Swatch(f"ch{k}", GENERIC_COLOURS[k % len(GENERIC_COLOURS)]) for k in range(obs.shape[-1])]
    header = Text(env_id.replace("-MinAtar", "") or "MinAtar", style="bold")
    time = scalar(env_state, "time", float("nan"))
    if np.isfinite(time):
        header.append("  t ", style="dim")
        header.append(str(int(time)))
    return grid_with_legend(channel_grid(obs), palette, header, width=width, height=height, scale_up=True)


def render_channels(observation: Any, *, width: int, height: int, title: str = "") -> Text:
    """Any (H, W, C) image of on/off channels, coloured by highest active channel."""
    obs = np.asarray(observation)
    palette = [Swatch(f"ch{k}", GENERIC_COLOURS[k % len(GENERIC_COLOURS)]) for k in range(obs.shape[-1])]
    return grid_with_legend(
        channel_grid(obs), palette, Text(title, style="bold") if title else None, width=width, height=height
    )


_CATCH = [Swatch("ball", "bright_yellow", "()"), Swatch("paddle", "bright_cyan", "▀▀")]


def render_catch(env_state: Any, observation: Any, *, width: int, height: int, **_: Any) -> Text:
    """The 10x5 Catch board: the falling ball and the paddle on the bottom row."""
    rows, cols = np.asarray(observation).shape if observation is not None and np.ndim(observation) == 2 else (10, 5)
    grid = np.full((rows, cols), EMPTY)
    ball = (int(scalar(env_state, "ball_y")), int(scalar(env_state, "ball_x")))
    paddle = (int(scalar(env_state, "paddle_y")), int(scalar(env_state, "paddle_x")))
    for (r, c), k in ((paddle, 1), (ball, 0)):
        if 0 <= r < rows and 0 <= c < cols:
            grid[r, c] = k
    header = Text.assemble(
        ("Catch", "bold"), ("  ball ", "dim"), f"({ball[1]},{ball[0]})", ("  paddle ", "dim"), str(paddle[1])
    )
    return grid_with_legend(grid, _CATCH, header, width=width, height=height)


_DEEP_SEA = [
    Swatch("out of reach", "grey15", "  "),
    Swatch("treasure", "yellow", "$$"),
    Swatch("agent", "bright_cyan", "@@"),
]


def render_deep_sea(env_state: Any, observation: Any, *, width: int, height: int, **_: Any) -> Text:
    """The DeepSea triangle: the agent's cell, the treasure at the bottom right, and which action goes right here."""
    mapping = field(env_state, "action_mapping", np.zeros((0, 0)))
    if observation is not None and np.ndim(observation) == 2:
        size = int(np.shape(observation)[0])
    else:
        size = int(mapping.shape[0]) if mapping.ndim == 2 and mapping.shape[0] else 8
    row, col = int(scalar(env_state, "row")), int(scalar(env_state, "column"))
    # The agent starts top left and moves one row down per step, so cells right of the diagonal are
    # out of reach: blank, where reachable ones are dotted.
    grid = np.where(np.arange(size)[None, :] > np.arange(size)[:, None], 0, EMPTY)
    grid[size - 1, size - 1] = 1
    finished = row >= size
    if not finished and 0 <= col < size:
        grid[row, col] = 2
    header = Text.assemble(("DeepSea", "bold"), ("  row ", "dim"), str(row), ("  col ", "dim"), str(col))
    if finished:
        header.append("  (episode over)", style="dim")
    elif mapping.ndim == 2 and 0 <= row < mapping.shape[0] and 0 <= col < mapping.shape[1]:
        header.append(f"  a{int(mapping[row, col])} goes right here", style="dim")
    return grid_with_legend(grid, _DEEP_SEA, header, width=width, height=height)


_ROOMS = [Swatch("wall", "grey50", "██"), Swatch("goal", "bright_green", "GG"), Swatch("agent", "bright_cyan", "@@")]


def render_maze(open_map: np.ndarray, env_state: Any, *, width: int, height: int, title: str) -> Text:
    """A walled grid world with the agent at ``state.pos`` and the goal at ``state.goal`` (both [row, col])."""
    open_map = np.asarray(open_map).astype(bool)
    grid = np.where(open_map, EMPTY, 0).astype(np.int64)
    pos = field(env_state, "pos").astype(int).reshape(-1)
    goal = field(env_state, "goal").astype(int).reshape(-1)
    for (r, c), k in ((goal, 1), (pos, 2)):
        if 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]:
            grid[r, c] = k
    header = Text.assemble(
        (title, "bold"), ("  agent ", "dim"), f"({pos[0]},{pos[1]})", ("  goal ", "dim"), f"({goal[0]},{goal[1]})"
    )
    return grid_with_legend(grid, _ROOMS, header, width=width, height=height)


def render_four_rooms(env_state: Any, observation: Any, *, width: int, height: int, env: Any = None, **_: Any) -> Text:
    """FourRooms: the env's ``env_map`` when the env object is given, else gymnax's standard layout."""
    env_map = env_attr(env, "env_map")
    open_map = np.asarray(env_map) if env_map is not None else _open_map(FOUR_ROOMS_MAP)
    return render_maze(open_map, env_state, width=width, height=height, title="FourRooms")


def render_meta_maze(env_state: Any, observation: Any, *, width: int, height: int, env: Any = None, **_: Any) -> Text:
    """MetaMaze: the env's ``env_map`` when the env object is given, else the default 9x9 maze."""
    env_map = env_attr(env, "env_map")
    open_map = np.asarray(env_map) if env_map is not None else meta_maze_open_map()
    return render_maze(open_map, env_state, width=width, height=height, title="MetaMaze")


_PONG = [Swatch("ball before", "grey50", "░░"), Swatch("paddles", "bright_cyan"), Swatch("ball", "bright_yellow")]


def render_pong(env_state: Any, observation: Any, *, width: int, height: int, **_: Any) -> Text:
    """Pong's (30, 40, 3) image: paddles, the ball and where it was a step ago."""
    obs = np.asarray(observation)
    if obs.ndim != 3 or obs.shape[-1] != 3:
        raise ValueError(f"a Pong observation is (H, W, 3); got shape {obs.shape}")
    on = obs > 0.5
    grid = np.full(obs.shape[:2], EMPTY)
    grid[on[..., 2]] = 0
    grid[on[..., 0]] = 1
    grid[on[..., 1]] = 2
    header = Text("Pong", style="bold")
    return grid_with_legend(grid, _PONG, header, width=width, height=height)
