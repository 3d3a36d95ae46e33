"""The checkpoint browser driven with Pilot: rows for every bad file, keys, loading, deleting.

Real verification (record headers and eval_shape skeletons: nothing is compiled); the policy a load
would open is handed to a recorder instead of the inspector.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.browser_folder import EXPECTED, build_browser_folder
from textual.app import App

from lerax_tui.core.checkpoint import manifest_path
from lerax_tui.tui.messages import PolicyLoaded
from lerax_tui.tui.screens.checkpoint_export import ExportDialog
from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen
from lerax_tui.tui.screens.dialogs import ConfirmDialog, PolicyParametersDialog


class BrowserApp(App):
    """The browser alone; a loaded policy is recorded instead of opening the inspector."""

    def __init__(self, runs: Path | None, folder: Path | None = None, **kw):
        super().__init__()
        self.opened: list[tuple] = []
        self._args = (runs, folder, kw)

    def on_mount(self) -> None:
        runs, folder, kw = self._args
        self.push_screen(CheckpointBrowserScreen(runs, folder, **kw))

    def on_policy_loaded(self, message: PolicyLoaded) -> None:
        self.opened.append((message.policy, message.report, message.row))


async def settle(pilot, screen: CheckpointBrowserScreen, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if screen.verified:
            await pilot.pause(0.25)  # one more drain
            return
    raise AssertionError("verification did not finish")


async def until(pilot, predicate, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


def labels(screen: CheckpointBrowserScreen) -> dict[str, str]:
    """file name -> status as the table's cells show it (the name cell may be cut to fit)."""
    table = screen.table
    return {row.name: str(table.get_cell(row.key, "status")) for row in table.shown}


def select(screen: CheckpointBrowserScreen, name: str) -> None:
    index = next(i for i, row in enumerate(screen.table.shown) if row.name == name)
    screen.table.move_cursor(row=index)


@pytest.fixture
def folder(tmp_path, small_policy, cartpole, lerax_dir):
    build_browser_folder(tmp_path, small_policy, cartpole, lerax_dir=lerax_dir)
    return tmp_path


async def test_rows_show_every_status(folder):
    app = BrowserApp(folder / "runs", folder / "files")
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        got = labels(screen)
        assert got["final"] == got["step-000000100"] == "ok (lerax-tui fingerprint)"
        for stem, (_, label) in EXPECTED.items():
            assert got[stem] == label, stem
        assert "resume" not in got and not any(".tmp-" in n for n in got)
        details = str(screen.query_one("#browser-details-text").render())
        assert (
            "resume.eqx at this step: continuing resumes exactly" in details
        )  # first row: final, at the resume's step
        select(screen, "step-000000100")
        await pilot.pause(0.1)
        assert "resume.eqx is at another step" in str(screen.query_one("#browser-details-text").render())


async def test_keys_move_filter_and_load_an_ok_file(folder):
    app = BrowserApp(folder / "runs", folder / "files")
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        await pilot.press("j", "j", "k")
        assert screen.table.cursor_row == 1
        await pilot.press("slash", *"corrupt")
        await pilot.pause(0.3)  # the filter applies once typing pauses
        assert set(labels(screen).values()) == {"corrupt"} and len(labels(screen)) == 4
        await pilot.press("escape")  # clears the filter
        assert len(labels(screen)) == len(screen.rows)
        select(screen, "final")
        await pilot.press("enter")
        await until(pilot, lambda: app.opened)
        policy, report, row = app.opened[0]
        assert row.name == "final" and report.ok and policy.q_network.width_size == 8


async def test_enter_on_a_damaged_file_explains_and_loads_nothing(folder):
    app = BrowserApp(folder / "runs", folder / "files")
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "truncated")
        await pilot.press("enter")
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert any("truncated: 1612 payload bytes, manifest says 1712" in m and "not loaded" in m for m in messages)
        assert "why it cannot be loaded" in str(screen.query_one("#browser-details-text").render())
        select(screen, "lying-manifest")
        await pilot.pause(0.05)
        assert "width_size: file 8, manifest 128" in str(screen.query_one("#browser-details-text").render())
        assert not app.opened


async def test_file_without_manifest_asks_verifies_then_loads(folder):
    app = BrowserApp(folder / "runs", folder / "files", form_defaults=lambda: ("Acrobot-v1", {"epsilon": 0.2}))
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "cartpole_trained")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PolicyParametersDialog))
        dialog = app.screen
        # prefilled from the file's records (facts) over the form
        assert dialog.query_one("#param-env_id").value == "CartPole-v1"
        assert dialog.query_one("#param-width_size").value == "64"
        assert dialog.query_one("#param-depth").value == "2"
        dialog.query_one("#param-width_size").value = "32"
        await pilot.press("enter")
        await until(
            pilot, lambda: screen.rows[str(folder / "files/cartpole_trained.eqx")].status == "fingerprint-mismatch"
        )
        await pilot.pause(0.3)
        assert labels(screen)["cartpole_trained"] == "fingerprint mismatch"
        assert "width_size: file 64, requested 32" in str(screen.query_one("#browser-details-text").render())
        assert not app.opened
        # again with the right values: verified, then loaded
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PolicyParametersDialog))
        app.screen.query_one("#param-width_size").value = "64"
        await pilot.press("enter")
        await until(pilot, lambda: app.opened)
        _, report, row = app.opened[0]
        assert report.ok and report.fingerprint_kind == "lerax" and row.name == "cartpole_trained"


