"""The inspector with a fake evaluator and a fake episode (nothing compiled): evaluation stats and
histogram, play/pause/step/speed keys, and continue training (exact resume vs fresh buffer)."""

from __future__ import annotations

import numpy as np
import pytest
from support.inspector import RETURNS, FakeEpisode, InspectorApp, fake_evaluator, make_report, make_run, ready
from textual.app import App
from textual.widgets import Input

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.tui.policy_watch import histogram_bins, histogram_text, stats_text
from lerax_tui.tui.screens.continue_dialog import ContinueFromWeightsDialog
from lerax_tui.tui.screens.inspector import SPEEDS, InspectorScreen
from lerax_tui.tui.screens.inspector_continue import UnusableConfig, continue_request, plan_continue


async def test_evaluation_and_episode_keys(tmp_path):
    app = InspectorApp(make_run(tmp_path, resume=True))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await ready(pilot)
        stats = str(screen.query_one("#eval-stats").render())
        assert "mean 467.30" in stats and "min  312.00" in stats and "max 500.00" in stats
        assert "█" in str(screen.query_one("#eval-histogram").render())
        await pilot.press("n", "right")
        assert screen.episode.t == 2
        assert "▶" in str(screen.query_one("#episode-q").render())
        speed = screen.speed_index
        await pilot.press("plus")
        assert screen.speed_index == speed + 1
        await pilot.press("minus", "minus")
        assert screen.speed_index == speed - 1
        await pilot.press("minus", "minus", "minus")
        assert SPEEDS[screen.speed_index] == SPEEDS[0]
        await pilot.press("space")
        assert screen.playing and "playing" in str(screen.query_one("#episode-status").render())
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus")
        assert SPEEDS[screen.speed_index] == SPEEDS[-1]
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.episode.done:
                break
        assert screen.episode.done and not screen.playing and screen.episode.t == 6
        assert "episode over" in str(screen.query_one("#episode-status").render())
        await pilot.press("R")
        assert screen.episode.t == 0 and screen.episode.seed == 1
        await pilot.press("right_square_bracket")
        assert screen.episodes == 20
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert screen.episodes == 5
        # at the top speed a loaded machine can play the whole 6-step episode between two key presses
        # (and the second space then starts a new one), so toggle at the slowest speed
        await pilot.press(*["minus"] * len(SPEEDS))
        await pilot.press("space", "space")
        assert not screen.playing and not screen.episode.done


