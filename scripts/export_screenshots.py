"""Drive the real app and save the README screenshots as SVG.

    python -m scripts.export_screenshots            # real DQN training on CartPole-v1 (JAX, ~1 min on 2 cores)
    python -m scripts.export_screenshots --fake     # the tests' deterministic fake trainer (no JAX)

Run it from the repository root: ``--fake`` takes the fake trainer from ``tests/support/fake.py``.

Writes screenshots/main-training.svg (a run in progress), screenshots/past-runs.svg (three finished
runs overlaid) and screenshots/help.svg (F1 on the chart).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 36)


async def wait_for(pilot, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s (phase: {pilot.app.main_screen.run.phase})")
        await pilot.pause(0.1)


def save(app, out: Path, name: str) -> None:
    path = out / name
    path.write_text(app.export_screenshot(title="lerax-tui"))
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", file=sys.stderr)


async def ready(pilot) -> None:
    from lerax_tui.tui.widgets.env_picker import EnvPicker

    await wait_for(
        pilot,
        lambda: pilot.app.main_screen.query(EnvPicker) and pilot.app.main_screen.query_one(EnvPicker).entries,
        120,
    )


async def train(pilot, timeout: float, **fields) -> None:
    screen = pilot.app.main_screen
    for name, value in fields.items():
        screen.form.rows[name].editor.value = str(value)
    await pilot.pause()
    await pilot.press("f5")
    await wait_for(pilot, lambda: screen.session is None and screen.run.ended, timeout)
    assert screen.run.phase != "failed", screen.run.message


async def main(out: Path, runs_dir: Path, fake: bool) -> None:
    from lerax_tui.tui.app import make_app

    factory = None
    catalogue = None
    if fake:
        from tests.support.fake import FAKE_CATALOGUE, FakeFactory

        factory = FakeFactory(options={"chunk_delay": 0.05})
        catalogue = FAKE_CATALOGUE
    timeout = 600

    # 1. A run in progress: 3 seeds, captured about two thirds of the way through.
    app = make_app(runs_dir=runs_dir, env_id="CartPole-v1", trainer_factory=factory, catalogue=catalogue)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await train(pilot, timeout, total_timesteps=20_000)  # warm the JIT cache: the next run starts quickly
        screen = app.main_screen
        for name, value in {"total_timesteps": 150_000, "num_seeds": 3}.items():
            screen.form.rows[name].editor.value = str(value)
        await pilot.pause()
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.run.step >= 100_000, timeout)
        await pilot.pause(0.6)
        save(app, out, "main-training.svg")
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.session is None, timeout)
        # Two more finished runs to compare: a smaller learning rate, and a smaller network.
        await train(pilot, timeout, total_timesteps=100_000, num_seeds=1, learning_rate=3e-4)
        await train(pilot, timeout, total_timesteps=100_000, learning_rate=1e-3, width_size=16)

    # 2. A fresh app: the runs folder overlaid.
    app = make_app(runs_dir=runs_dir, env_id="CartPole-v1", trainer_factory=factory, catalogue=catalogue)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await pilot.pause()
        for _ in range(3):
            await pilot.press("space", "down")
        await pilot.press("up")
        await pilot.pause(1.5)
        save(app, out, "past-runs.svg")
        # 3. Help for the focused pane.
        app.query_one("#chart").focus()
        await pilot.press("f1")
        await pilot.pause(0.5)
        save(app, out, "help.svg")


def run_script(main, doc: str | None, fake_help: str, prefix: str) -> None:
    """A screenshot script's command line: ``--fake``, ``--out``, ``--runs-dir`` (a temporary folder
    unless given), then ``main(out, runs_dir, fake)``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fake", action="store_true", help=fake_help)
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    parser.add_argument("--runs-dir", type=Path, default=None, help="default: a fresh temporary folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        asyncio.run(main(args.out, args.runs_dir or Path(tmp), args.fake))


if __name__ == "__main__":
    run_script(main, __doc__, "use the deterministic fake trainer instead of real DQN", "lerax-shots-")
