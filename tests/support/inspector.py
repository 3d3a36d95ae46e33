"""The inspector without JAX: a fake episode and evaluator, a run folder with or without a resume
state, its report, and an app that stands in for the main app (UI and snapshot tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.text import Text
from textual.app import App

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.core.verification import Report
from lerax_tui.tui.messages import ContinueTraining
from lerax_tui.tui.screens.inspector import InspectorScreen

RETURNS = np.array([500.0, 487.0, 500.0, 312.0, 455.0, 500.0, 500.0, 421.0, 500.0, 498.0])


class FakeEpisode:
    """A cart that walks right one cell per step and falls after 6 steps."""

    def __init__(self, length: int = 6):
        self.length = length
        self.reset(0)

    def reset(self, seed: int) -> None:
        self.seed, self.t, self.total_return, self.last_reward, self.done = seed, 0, 0.0, 0.0, False
        self._observe()

    def _observe(self) -> None:
        self.q_values = np.array([10.0 - self.t, 9.5 + 0.2 * self.t])
        self.action = int(np.argmax(self.q_values))

    def step(self) -> None:
        self.t += 1
        self.last_reward = 1.0
        self.total_return += 1.0
        self.done = self.t >= self.length
        self._observe()

    def render(self, width: int, height: int) -> Text:
        self.drawn_at = (width, height)  # the size of the last picture asked for
        track = ["·"] * 20
        track[min(19, 4 + self.t)] = "█"
        return Text(f"seed {self.seed}  t {self.t}\n" + "".join(track))

    def action_names(self) -> list[str]:
        return ["left", "right"]


def fake_evaluator(episodes, seed, progress, cancelled):
    out = RETURNS[:episodes]
    for i in range(1, len(out) + 1):
        progress(i, out[:i])
    return out


def make_run(root: Path, *, resume: bool, resume_step: int = 50000) -> Path:
    """A run folder whose final.eqx is at step 50,000 (see make_report); its resume state, if
    any, is at ``resume_step`` (only its manifest matters to the plan)."""
    ckpt = root / "runs" / "CartPole-v1-20261124-120000-abc123" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "final.eqx").write_bytes(b"x")
    if resume:
        (ckpt / "resume.eqx").write_bytes(b"x")
        (ckpt / "resume.json").write_text(
            json.dumps({"format": "lerax-tui-checkpoint", "kind": "dqn-train-state", "step": resume_step})
        )
    return ckpt / "final.eqx"


def make_report(path: Path) -> Report:
    manifest = {
        "env_id": "CartPole-v1",
        "hyperparameters": {"epsilon": 0.05, "width_size": 64, "depth": 2},
        "step": 50000,
        "recent_return": 487.3,
        "config": {"learning_rate": 0.001, "total_timesteps": 50000, "width_size": 64, "depth": 2},
    }
    return Report(
        path=str(path),
        fingerprint_kind="lerax-tui",
        manifest=manifest,
        env_id="CartPole-v1",
        hyperparameters={"epsilon": 0.05, "width_size": 64, "depth": 2},
    )


class InspectorApp(App):
    """Stands in for the main app: records the continue-training requests the inspector posts."""

    def __init__(self, path: Path, episode_factory=None):
        super().__init__()
        self.path = path
        self.episode_factory = episode_factory or FakeEpisode
        self.requests: list[ContinueTraining] = []

    def on_mount(self) -> None:
        report = make_report(self.path)
        row = CheckpointRow(path=self.path, run=self.path.parent.parent.name, run_dir=self.path.parent.parent)
        self.push_screen(
            InspectorScreen(
                "POLICY",
                report,
                row=row,
                env=object(),
                evaluator=fake_evaluator,
                episode_factory=self.episode_factory,
                episodes=10,
                can_continue=True,
            )
        )

    def on_continue_training(self, request: ContinueTraining) -> None:
        self.requests.append(request)


async def ready(pilot) -> InspectorScreen:
    """Wait for the episode and the evaluation's finished message (not just its last batch: the
    caption drops "running…" only then); fail, rather than go on half-ready, after 15 s."""
    screen = pilot.app.screen
    for _ in range(750):
        await pilot.pause(0.02)
        if screen.episode is not None and screen.evaluated:
            break
    else:
        raise AssertionError("the inspector was not ready within 15 s")
    await pilot.pause(0.05)
    return screen