async def test_continue_training_resumes_exactly_when_resume_exists(tmp_path):
    path = make_run(tmp_path, resume=True)
    app = InspectorApp(path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        (request,) = app.requests
        assert request.env_id == "CartPole-v1"
        assert request.config.learning_rate == 0.001 and request.config.width_size == 64
        assert request.config.total_timesteps == 100000  # finished at 50,000: as many steps again
        assert request.trainer_factory.__qualname__.startswith("fork_trainer_factory")
        assert (
            "continuing exactly from step 50,000" in request.note and "→ 100,000, in a new run folder" in request.note
        )
        assert "CartPole-v1-20261124-120000-abc123 is not changed" in request.note and request.severity == "information"
        plan = screen.continue_plan()
        assert plan.origin == {
            "path": str(path),
            "step": 50000,
            "fingerprint": None,
            "layout": "lerax-tui",
            "env_id": "CartPole-v1",
        }
        assert request.config.epsilon_start == 1.0  # exact: the resume state keeps its own schedule
        assert plan.resume == path.parent / "resume.eqx"


async def test_continue_training_from_an_older_checkpoint_starts_from_its_weights(tmp_path):
    """The run's resume state is at a later step than this checkpoint: never resume from it."""
    path = make_run(tmp_path, resume=True, resume_step=714000)
    app = InspectorApp(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ContinueFromWeightsDialog) and not app.requests  # asks first
        await pilot.press("enter")
        await pilot.pause()
        (request,) = app.requests
        assert request.trainer_factory.__qualname__.startswith("policy_trainer_factory")
        assert "no resume state for step 50,000" in request.note and "fresh replay buffer" in request.note
        assert "new run folder" in request.note and request.severity == "warning"
        # a trained policy does not start exploring at random: epsilon starts where it ends
        assert request.config.epsilon_start == request.config.epsilon_end == 0.04  # the CartPole preset
        assert "exploration from epsilon 0.04" in request.note


async def test_continue_training_without_resume_says_fresh_buffer(tmp_path):
    app = InspectorApp(make_run(tmp_path, resume=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ContinueFromWeightsDialog)
        field = dialog.query_one("#param-epsilon_start", Input)
        assert field.value == "0.04"
        field.value = "0.01"  # below epsilon_end: refused in the dialog, nothing posted
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and not app.requests
        assert "outside [0.04, 1]" in str(dialog.query_one("#dialog-error").render())
        field.value = "0.3"
        await pilot.press("enter")
        await pilot.pause()
        (request,) = app.requests
        assert request.trainer_factory.__qualname__.startswith("policy_trainer_factory")
        assert "fresh replay buffer" in request.note
        assert request.config.epsilon_start == 0.3 and request.config.epsilon_end == 0.04


async def test_continue_training_from_weights_can_be_cancelled(tmp_path):
    app = InspectorApp(make_run(tmp_path, resume=False))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and not app.requests


def test_continue_from_weights_records_its_origin(tmp_path):
    path = make_run(tmp_path, resume=False)
    plan = plan_continue(path, make_report(path))
    request = continue_request("POLICY", plan, epsilon_start=0.5)
    origin = request.origin
    assert origin["from"] == "policy-weights" and origin["epsilon_start"] == 0.5
    assert origin["run"] == "CartPole-v1-20261124-120000-abc123" and origin["layout"] == "lerax-tui"
    with pytest.raises(UnusableConfig):
        continue_request("POLICY", plan, epsilon_start=0.01)  # below epsilon_end


async def test_continue_training_without_the_main_app_degrades(tmp_path):
    class Bare(App):
        requests: list = []

        def on_mount(self):
            path = make_run(tmp_path, resume=False)
            self.push_screen(
                InspectorScreen(
                    "P",
                    make_report(path),
                    env=object(),
                    evaluator=fake_evaluator,
                    episode_factory=FakeEpisode,
                    episodes=10,
                )
            )

        def on_continue_training(self, request):
            self.requests.append(request)

    app = Bare()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert any("needs the main app" in n.message for n in app._notifications)
        assert app.requests == []


async def test_failures_are_shown_not_raised(tmp_path):
    def broken_evaluator(*a):
        raise RuntimeError("env exploded")

    class Broken(App):
        def on_mount(self):
            path = make_run(tmp_path, resume=False)
            self.push_screen(
                InspectorScreen(
                    "P", make_report(path), env=object(), evaluator=broken_evaluator, episode_factory=lambda: 1 / 0
                )
            )

    app = Broken()
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
        screen = app.screen
        assert "env exploded" in str(screen.query_one("#eval-caption").render())
        assert "ZeroDivisionError" in str(screen.query_one("#episode-view").render())


def test_histogram_and_stats_text():
    text = histogram_text(RETURNS, width=40, bins=4).plain.splitlines()
    assert len(text) == 4 and text[-1].endswith(" 8")  # eight returns in the top bin (453-500)
    assert histogram_text(np.array([5.0, 5.0]), width=30).plain.strip().endswith("2")
    assert "no episodes" in histogram_text(np.zeros(0), width=30).plain
    assert "0/10" in stats_text(np.zeros(0), 10).plain


def test_histogram_of_equal_returns_is_one_labelled_bar():
    lines = histogram_text(np.full(20, 500.0), width=40, bins=10).plain.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("500 ") and lines[0].endswith(" 20")
    assert histogram_text(np.full(3, 0.37), width=40, bins=10).plain.split()[0] == "0.37"


def test_histogram_bins_fall_on_round_numbers_and_hold_every_return():
    rng = np.random.default_rng(0)
    for returns in (RETURNS, rng.normal(0, 3, 50), rng.integers(-500, 0, 30).astype(float), np.array([0.1, 0.35])):
        edges, _ = histogram_bins(returns, 10)
        step = edges[1] - edges[0]
        assert len(edges) - 1 <= 10
        assert edges[0] <= returns.min() and edges[-1] >= returns.max()
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))
        assert np.allclose(edges[0] / step, np.round(edges[0] / step))  # edges are multiples of the step
        counts = [int(line.split()[-1]) for line in histogram_text(returns, width=50, bins=10).plain.splitlines()]
        assert sum(counts) == len(returns)
    # whole-number returns in a small range: one bar per value
    lines = histogram_text(np.array([1.0, 2, 3, 3, 5]), width=30, bins=10).plain.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]
    assert [line.split()[-1] for line in lines] == ["1", "1", "2", "0", "1"]


