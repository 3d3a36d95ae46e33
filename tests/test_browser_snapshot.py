"""Snapshot of the checkpoint browser: fixed files, fixed clock, a fake verifier (nothing imported
from JAX), so the picture only changes when the screen does."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App

from lerax_tui.core.checkpoint_index import CheckpointIndex
from lerax_tui.core.verification import Report
from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen

NOW = 1_795_000_000.0
RUN = "CartPole-v1-20261124-120000-abc123"


def _manifest(step: int, ret: float, width: int = 64) -> dict:
    return {
        "env_id": "CartPole-v1",
        "class": "MLPQPolicy",
        "hyperparameters": {"epsilon": 0.05, "width_size": width, "depth": 2},
        "step": step,
        "recent_return": ret,
        "created": "2026-11-24T12:00:00+00:00",
        "versions": {"lerax_tui": "0.1.0", "jax": "0.7.2", "equinox": "0.13.1"},
        "config": {"learning_rate": 0.001, "batch_size": 64, "total_timesteps": 50000},
    }


FP = "3f099ba09c1b9cd1211eb95dad7f7b6e41c032a55f0e8c15316213db823851f8"
REPORTS = {
    "final": dict(status="ok", fingerprint_kind="lerax-tui", manifest=_manifest(50000, 487.3)),
    "step-000025000": dict(status="ok", fingerprint_kind="lerax-tui", manifest=_manifest(25000, 212.9)),
    "cartpole_trained": dict(
        status="ok",
        fingerprint_kind="lerax",
        env_id="CartPole-v1",
        inferred=True,
        hyperparameters={"epsilon": 0.1, "width_size": 64, "depth": 2},
        problems=["no manifest: array bytes cannot be checked against a digest (structure and sizes verified)"],
    ),
    "cartpole_05": dict(
        status="ok",
        fingerprint_kind="lerax-0.0.5",
        env_id="CartPole-v1",
        inferred=True,
        hyperparameters={"width_size": 64, "depth": 2, "epsilon": 0.10000000149011612},
        problems=[
            "no fingerprint (lerax 0.0.5 layout): structure checked record by record; array bytes cannot be checked against a digest"
        ],
    ),
    "truncated": dict(
        status="truncated",
        manifest=_manifest(50000, 487.3),
        problems=["truncated: 19532 payload bytes, manifest says 19632"],
    ),
    "lying": dict(
        status="corrupt",
        manifest=_manifest(50000, 487.3, width=128),
        problems=[
            "the manifest does not describe the file: building from its hyperparameters gives another fingerprint",
            "width_size: file 64, manifest 128",
        ],
    ),
    "empty": dict(status="not-a-checkpoint", problems=["empty file (0 bytes)"]),
    # a second run with four seeds and a million steps (issue 14: names cut alike, steps cut)
    **{
        f"seed-{k}-step-{step:09d}": dict(
            status="ok", fingerprint_kind="lerax-tui", manifest=_manifest(step, 400.0 + k)
        )
        for k in range(2)
        for step in (500_000, 1_000_000)
    },
}
SIZES = {
    "final": 19664,
    "step-000025000": 19664,
    "cartpole_trained": 19664,
    "cartpole_05": 19892,
    "truncated": 19564,
    "lying": 19664,
    "empty": 0,
}


def fake_verify(path, *, env_id=None, overrides=None):
    kw = dict(REPORTS[Path(path).stem])
    fingerprint = None if kw.get("fingerprint_kind") == "lerax-0.0.5" else FP
    return Report(path=str(path), fingerprint=fingerprint, file_bytes=SIZES.get(Path(path).stem, 19664), **kw)


def make_folder(root: Path) -> None:
    run = root / "runs" / RUN / "checkpoints"
    files = root / "files"
    run.mkdir(parents=True)
    files.mkdir()
    for stem in ("final", "step-000025000", "resume"):
        (run / f"{stem}.eqx").write_bytes(b"\0" * SIZES.get(stem, 10))
    for stem in ("cartpole_05", "cartpole_trained", "truncated", "lying", "empty"):
        (files / f"{stem}.eqx").write_bytes(b"\0" * SIZES[stem])
    for i, p in enumerate(sorted(root.rglob("*.eqx"))):
        os.utime(p, (NOW - 3600 * (i + 1), NOW - 3600 * (i + 1)))


class SnapApp(App):
    def on_mount(self) -> None:
        index = CheckpointIndex(Path("runs"), [Path("files")], verify_fn=fake_verify, clock=lambda: NOW)
        self.push_screen(CheckpointBrowserScreen(None, index=index))


async def _verified(pilot) -> None:
    screen = pilot.app.screen
    for _ in range(200):
        await pilot.pause(0.05)
        if screen.verified:
            break
    await pilot.pause(0.3)


def test_browser_snapshot(snap_compare, tmp_path, monkeypatch):
    make_folder(tmp_path)
    monkeypatch.chdir(tmp_path)

    async def run_before(pilot) -> None:
        await _verified(pilot)
        await pilot.press("j", "j", "j", "j", "j")  # the lying manifest: its explanation in the details pane

    assert snap_compare(SnapApp(), terminal_size=(140, 34), run_before=run_before)


def test_browser_80x24_shows_name_step_and_status(snap_compare, tmp_path, monkeypatch):
    """Issue 14, item 7: at 80 columns the status is on screen, a million steps are whole, and the
    seeds' step checkpoints and the two runs are told apart."""
    make_folder(tmp_path)
    seeds = tmp_path / "runs" / "CartPole-v1-20261124-130000-d4e5f6" / "checkpoints"
    seeds.mkdir(parents=True)
    for k in range(2):
        for step in (500_000, 1_000_000):
            (seeds / f"seed-{k}-step-{step:09d}.eqx").write_bytes(b"\0" * 19664)
    for i, p in enumerate(sorted(seeds.glob("*.eqx"))):
        os.utime(p, (NOW - 60 * (i + 1), NOW - 60 * (i + 1)))
    monkeypatch.chdir(tmp_path)

    async def run_before(pilot) -> None:
        await _verified(pilot)

    assert snap_compare(SnapApp(), terminal_size=(80, 24), run_before=run_before)