async def test_delete_asks_first_then_removes_both_files(folder):
    app = BrowserApp(folder / "runs")
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "step-000000100")
        target = folder / "runs" / "CartPole-v1-20261124-120000-abc123" / "checkpoints" / "step-000000100.eqx"
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        assert target.exists() and "step-000000100" in labels(screen)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await pilot.pause(0.1)
        assert not target.exists() and not manifest_path(target).exists()
        assert "step-000000100" not in labels(screen)


async def test_deleted_between_listing_and_loading(folder):
    app = BrowserApp(folder / "runs")
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "final")
        (folder / "runs/CartPole-v1-20261124-120000-abc123/checkpoints/final.eqx").unlink()
        await pilot.press("enter")
        await until(pilot, lambda: labels(screen).get("final") == "missing")
        assert not app.opened
        assert any("does not exist" in n.message for n in app._notifications)


async def test_unreadable_folder_and_rescan(folder, monkeypatch):
    files = folder / "files"
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == files:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    app = BrowserApp(folder / "runs", files)
    async with app.run_test(size=(140, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        assert labels(screen)["files/"] == "folder not readable"
        select(screen, "files/")
        await pilot.pause(0.05)
        assert "permission denied" in str(screen.query_one("#browser-details-text").render())
        await pilot.press("enter")  # explains, never raises
        monkeypatch.setattr(os, "scandir", real_scandir)
        await pilot.press("r")
        await settle(pilot, screen)
        assert labels(screen)["truncated"] == "truncated"


async def test_parameters_dialog_checks_its_values():
    results = []

    class DialogApp(App):
        def on_mount(self) -> None:
            dialog = PolicyParametersDialog(
                "x.eqx",
                env_id="CartPole-v1",
                hyperparameters={"width_size": 64},
                env_choices=["CartPole-v1", "Acrobot-v1"],
            )
            self.push_screen(dialog, results.append)

    app = DialogApp()
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = app.screen
        dialog.query_one("#param-env_id").value = "Cart"
        await pilot.press("enter")
        assert "unknown environment 'Cart' (did you mean CartPole-v1?)" in str(
            dialog.query_one("#dialog-error").render()
        )
        dialog.query_one("#param-env_id").value = "Acrobot-v1"
        dialog.query_one("#param-depth").value = "two"
        await pilot.press("enter")
        assert "depth: 'two' is not an integer" in str(dialog.query_one("#dialog-error").render())
        dialog.query_one("#param-depth").value = "3"
        await pilot.press("tab", "end", "backspace", "backspace", *"32", "enter")
        await pilot.pause()
    assert results == [("Acrobot-v1", {"width_size": 32, "depth": 3})]


async def test_in_the_main_app_ctrl_o_then_load_prefills_from_the_form(folder):
    """The browser inside the real app (fake trainer and catalogue): ctrl+o opens it, and the
    parameters dialog falls back to the app's form for what the file cannot say."""
    from support.fake import FAKE_CATALOGUE, FakeFactory

    import lerax_tui.tui.app as app_module
    from lerax_tui.tui.app import make_app

    assert app_module.CheckpointBrowserScreen is CheckpointBrowserScreen
    app = make_app(
        runs_dir=folder / "runs",
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=folder / "no-keymap.toml",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, CheckpointBrowserScreen))
        screen = app.screen
        await settle(pilot, screen)
        assert labels(screen)["final"] == "ok (lerax-tui fingerprint)"
        row = screen.rows[str(folder / "runs/CartPole-v1-20261124-120000-abc123/checkpoints/final.eqx")]
        row.report.env_id, row.report.hyperparameters = None, None  # as if nothing could be inferred
        env_id, hp = screen.prefill(row)
        form = app.main_screen.form.config()
        assert env_id == "CartPole-v1" and hp == {
            "width_size": form.width_size,
            "depth": form.depth,
            "epsilon": form.epsilon,
        }
        await pilot.press("escape")
        assert not isinstance(app.screen, CheckpointBrowserScreen)


async def test_a_thousand_files_fill_in_chunks_and_keys_work_meanwhile(tmp_path):
    from lerax_tui.core.checkpoint_index import CheckpointIndex
    from lerax_tui.core.verification import Report

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1000):
        (folder / f"ckpt-{i:04d}.eqx").write_bytes(b"")

    def fake_verify(path, **kw):
        return Report(path=str(path), status="not-a-checkpoint", problems=["empty file (0 bytes)"], file_bytes=0)

    app = BrowserApp(None, index=CheckpointIndex(None, [folder], verify_fn=fake_verify))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert 0 < screen.table.row_count < 1000  # the first chunk at once, the rest between events
        await pilot.press("j", "j")
        assert screen.table.cursor_row == 2
        await settle(pilot, screen)
        assert screen.table.row_count == 1000
        assert set(labels(screen).values()) == {"not a checkpoint"}


