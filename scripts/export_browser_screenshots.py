"""Drive the real app into the checkpoint browser and the inspector, and save both as SVG.

    python -m scripts.export_browser_screenshots     # from the repository root

Builds a folder like a user's with the tests' own builder (``tests/support/browser_folder.py``, reached
as ``tests.support`` from the repository root): a run with its checkpoints and resume state, lerax's
trained CartPole file (no manifest) and damaged copies. Then, with
keys only: highlight the manifest that lies about the architecture (screenshots/browser.svg); Enter
on lerax's file, accept the inferred parameters, and watch 40 steps of an episode after the greedy
evaluation (screenshots/inspector.svg). Uses JAX (the evaluation and the episode step compile).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 36)


async def wait_for(pilot, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        await pilot.pause(0.1)


def save(app, name: str) -> None:
    path = REPO / "screenshots" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(app.export_screenshot(title="lerax-tui"))
    print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)


async def main(root: Path) -> None:
    import jax

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen
    from lerax_tui.tui.screens.dialogs import PolicyParametersDialog
    from lerax_tui.tui.screens.inspector import InspectorScreen
    from tests.support.browser_folder import build_browser_folder

    env = make_env("CartPole-v1")
    lerax_dir = REPO / "tests/fixtures/lerax"
    build_browser_folder(root, MLPQPolicy(env, width_size=8, key=jax.random.key(0)), env, lerax_dir=lerax_dir)

    os.chdir(root)  # relative paths in the pictures, as a user who ran `lerax-tui` here would see
    app = make_app(runs_dir=Path("runs"), env_id="CartPole-v1")
    async with app.run_test(size=SIZE) as pilot:
        browser = CheckpointBrowserScreen(Path("runs"), Path("files"))
        app.push_screen(browser)
        await wait_for(pilot, lambda: browser.verified, 120, "verification")
        await pilot.pause(0.5)
        names = [row.name for row in browser.table.shown]
        await pilot.press(*["j"] * names.index("lying-manifest"))
        await pilot.pause(0.3)
        save(app, "browser.svg")

        await pilot.press(*["k"] * (names.index("lying-manifest") - names.index("cartpole_trained")))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PolicyParametersDialog), 60, "the parameters dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectorScreen), 120, "the inspector")
        inspector = app.screen
        await wait_for(
            pilot,
            lambda: (
                inspector.episode is not None
                and len(inspector.returns) == inspector.episodes
                and "running" not in str(inspector.query_one("#eval-caption").render())
            ),
            300,
            "evaluation",
        )
        for _ in range(40):
            await pilot.press("n")
        await pilot.pause(0.3)
        save(app, "inspector.svg")


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    with tempfile.TemporaryDirectory(prefix="lerax-browser-") as tmp:
        asyncio.run(main(Path(tmp)))
