"""Renderers on fixed states: where things are drawn, how they are coloured, and that sizes hold."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from rich.text import Text

from lerax_tui.render import action_names, q_value_bars, render_state, renderer_for
from lerax_tui.render.grids import meta_maze_open_map

POLE_CHARS = set("│/\\")


def lines(text: Text) -> list[Text]:
    return list(text.split("\n", allow_blank=True)) if text.plain else []


def style_at(line: Text, col: int) -> str:
    """The (last applied) style of the character at ``col`` of a single-line Text, as a string."""
    found = ""
    for span in line.spans:
        if span.start <= col < span.end:
            found = str(span.style)
    return found


def assert_fits(text: Text, width: int, height: int) -> None:
    rows = lines(text)
    assert len(rows) <= height, f"{len(rows)} lines > {height}"
    assert all(row.cell_len <= width for row in rows), f"a line is wider than {width}: {[r.cell_len for r in rows]}"


def cartpole(x: float = 0.0, theta: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(
        x=np.float32(x), x_dot=np.float32(0), theta=np.float32(theta), theta_dot=np.float32(0), time=0
    )


def cart_and_tip(text: Text) -> tuple[int, int, int]:
    """(axle column, pole base column, pole tip column) of a CartPole drawing."""
    rows = [row.plain for row in lines(text)]
    cart_row = next(i for i, row in enumerate(rows) if "▐" in row)
    axle = rows[cart_row].index("o")
    pole = [(i, j) for i, row in enumerate(rows[1:cart_row], start=1) for j, ch in enumerate(row) if ch in POLE_CHARS]
    base = max(pole)  # lowest row
    tip = min(pole)  # highest row
    return axle, base[1], tip[1]


# --- classic control -------------------------------------------------------------------------


def test_cartpole_centred_cart_at_x_zero():
    text = render_state("CartPole-v1", cartpole(0.0), None, width=61, height=20)
    axle, base, tip = cart_and_tip(text)
    assert axle == 30 and base == tip == 30


def test_cartpole_positive_x_is_right_of_centre_and_limits_at_the_track_ends():
    centre, _, _ = cart_and_tip(render_state("CartPole-v1", cartpole(0.0), None, width=61, height=20))
    right, _, _ = cart_and_tip(render_state("CartPole-v1", cartpole(2.0), None, width=61, height=20))
    left, _, _ = cart_and_tip(render_state("CartPole-v1", cartpole(-2.0), None, width=61, height=20))
    assert left < centre < right
    assert right == pytest.approx(30 + 2.0 / 2.4 * 29, abs=1)
    track = next(
        row.plain
        for row in lines(render_state("CartPole-v1", cartpole(0.0), None, width=61, height=20))
        if "┴" in row.plain
    )
    assert track.index("┴") == 1 and track.rindex("┴") == 59


def test_cartpole_pole_leans_the_way_theta_says():
    _, base, tip = cart_and_tip(render_state("CartPole-v1", cartpole(0.0, 0.15), None, width=61, height=20))
    assert tip > base
    _, base, tip = cart_and_tip(render_state("CartPole-v1", cartpole(0.0, -0.15), None, width=61, height=20))
    assert tip < base


def test_cartpole_header_gives_angle_in_degrees():
    text = render_state("CartPole-v1", cartpole(0.5, math.radians(5)), None, width=80, height=10)
    assert "+5.0°" in lines(text)[0].plain and "+0.50" in lines(text)[0].plain


def test_acrobot_tip_hangs_below_pivot_and_rises_above_it():
    def positions(theta1: float, theta2: float) -> tuple[tuple[int, int], tuple[int, int]]:
        state = SimpleNamespace(joint_angle1=theta1, joint_angle2=theta2, velocity_1=0.0, velocity_2=0.0)
        rows = [row.plain for row in lines(render_state("Acrobot-v1", state, None, width=61, height=21))]
        find = lambda ch: next((i, row.index(ch)) for i, row in enumerate(rows[1:], start=1) if ch in row)  # noqa: E731
        return find("O"), find("●")

    pivot, tip = positions(0.0, 0.0)
    assert tip[0] > pivot[0] and tip[1] == pivot[1]
    pivot, tip = positions(math.pi, 0.0)
    assert tip[0] < pivot[0]
    pivot, tip = positions(math.pi / 2, 0.0)  # straight out to the right
    assert tip[1] > pivot[1] and abs(tip[0] - pivot[0]) <= 1


def test_mountain_car_car_moves_with_position_and_flag_is_at_goal():
    def car_col(position: float) -> int:
        text = render_state(
            "MountainCar-v0", SimpleNamespace(position=position, velocity=0.0), None, width=61, height=16
        )
        rows = [row.plain for row in lines(text)[1:]]
        return next(row.index("█") for row in rows if "█" in row)

    assert car_col(-1.0) < car_col(-0.5) < car_col(0.4)
    text = render_state("MountainCar-v0", SimpleNamespace(position=-0.5, velocity=0.0), None, width=61, height=16)
    flag = next(row.plain.index("▶") for row in lines(text) if "▶" in row.plain)
    assert flag - 1 == round((0.5 + 1.2) / 1.8 * 60)


# --- grids -------------------------------------------------------------------------------------


def test_minatar_cell_is_drawn_at_its_row_and_column_in_its_channel_colour():
    obs = np.zeros((10, 10, 4), dtype=bool)
    obs[2, 7, 3] = True  # a brick
    obs[5, 0, 1] = True  # the ball
    text = render_state("Breakout-MinAtar", SimpleNamespace(time=3), obs, width=60, height=20)
    rows = lines(text)
    assert rows[0].plain.startswith("Breakout")
    brick_row = rows[1 + 2]
    assert brick_row.plain[14:16] == "██" and style_at(brick_row, 14) == "red"
    assert brick_row.plain[:14] == "· " * 7
    assert style_at(rows[1 + 5], 0) == "bright_yellow"
    legend = "\n".join(row.plain for row in rows)
    for name in ("paddle", "ball", "trail", "brick"):
        assert name in legend


def test_minatar_highest_active_channel_wins():
    obs = np.zeros((10, 10, 4), dtype=np.float32)
    obs[4, 4, 1] = obs[4, 4, 3] = 1.0
    rows = lines(render_state("Breakout-MinAtar", None, obs, width=60, height=20))
    assert style_at(rows[1 + 4], 8) == "red"


def test_minatar_unknown_channel_count_gets_numbered_legend():
    obs = np.zeros((10, 10, 3), dtype=bool)
    obs[0, 0, 2] = True
    plain = render_state("Asterix-MinAtar", None, obs, width=60, height=20).plain
    assert "ch2" in plain


def test_minatar_small_view_uses_half_blocks_and_still_fits():
    obs = np.zeros((10, 10, 4), dtype=bool)
    obs[0, :, 3] = True
    text = render_state("Breakout-MinAtar", None, obs, width=20, height=7)
    assert_fits(text, 20, 7)
    assert "▀" in text.plain


def test_catch_draws_ball_and_paddle():
    state = SimpleNamespace(ball_x=2, ball_y=3, paddle_x=1, paddle_y=9, time=0)
    rows = [row.plain for row in lines(render_state("Catch-bsuite", state, np.zeros((10, 5)), width=60, height=20))]
    assert rows[1 + 3][4:6] == "()"
    assert rows[1 + 9][2:4] == "▀▀"
    assert "paddle 1" in rows[0]


def test_deep_sea_agent_treasure_and_mapping():
    state = SimpleNamespace(row=2, column=1, action_mapping=np.ones((8, 8), dtype=int))
    rows = [row.plain for row in lines(render_state("DeepSea-bsuite", state, np.zeros((8, 8)), width=60, height=20))]
    assert rows[1 + 2][2:4] == "@@"
    assert rows[1 + 7][14:16] == "$$"
    assert "a1 goes right here" in rows[0]
    finished = render_state("DeepSea-bsuite", SimpleNamespace(row=8, column=3), None, width=60, height=20).plain
    assert "episode over" in finished and finished.count("@@") == 1  # only the legend's


def test_four_rooms_layout_agent_and_goal():
    state = SimpleNamespace(pos=np.array([4, 1]), goal=np.array([8, 9]), time=0)
    text = render_state("FourRooms-misc", state, None, width=60, height=20)
    rows = [row.plain for row in lines(text)]
    assert rows[1].startswith("██" * 13)
    assert rows[1 + 4][2:4] == "@@"
    assert rows[1 + 8][18:20] == "GG"
    assert rows[1 + 6][:4] == "████" and rows[1 + 6][4:6] == "· "  # the doorway in the west wall
    import gymnax

    env, params = gymnax.make("FourRooms-misc")
    assert render_state("FourRooms-misc", state, None, width=60, height=20, env=env, params=params).plain == text.plain
    # This project's GymnaxEnv holds the gymnax env in `env` and its params in `params`; a changed map shows.
    walled = np.asarray(env.env_map).copy()
    walled[4, 3] = False
    adapter = SimpleNamespace(env=SimpleNamespace(env_map=walled), params=params)
    assert (
        render_state("FourRooms-misc", state, None, width=60, height=20, env=adapter).plain.split("\n")[1 + 4][6:8]
        == "██"
    )


def test_params_come_from_the_env_adapter_when_not_given():
    adapter = SimpleNamespace(env=None, params=SimpleNamespace(x_threshold=4.8))
    text = render_state("CartPole-v1", cartpole(2.4), None, width=61, height=20, env=adapter)
    axle, _, _ = cart_and_tip(text)
    assert axle == pytest.approx(30 + 0.5 * 29, abs=1) and "+4.8" in text.plain


def test_meta_maze_embedded_layout_matches_gymnax():
    import gymnax

    env, _ = gymnax.make("MetaMaze-misc")
    assert np.array_equal(meta_maze_open_map(), np.asarray(env.env_map))
    state = SimpleNamespace(pos=np.array([5, 5]), goal=np.array([1, 1]))
    rows = [row.plain for row in lines(render_state("MetaMaze-misc", state, None, width=60, height=20))]
    assert rows[1 + 5][10:12] == "@@" and rows[1 + 1][2:4] == "GG"


# --- generic ------------------------------------------------------------------------------------


def test_generic_labels_each_dimension_and_scales_to_max_abs():
    text = render_state("Unknown-v0", None, np.array([1.0, -2.0, 0.5]), width=60, height=10)
    rows = [row.plain for row in lines(text)]
    assert renderer_for("Unknown-v0") == "generic"
    assert len(rows) == 4
    for i, row in enumerate(rows[1:]):
        assert row.startswith(f"obs[{i}]")
    assert "-2.000" in rows[2]
    full = rows[2].count("█")
    assert full > rows[1].count("█") > rows[3].count("█") > 0
    assert rows[2].index("█") < rows[2].index("│") < rows[1].index("█")  # negative left of the axis


def test_generic_uses_known_labels_and_counts_what_does_not_fit():
    plain = render_state("MemoryChain-bsuite", None, np.array([0.6, 0.0, 1.0]), width=60, height=10).plain
    assert "time left" in plain and "query" in plain
    rows = lines(render_state("Unknown-v0", None, np.arange(50.0), width=60, height=10))
    assert len(rows) == 10 and "42 more" in rows[-1].plain


def test_generic_heat_and_channel_grids():
    heat = np.zeros((4, 6))
    heat[1, 2] = 3.0
    heat[3, 5] = -0.5
    rows = [row.plain for row in lines(render_state("Unknown-v0", None, heat, width=60, height=20))]
    assert "4x6" in rows[0]
    assert rows[1 + 1][4:6] == "██" and rows[1 + 3][10:12] == "░░"
    channels = np.zeros((5, 5, 2))
    channels[0, 0, 1] = 1
    assert "ch1" in render_state("Unknown-v0", None, channels, width=60, height=20).plain


def test_wrapped_states_are_looked_through():
    """This project's GymnaxEnvState (and gymnax's LogWrapper state) hold the gymnax state in env_state."""
    inner = cartpole(0.0, 0.15)
    wrapped = SimpleNamespace(env_state=SimpleNamespace(env_state=inner, episode_returns=0.0), observation=np.zeros(4))
    direct = render_state("CartPole-v1", inner, None, width=61, height=20)
    assert render_state("CartPole-v1", wrapped, None, width=61, height=20).plain == direct.plain
    obs = np.zeros((10, 10, 4), dtype=bool)
    obs[3, 3, 0] = True
    minatar = render_state(
        "Breakout-MinAtar",
        SimpleNamespace(env_state=SimpleNamespace(time=1), observation=obs),
        None,
        width=60,
        height=20,
    )
    assert lines(minatar)[1 + 3].plain[6:8] == "██"


def test_minatar_scales_cells_up_when_there_is_room():
    obs = np.zeros((10, 10, 4), dtype=bool)
    obs[9, 4, 0] = True
    text = render_state("Breakout-MinAtar", None, obs, width=70, height=24)
    rows = [row.plain for row in lines(text)]
    assert len(rows) == 21
    assert rows[1 + 18][16:20] == rows[1 + 19][16:20] == "████"
    assert_fits(text, 70, 24)


def test_non_finite_state_values_are_drawn_without_raising():
    text = render_state("CartPole-v1", cartpole(float("nan"), float("inf")), None, width=40, height=12)
    assert lines(text)[0].plain.startswith("x nan") and "failed" not in text.plain
    assert_fits(text, 40, 12)


def test_a_state_the_scene_cannot_read_falls_back_to_the_observation():
    text = render_state("CartPole-v1", SimpleNamespace(), np.zeros(4), width=60, height=10)
    assert "cartpole view failed" in text.plain and "theta_dot" in text.plain
    assert_fits(text, 60, 10)


@pytest.mark.parametrize(("width", "height"), [(0, 0), (1, 1), (8, 3), (20, 6), (33, 11), (60, 20), (140, 45)])
def test_fixed_states_never_exceed_the_requested_size(width, height):
    minatar = np.zeros((10, 10, 10), dtype=bool)
    minatar[9, :, 7] = True
    cases = [
        ("CartPole-v1", cartpole(1.0, 0.1), None),
        ("Acrobot-v1", SimpleNamespace(joint_angle1=2.0, joint_angle2=-1.0), None),
        ("MountainCar-v0", SimpleNamespace(position=0.55, velocity=0.01), None),
        ("Seaquest-MinAtar", None, minatar),
        ("Catch-bsuite", SimpleNamespace(ball_x=0, ball_y=0, paddle_x=4, paddle_y=9), None),
        ("DeepSea-bsuite", SimpleNamespace(row=7, column=7), None),
        ("FourRooms-misc", SimpleNamespace(pos=np.array([1, 1]), goal=np.array([11, 11])), None),
        ("Pong-misc", None, np.ones((30, 40, 3))),
        ("Unknown-v0", None, np.linspace(-1, 1, 30)),
        ("Unknown-v0", None, np.random.default_rng(0).normal(size=(25, 70))),
    ]
    for env_id, state, obs in cases:
        assert_fits(render_state(env_id, state, obs, width=width, height=height), width, height)


# --- Q-values and action names -----------------------------------------------------------------


def test_q_value_bars_mark_the_chosen_action_in_index_order():
    text = q_value_bars(np.array([1.0, 3.0, 2.0]), 1, width=40, action_names=["left", "mid", "right"])
    rows = lines(text)
    assert [row.plain[2:7].strip() for row in rows] == ["left", "mid", "right"]
    assert rows[1].plain.startswith("▶") and not any(r.plain.startswith("▶") for i, r in enumerate(rows) if i != 1)
    assert "bold" in style_at(rows[1], 2)
    bars = [row.plain.count("█") for row in rows]
    assert bars[0] < bars[2] < bars[1]
    assert_fits(text, 40, 3)


def test_q_value_bars_edge_cases():
    assert_fits(q_value_bars([5.0, 5.0], 0, width=12), 12, 2)
    odd = q_value_bars([float("nan"), 1.0, -1e6], 7, width=30)
    assert "▶" not in odd.plain and "nan" in odd.plain and lines(odd)[0].plain.startswith("  a0")


def test_action_names():
    assert action_names("CartPole-v1", 2) == ["left", "right"]
    assert action_names("Acrobot-v1", 3) == ["-1 torque", "0", "+1 torque"]
    assert action_names("MountainCar-v0", 3) == ["left", "none", "right"]
    assert action_names("Breakout-MinAtar", 3) == ["noop", "left", "right"]
    assert action_names("Breakout-MinAtar", 6) == ["noop", "left", "up", "right", "down", "fire"]
    assert action_names("Unknown-v0", 3) == ["a0", "a1", "a2"]
    assert action_names("CartPole-v1", 3) == ["a0", "a1", "a2"]


def test_render_package_imports_neither_jax_nor_textual():
    code = "import sys, lerax_tui.render\nprint(sorted({m.split('.')[0] for m in sys.modules} & {'jax', 'textual', 'gymnax'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- every supported environment, from a real reset ---------------------------------------------

EXPECTED_RENDERER = {
    "CartPole-v1": "cartpole",
    "Acrobot-v1": "acrobot",
    "MountainCar-v0": "mountain_car",
    "Catch-bsuite": "catch",
    "DeepSea-bsuite": "deep_sea",
    "FourRooms-misc": "four_rooms",
    "MetaMaze-misc": "meta_maze",
    "Pong-misc": "pong",
}


def test_every_supported_env_renders_a_real_reset_state():
    import gymnax
    import jax

    from lerax_tui.core.env import catalogue

    supported = [info.env_id for info in catalogue() if info.supported]
    assert "CartPole-v1" in supported and "Breakout-MinAtar" in supported
    problems = []
    for env_id in supported:
        expected = EXPECTED_RENDERER.get(env_id, "minatar" if env_id.endswith("-MinAtar") else "generic")
        if renderer_for(env_id) != expected:
            problems.append(f"{env_id}: renderer {renderer_for(env_id)}, expected {expected}")
        env, params = gymnax.make(env_id)
        obs, state = env.reset(jax.random.key(0), params)
        for width, height in ((60, 20), (24, 8)):
            try:
                text = render_state(env_id, state, obs, width=width, height=height, env=env, params=params)
                assert_fits(text, width, height)
                if "failed" in text.plain or "cannot draw" in text.plain:
                    problems.append(f"{env_id} at {width}x{height}: {text.plain.splitlines()[0]}")
            except Exception as error:  # collect every env's problem, not just the first
                problems.append(f"{env_id} at {width}x{height}: {type(error).__name__}: {error}")
    assert not problems, "\n".join(problems)
