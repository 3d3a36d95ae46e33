"""Snapshot of the inspector: a fake evaluator and episode (nothing compiled), three steps in."""

from __future__ import annotations

from support.inspector import InspectorApp, make_run, ready


def test_inspector_snapshot(snap_compare, tmp_path):
    app = InspectorApp(make_run(tmp_path, resume=True))

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.pause(0.3)  # the evaluation panel's last relayout, as below (failed 1 full CI run of ~25)
        await pilot.press("n", "n", "n")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_continue_from_weights_dialog_80x24(snap_compare, tmp_path):
    """Continuing without a resume state asks where exploration starts (epsilon_end by default)."""
    app = InspectorApp(make_run(tmp_path, resume=False))

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.pause(0.3)  # the evaluation panel's last relayout (it shifted the page by a line, 1 in 3 runs)
        await pilot.press("c")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
