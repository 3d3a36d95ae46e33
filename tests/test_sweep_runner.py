"""The sweep runner's host side: each member's metrics lines reach the disk before its resume state
does, chunk reports carry the ETA's fields as a run's do, and each member ends with a result.json."""

from __future__ import annotations

import json
import os

import pytest
from support.configs import TINY

from lerax_tui.train import runs
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import ChunkMetrics, Phase, PhaseChanged
from lerax_tui.train.outcome import RunStatus, read_result
from lerax_tui.train.sweep_events import ConfigEvent, SweepFinished
from lerax_tui.train.sweep_member import MetricsLog


def test_metrics_lines_are_readable_at_once_and_synced_in_batches(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    log = MetricsLog(tmp_path)
    log.append({"step": 1})
    log.append({"step": 2})
    # flushed line by line: another process (the Runs tab) reads them before any fsync
    lines = (tmp_path / runs.METRICS_FILE).read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2] and synced == []
    log.sync()
    assert len(synced) == 1
    log.append({"step": 3})
    log.close()  # closing syncs what is left
    assert len(synced) == 2 and (tmp_path / runs.METRICS_FILE).read_text().count("\n") == 3
    log.close()  # twice is harmless


def test_metrics_are_synced_at_least_every_sync_s(tmp_path, monkeypatch):
    from lerax_tui.train import sweep_member

    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    clock = iter([0.0, 1.0, sweep_member.SYNC_S + 0.5, sweep_member.SYNC_S + 1.0])
    monkeypatch.setattr(sweep_member.time, "monotonic", lambda: next(clock))
    log = MetricsLog(tmp_path)  # reads the clock: 0
    log.append({"step": 1})  # 1 s later: not yet
    assert synced == []
    log.append({"step": 2})  # past SYNC_S: synced
    assert len(synced) == 1
    log._file.close()  # type: ignore[union-attr]


@pytest.mark.slow
def test_members_sync_metrics_before_resume_state_report_eta_fields_and_end_with_a_result(tmp_path, monkeypatch):
    from lerax_tui.train import sweep_member
    from lerax_tui.train.run_writer import RunWriter
    from lerax_tui.train.sweep_runner import SweepRunner
    from lerax_tui.train.sweep_spec import build_spec

    order: list[tuple[str, str]] = []
    sync = sweep_member.MetricsLog.sync
    write_resume = RunWriter.write_resume

    def logged_sync(self):
        order.append(("sync", self.path.parent.name))
        sync(self)

    def logged_resume(self, state, step):
        order.append(("resume", self.run_dir.name))
        write_resume(self, state, step)

    monkeypatch.setattr(sweep_member.MetricsLog, "sync", logged_sync)
    monkeypatch.setattr(RunWriter, "write_resume", logged_resume)
    base = DQNConfig(**{**TINY, "total_timesteps": 512, "checkpoint_interval": 256, "eval_interval": 256})
    spec = build_spec(base, {"gamma": [0.9, 0.99]}, {}, None, 2)
    events: list = []
    result = SweepRunner("CartPole-v1", spec, tmp_path, events.append).run()
    assert result.error is None and isinstance(events[-1], SweepFinished)

    # every resume state of a member is written after its metrics lines were synced
    resumes = [i for i, (what, _) in enumerate(order) if what == "resume"]
    assert len(resumes) == 6  # two members x (steps 256 and 512, as a run writes them, + final)
    for i in resumes:
        member = order[i][1]
        assert ("sync", member) in order[:i] and order[i - 1] == ("sync", member)

    for index in (0, 1):
        mine = [e.event for e in events if isinstance(e, ConfigEvent) and e.index == index]
        chunks = [e for e in mine if isinstance(e, ChunkMetrics)]
        assert chunks and chunks[-1].step == 512
        # the ETA's fields, as a plain run reports them: active seconds grow, from the program's start
        assert all(c.active_s is not None and c.active_s >= 0 for c in chunks)
        active = [c.active_s for c in chunks]
        assert active == sorted(active) and active[-1] > 0
        assert {c.start_step for c in chunks} == {0} and all(c.compile_s > 0 for c in chunks)
        assert [e.phase for e in mine if isinstance(e, PhaseChanged)][-1] == Phase.FINISHED
        ended = read_result(result.sweep_dir / f"config-00{index}")
        assert ended is not None and ended.status == RunStatus.FINISHED and ended.step == 512
        entry = result.record.configs[index].result
        assert entry is not None and ended.final == pytest.approx(entry.eval_return_per_seed)
        assert ended.best is not None and len(ended.best) == 2 and ended.best_steps is not None
        assert [r.step for r in runs.read_metrics(result.sweep_dir / f"config-00{index}")][-1] == 512


@pytest.mark.slow
def test_the_chunk_compiled_ahead_trains_as_one_compiled_after_the_state(cartpole, monkeypatch):
    import threading

    import numpy as np

    from lerax_tui.train import dqn
    from lerax_tui.train import sweep_engine as se

    base = DQNConfig(**TINY, num_seeds=2)
    configs = [base.replace(gamma=0.9), base.replace(gamma=0.99)]
    config, hyper = se.program_config(configs), se.program_hyper(configs)
    threads: list[str] = []
    compile_ = dqn.ChunkFn.compile

    def watched(self, state):
        threads.append(threading.current_thread().name)
        if len(threads) == 1 and fail_ahead:  # compiling ahead fails: compiled again for the real state
            raise RuntimeError("no")
        return compile_(self, state)

    monkeypatch.setattr(dqn.ChunkFn, "compile", watched)
    outs = []
    for fail_ahead in (False, True):
        threads.clear()
        state, chunk = se.build_program(cartpole, config, 64, hyper, lambda: se.init_program(cartpole, configs))
        assert threads[0] == "sweep-compile"
        assert threads[1:] == ([threading.current_thread().name] if fail_ahead else [])
        outs.append(chunk(state, 64)[1])
    # the same numbers as a chunk compiled the plain way, after the state
    state = se.init_program(cartpole, configs)
    plain = dqn.make_chunk_fn(cartpole, config, 64, state, hyper)
    monkeypatch.setattr(dqn.ChunkFn, "compile", compile_)
    plain.compile(state)
    want = plain(state, 64)[1]
    for out in outs:
        np.testing.assert_array_equal(np.asarray(out.episode_return), np.asarray(want.episode_return))
        np.testing.assert_array_equal(np.asarray(out.loss_sum), np.asarray(want.loss_sum))
