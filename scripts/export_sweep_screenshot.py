"""Drive the real app through a sweep and save the README's sweep screenshot as SVG.

    python -m scripts.export_sweep_screenshot           # a real sweep of CartPole-v1 (JAX, a few minutes on 2 cores)
    python -m scripts.export_sweep_screenshot --fake    # the tests' deterministic fake sweep trainer (no JAX)

Run it from the repository root: ``--fake`` takes the fake sweep trainer from ``tests/support/``.

Writes screenshots/sweep.svg: 3 learning rates x 2 gammas x 2 seeds typed into the form as lists,
F5, and the sweep screen (curves, sensitivity, leaderboard) once every configuration has finished.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scripts.export_screenshots import REPO, SIZE, ready, run_script, save, wait_for

SWEEP = {"learning_rate": "1e-3, 2.3e-3, 5e-3", "gamma": "0.99, 0.995", "num_seeds": "2"}
STEPS = 40_000


async def main(out: Path, runs_dir: Path, fake: bool) -> None:
    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.screens.sweep import SweepScreen

    factory = catalogue = sweeps = None
    if fake:
        sys.path.insert(0, str(REPO / "tests"))  # the fakes import each other as `support.…`
        from support.fake import FAKE_CATALOGUE, FakeFactory
        from support.fake_sweep import FakeSweepFactory

        factory, catalogue = FakeFactory(), FAKE_CATALOGUE
        sweeps = FakeSweepFactory(options={"chunk_delay": 0.05, "chunk_steps": 2_000})
    app = make_app(
        runs_dir=runs_dir, env_id="CartPole-v1", trainer_factory=factory, catalogue=catalogue, sweep_factory=sweeps
    )
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.main_screen
        screen.form.rows["total_timesteps"].editor.value = str(STEPS)
        await pilot.pause()
        for name, value in SWEEP.items():
            screen.form.rows[name].editor.value = value
        await pilot.pause()
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), 60)
        sweep = app.screen.sweep
        await wait_for(pilot, lambda: screen.session is None and sweep.ended, 1800)
        assert sweep.phase == "finished", sweep.message
        await pilot.press("down")  # the second-ranked configuration's band
        await pilot.pause(1.0)
        save(app, out, "sweep.svg")


if __name__ == "__main__":
    run_script(main, __doc__, "use the deterministic fake sweep trainer instead of DQN", "lerax-sweep-shot-")
