"""The train command's progress: plain lines off a terminal, a rich live line on one (no JAX here)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from lerax_tui.train.events import (
    CheckpointWritten,
    ChunkMetrics,
    Compiling,
    EvalKind,
    Evaluated,
    Finished,
)
from lerax_tui.train.progress import Progress


def _chunk(step: int, total: int = 1000, sps: float = 400.0, seeds: int = 2) -> ChunkMetrics:
    return ChunkMetrics(
        step=step,
        total_steps=total,
        wall_s=1.0 + step / 200,
        train_s=step / 200,  # 200 steps/s per seed
        sps=sps,
        episode_returns=[np.array([12.0, 21.5])] + [np.array([])] * (seeds - 1),
        episode_lengths=[np.array([12, 21])] + [np.array([], int)] * (seeds - 1),
        episode_steps=[np.array([10, 20])] + [np.array([], int)] * (seeds - 1),
        loss=np.array([0.5, np.nan]),
        epsilon=0.25,
    )


def _events(run: Path) -> list:
    return [
        Compiling(run),
        _chunk(200),
        CheckpointWritten(run / "checkpoints" / "step-200.eqx", 200),
        _chunk(400),
        Evaluated([np.array([9.0, 11.0]), np.array([30.0])], which=EvalKind.PERIODIC, step=400, best=[10.0, 30.0]),
        _chunk(1000),
        Finished(run, None),
    ]


def test_plain_lines_off_a_terminal(tmp_path, monkeypatch):
    clock = iter([0.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0])  # one reading per line or check
    monkeypatch.setattr("lerax_tui.train.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    progress = Progress(out)
    for event in _events(tmp_path):
        progress(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"compiling ({tmp_path})"
    # a progress line 2 s or more after the last line prints; one sooner is skipped; the last always prints
    steps = [line for line in lines if line.startswith("step ")]
    assert [s.split()[1] for s in steps] == ["200/1,000", "1,000/1,000"]
    # sps is all seeds together; the ETA is per seed: 800 steps at 200 steps/s per seed = 4 s
    assert "sps 400  eta 0:04  last return 21.5  loss 0.5000  eps 0.250" in steps[0]
    assert "eta 0:00" in steps[1]
    assert f"checkpoint {tmp_path / 'checkpoints' / 'step-200.eqx'}" in lines
    assert "eval @ 400: greedy 10.0, 30.0  (best so far 10.0, 30.0)" in lines
    assert lines[-1] == f"finished: {tmp_path}"
    assert "\x1b" not in out.getvalue()  # no terminal codes in a log


def test_a_live_rich_line_on_a_terminal(tmp_path):
    out = io.StringIO()
    progress = Progress(out, terminal=True)
    for event in _events(tmp_path):
        progress(event)
    text = out.getvalue()
    assert "\x1b[" in text  # drawn in place with terminal codes
    assert "step 400/1,000" in text and "sps 400" in text and "eta 0:03" in text  # 600 / 200 per seed
    assert "step 1,000/1,000" in text and "eta 0:00" in text
    # lasting lines are printed above the bar, in full
    assert f"checkpoint {tmp_path / 'checkpoints' / 'step-200.eqx'}" in text
    assert "eval @ 400: greedy 10.0, 30.0  (best so far 10.0, 30.0)" in text
    assert f"finished: {tmp_path}" in text


def test_a_terminal_that_goes_away_never_stops_training(tmp_path):
    class Gone(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError(5, "Input/output error")

    for terminal in (True, False):
        progress = Progress(Gone(), terminal=terminal)
        for event in _events(tmp_path):
            progress(event)  # never raises
        assert progress.closed
