"""Waiting for the main screen's charts, which redraw on timers, before a snapshot or a check."""

from __future__ import annotations


async def settled(pilot) -> None:
    """The chart and the loss/epsilon charts show the data as they are."""
    from lerax_tui.tui.widgets.metrics_view import MetricsView
    from lerax_tui.tui.widgets.return_chart import ReturnChart

    views = [pilot.app.main_screen.query_one(ReturnChart), pilot.app.main_screen.query_one(MetricsView)]
    for _ in range(100):
        await pilot.pause(0.1)
        if all(view.up_to_date for view in views):
            return
    raise AssertionError("the charts never caught up")
