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
