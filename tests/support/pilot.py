"""Driving the app with Pilot: wait for a condition instead of sleeping a guessed time."""

from __future__ import annotations

import asyncio

SIZE = (120, 36)


async def until(pilot, condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def board_evals(board) -> tuple[str, dict[int, str]]:
    """A sweep leaderboard's evaluation column as shown: its heading and each configuration's cell."""
    titles = [str(c.label) for c in board.ordered_columns]
    column = next(i for i, t in enumerate(titles) if t.endswith(" eval"))
    return titles[column], {i: str(board.get_row(str(i))[column]) for i in board.order}
