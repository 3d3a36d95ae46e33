"""Honest progress: the ETA from the wall time steps really cost (evaluations and checkpoints in,
compile and pauses out), right after a resume, shared by the app's status and the CLI's line."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lerax_tui.core.timefmt import EtaClock
from lerax_tui.train.events import ChunkMetrics, Compiling, Finished
from lerax_tui.train.progress import Progress
from lerax_tui.tui.live_run import LiveRun


def _chunk(step: int, active_s: float, *, total: int = 1000, start_step: int = 0, train_s: float | None = None):
    return ChunkMetrics(
        step=step,
        total_steps=total,
        wall_s=active_s + 5.0,  # compile time is in the wall clock, never in the ETA
        train_s=active_s if train_s is None else train_s,
        sps=1e6,  # what one chunk ran at; the ETA must not believe it
        episode_returns=[np.array([1.0])],
        episode_lengths=[np.array([1])],
        episode_steps=[np.array([step])],
        loss=np.array([0.1]),
        epsilon=0.5,
        active_s=active_s,
        start_step=start_step,
        compile_s=5.0,
    )


def test_eta_is_remaining_steps_at_the_measured_rate():
    clock = EtaClock()
    assert clock.eta(0, 1000) is None  # no rate before the first chunk
    clock.add(250, 1.0)
    assert clock.steps_per_s == pytest.approx(250.0)
    assert clock.eta(250, 1000) == pytest.approx(3.0)
    assert clock.eta(1000, 1000) == 0.0


def test_evaluation_and_checkpoint_time_count():
    # 100 steps per 1 s of training, and every other chunk 1 s of evaluation and checkpoint writing:
    # 200 steps cost 3 s, not 2 s (training time alone would say 33% less).
    clock = EtaClock()
    t = 0.0
    for k in range(1, 21):
        t += 1.0 + (1.0 if k % 2 == 0 else 0.0)
        clock.add(100 * k, t)
    assert clock.steps_per_s == pytest.approx(200 / 3, rel=0.02)
    assert clock.eta(2000, 3000) == pytest.approx(15.0, rel=0.02)


def test_after_a_resume_the_step_count_restarts_with_the_timer():
    # resumed at 195,000 of 200,000: 1,000 steps in the first second; 4,000 left take 4 s, not 0:02
    clock = EtaClock()
    clock.add(196_000, 1.0, start_step=195_000)
    assert clock.eta(196_000, 200_000) == pytest.approx(4.0)


def test_a_new_run_restarts_the_clock():
    clock = EtaClock()
    clock.add(500, 10.0)
    clock.add(100, 1.0)  # steps and time went back: another run (or a resume) in the same view
    assert clock.steps_per_s == pytest.approx(100.0)


def test_the_rate_follows_a_change_of_pace():
    # slow first half (learning not started is fast, learning is slow): the recent half decides
    clock = EtaClock()
    for k in range(1, 11):
        clock.add(1000 * k, float(k))  # 1000 steps/s for 10 s
    for k in range(1, 11):
        clock.add(10_000 + 100 * k, 10.0 + k)  # then 100 steps/s for 10 s
    assert clock.steps_per_s == pytest.approx(100.0)


def test_live_run_eta_after_a_resume_and_compile_time(tmp_path):
    run = LiveRun("CartPole-v1", 200_000, phase="compiling")
    assert run.starting_for(run.created + 3.0) == 3.0 and run.compiling_for() is None  # JAX loading
    run.apply(Compiling(tmp_path))
    assert run.starting_for() is None
    assert run.compiling_for() is not None and run.compile_s is None
    run.apply(_chunk(196_000, 1.0, total=200_000, start_step=195_000, train_s=0.5))
    assert run.eta_s == pytest.approx(4.0)
    assert run.compiling_for() is None and run.compile_s == 5.0


def test_cli_line_uses_the_same_eta(tmp_path, monkeypatch):
    clock = iter(range(0, 1000, 3))  # 3 s between lines: every progress line prints
    monkeypatch.setattr("lerax_tui.train.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    progress = Progress(out, terminal=False)
    progress(Compiling(tmp_path))
    progress(_chunk(196_000, 1.0, total=200_000, start_step=195_000))
    progress(Finished(tmp_path, None))
    lines = out.getvalue().splitlines()
    assert lines[1] == "compiled in 5.0s"
    assert lines[2].startswith("step 196,000/200,000  sps 1,000,000  eta 0:04 ")


def test_compile_time_stays_short_on_the_status_line():
    from lerax_tui.tui.widgets.status_bar import _seconds

    assert [_seconds(0.5), _seconds(12.34), _seconds(65.0)] == ["0.5s", "12s", "1:05"]