@pytest.mark.slow
def test_real_policy_episode_and_evaluator(lerax_dir):
    """The JAX path end to end on lerax's trained CartPole policy (compiles: marked slow)."""
    from lerax_tui.core import make_env
    from lerax_tui.core.verification import load_checkpoint
    from lerax_tui.tui.policy_watch import PolicyEpisode, make_evaluator

    policy, _ = load_checkpoint(lerax_dir / "cartpole_trained.eqx")
    env = make_env("CartPole-v1")
    ep = PolicyEpisode(policy, env)
    ep.reset(0)
    while not ep.done:
        ep.step()
    assert ep.total_return > 150
    assert ep.render(60, 10).plain
    seen = []
    returns = make_evaluator(policy, env)(4, 0, lambda n, r: seen.append(n), lambda: False)
    assert len(returns) == 4 and seen[-1] == 4 and returns.mean() > 150


def test_title_of_a_best_checkpoint_leads_with_its_greedy_score(tmp_path):
    path = make_run(tmp_path, resume=False)
    report = make_report(path)
    row = CheckpointRow(path=path, run="run", run_dir=path.parent.parent)

    def make(r):
        return InspectorScreen(
            "POLICY", r, row=row, env=object(), evaluator=fake_evaluator, episode_factory=FakeEpisode
        )

    assert "eval" not in make(report)._title().plain
    report.manifest["eval_return"] = 498.25
    assert make(report)._title().plain.endswith("step 50,000 · best eval 498.2 · recent return 487.3")


async def test_a_terminal_resize_redraws_the_q_value_bars_to_the_new_width(tmp_path):
    def widest(screen) -> int:
        return max(len(line) for line in str(screen.query_one("#episode-q").render()).splitlines())

    app = InspectorApp(make_run(tmp_path, resume=True))
    async with app.run_test(size=(160, 36)) as pilot:
        screen = await ready(pilot)
        await pilot.press("n")  # drawn at the settled layout's width
        wide = widest(screen)
        await pilot.resize_terminal(80, 24)
        for _ in range(50):  # the redraw runs after the new layout
            await pilot.pause(0.02)
            if widest(screen) < wide:
                break
        panel = screen.query_one("#episode-q").content_size.width
        assert widest(screen) < wide and widest(screen) <= panel, (wide, widest(screen), panel)


async def test_the_first_picture_is_drawn_at_the_size_its_view_settles_to(tmp_path):
    """The first draw also fills the Q-value bars below the picture, which take lines from its view:
    the picture is drawn again at the view's final size (it was cut off at the bottom before)."""
    import time

    def compiling() -> FakeEpisode:  # ready after the screen's first layout, as a real step's compile is
        time.sleep(0.3)
        return FakeEpisode()

    app = InspectorApp(make_run(tmp_path, resume=True), episode_factory=compiling)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await ready(pilot)
        view = screen.query_one("#episode-view")
        for _ in range(50):
            await pilot.pause(0.02)
            if screen.episode.drawn_at == (view.content_size.width, view.content_size.height):
                break
        assert screen.episode.t == 0  # no key pressed: the first episode's first picture
        assert screen.episode.drawn_at == (view.content_size.width, view.content_size.height)