async def test_the_palette_reaches_every_browser_action(folder):
    """ctrl+p on the browser lists its keyed actions (with their keys) and runs them."""
    from support.fake import FAKE_CATALOGUE, FakeFactory
    from textual.widgets import Input

    from lerax_tui.tui.app import make_app

    app = make_app(
        runs_dir=folder / "runs",
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=folder / "no-keymap.toml",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        main_titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Rescan" not in main_titles
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, CheckpointBrowserScreen))
        screen = app.screen
        await settle(pilot, screen)
        commands = {c.title: c.help for c in app.get_system_commands(screen)}
        for title in ("Back", "Filter", "Rescan", "Delete", "Add folder", "Export"):
            assert title in commands, title
        assert commands["Rescan"] == "r on this screen"
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Filter")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: app.screen is screen and isinstance(app.focused, Input) and app.focused.id == "browser-filter",
        )


def test_details_of_a_best_checkpoint_show_its_greedy_evaluation(tmp_path, small_policy, cartpole):
    from lerax_tui.core import verify
    from lerax_tui.core.checkpoint import save_checkpoint
    from lerax_tui.core.checkpoint_index import CheckpointRow
    from lerax_tui.tui.checkpoint_text import details_text

    best = save_checkpoint(
        small_policy,
        tmp_path / "best",
        env=cartpole,
        step=30_000,
        recent_return=310.0,
        extra={"eval_return": 487.5, "eval_returns": [500.0, 475.0]},
    )
    text = details_text(CheckpointRow(path=best, run="r", report=verify(best))).plain
    line = next(x for x in text.splitlines() if x.startswith("greedy eval"))
    assert (
        line.endswith("487.5 (mean of 2 episodes at step 30,000: this seed's best)") and "recent return 310.0" in text
    )
    final = save_checkpoint(small_policy, tmp_path / "final", env=cartpole, step=50_000, recent_return=500.0)
    assert "greedy eval" not in details_text(CheckpointRow(path=final, run="r", report=verify(final))).plain


async def test_export_key_writes_a_verified_file_and_lists_it(folder):
    """x on lerax's file: choose lerax 0.0.5 with the keys, Enter; the file is written, verified, listed
    and selected. A second export to a name that exists is refused in the dialog."""
    from lerax_tui.core import verify

    app = BrowserApp(folder / "runs", folder / "files")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "cartpole_trained")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExportDialog))
        dialog = app.screen
        assert "CartPole-v1 (inferred from its records), width_size=64, depth=2" in str(
            dialog.query_one("#dialog-message").render()
        )
        assert dialog.query_one("#export-path").value == str(folder / "files/cartpole_trained-lerax.eqx")
        await pilot.press("down", "space")  # the second layout: lerax 0.0.5
        assert dialog.format == "lerax-0.0.5"
        assert dialog.query_one("#export-path").value == str(folder / "files/cartpole_trained-lerax-0.0.5.eqx")
        await pilot.press("tab", "enter")
        out = folder / "files/cartpole_trained-lerax-0.0.5.eqx"
        await until(pilot, lambda: any("exported as lerax-0.0.5 (verified)" == n.title for n in app._notifications))
        report = verify(out)
        assert report.ok and report.fingerprint_kind == "lerax-0.0.5" and report.env_id == "CartPole-v1"
        await settle(pilot, screen)
        assert labels(screen)["cartpole_trained-lerax-0.0.5"] == "ok (lerax 0.0.5 file)"
        assert screen.current_row().path == out  # the new file is selected
        # Again from the new file, to a name that exists: refused, nothing replaced.
        before = out.read_bytes()
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExportDialog))
        app.screen.query_one("#export-path").value = "cartpole_trained"  # relative: the checkpoint's folder
        await pilot.press("tab", "enter")
        assert "cartpole_trained.eqx exists" in str(app.screen.query_one("#dialog-error").render())
        await pilot.press("escape")
        assert app.screen is screen and out.read_bytes() == before
        assert not app.opened


async def test_export_of_a_damaged_file_is_refused_with_the_reason(folder):
    app = BrowserApp(folder / "runs", folder / "files")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        select(screen, "truncated")
        await pilot.press("x")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert any(
            "truncated: 1612 payload bytes" in n.message and "not exported" in n.message for n in app._notifications
        )
