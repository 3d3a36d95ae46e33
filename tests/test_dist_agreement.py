"""Every process of a distributed run takes the same path after its last chunk (issue 16).

A stop that reaches one process only (a signal during the final checkpoint writes) must not send it
past the final evaluation while the others run it: they would wait alone in its gather until the
peer timeout. The runner asks ``_stop_now``, which a distributed runner answers from what the last
chunk's messages carried (the same bytes on every process), not from this process's own flag."""

from __future__ import annotations

import threading

import pytest

from lerax_tui.train.dist_exchange import ChunkExchange
from lerax_tui.train.dist_runner import DistributedRunner


class _NoCollectives:
    def stack(self, values, what):
        raise AssertionError(f"a collective after the chunk's report: {what}")


@pytest.mark.parametrize(
    ("carried", "mine", "expected"), [(False, True, False), (True, False, True), (False, False, False)]
)
def test_the_stop_after_the_last_chunk_is_what_every_process_saw(carried, mine, expected):
    exchange = ChunkExchange(_NoCollectives())  # type: ignore[arg-type]
    exchange._answers = (carried, False)  # what the last chunk's messages carried, on every process alike
    runner = DistributedRunner.__new__(DistributedRunner)  # only the hook's state: no cluster, no JAX
    runner._exchange = exchange
    runner._stop = threading.Event()
    if mine:
        runner._stop.set()
    assert runner._stop_now() is expected


def test_before_any_chunk_every_process_is_asked():
    class Cluster:
        asked: list[str] = []

        def stack(self, values, what):
            import numpy as np

            self.asked.append(what)
            return np.stack([values, np.array([1, 0, 7], np.int64)])  # the other process was stopped

    runner = DistributedRunner.__new__(DistributedRunner)
    runner._exchange = ChunkExchange(Cluster())  # type: ignore[arg-type]
    runner._stop = threading.Event()
    assert runner._stop_now() is True and Cluster.asked == ["agreeing on the next chunk"]
