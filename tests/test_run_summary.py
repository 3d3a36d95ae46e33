"""Run status and summaries from the files alone (no JAX): lock held -> running, result.json ->
finished / stopped / failed, a final manifest without result.json, a killed run -> interrupted; and
metrics read incrementally."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lerax_tui.train import lifecycle, runs
from lerax_tui.train.events import ChunkMetrics, EvalKind, Evaluated, Failed, Finished
from lerax_tui.train.outcome import RESULT_FILE, OutcomeRecorder, RunStatus, lock_held, read_result
from lerax_tui.train.run_summary import RunSummaries, started_label
from lerax_tui.train.runlock import RunLock


def make_folder(root: Path, name: str = "CartPole-v1-20261124-120000-abc123", *, seeds: int = 1, total: int = 1000):
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    config = {"num_seeds": seeds, "total_timesteps": total, "learning_rate": 0.001}
    (run / "config.json").write_text(
        json.dumps(
            {
                "env_id": "CartPole-v1",
                "config": config,
                "seeds": list(range(seeds)),
                "started": "2026-11-24T12:00:00+00:00",
            }
        )
    )
    return run


def chunk(step: int, returns: list[list[float]], evals: list[list[float]] | None = None) -> dict:
    return {
        "step": step,
        "episode_returns": returns,
        "episode_steps": [[step] * len(r) for r in returns],
        **({"eval_returns": evals} if evals is not None else {}),
    }


def test_status_follows_the_lock_then_the_result(tmp_path):
    run = make_folder(tmp_path)
    runs.append_metrics(run, chunk(500, [[10.0, 20.0]], evals=[[50.0, 70.0]]))
    reader = RunSummaries()
    lock = RunLock.acquire(run)
    assert lock_held(run)
    assert reader.summary(run).status == RunStatus.RUNNING
    recorder = OutcomeRecorder(run)
    recorder.observe(
        ChunkMetrics(
            1000, 1000, 1.0, 1.0, 1.0, [np.array([30.0])], [np.array([1])], [np.array([1000])], np.zeros(1), 0.1
        )
    )
    recorder.observe(Evaluated([np.array([200.0, 100.0])]))
    recorder.observe(Evaluated([np.array([300.0])], which=EvalKind.BEST, best_steps=[500]))
    recorder.observe(Finished(run, None))
    assert reader.summary(run).status == RunStatus.RUNNING  # the lock wins while held
    lock.release()
    assert not lock_held(run)
    summary = reader.summary(run)
    assert summary.status == RunStatus.FINISHED
    assert summary.final == 150.0 and summary.best == 300.0 and summary.seeds[0].best_step == 500
    assert summary.step == 1000 and summary.seeds[0].episodes == 2 and summary.seeds[0].recent == 15.0


def test_a_stale_lock_file_is_not_running(tmp_path):
    run = make_folder(tmp_path)
    (run / ".lock").write_text('{"pid": 1}')  # left by a kill -9: nobody holds it
    assert not lock_held(run) and RunSummaries().summary(run).status == RunStatus.INTERRUPTED


def test_stopped_and_failed_results(tmp_path):
    stopped, failed = make_folder(tmp_path, "a-20261124-120000-000001"), make_folder(tmp_path, "b-20261124-120000-2")
    OutcomeRecorder(stopped).observe(Finished(stopped, None, stopped_early=True))
    OutcomeRecorder(failed).observe(Failed("training diverged at step 300"))
    reader = RunSummaries()
    assert reader.summary(stopped).status == RunStatus.STOPPED
    summary = reader.summary(failed)
    assert summary.status == RunStatus.FAILED and summary.error == "training diverged at step 300"
    assert summary.final is None


def test_without_result_the_final_manifest_decides(tmp_path):
    run = make_folder(tmp_path, total=1000)
    runs.append_metrics(run, chunk(400, [[1.0]]))
    reader = RunSummaries()
    assert reader.summary(run).status == RunStatus.INTERRUPTED  # killed before any final checkpoint
    (run / "checkpoints/final.json").write_text(json.dumps({"step": 400}))
    assert reader.summary(run).status == RunStatus.STOPPED
    runs.append_metrics(run, chunk(1000, [[2.0]]))  # resumed and killed again: the final is older
    assert reader.summary(run).status == RunStatus.INTERRUPTED
    (run / "checkpoints/final.json").write_text(json.dumps({"step": 1000, "pad": 1}))
    assert reader.summary(run).status == RunStatus.FINISHED


def test_resuming_forgets_the_old_result(tmp_path):
    from lerax_tui.train.config import DQNConfig

    run = make_folder(tmp_path)
    OutcomeRecorder(run).observe(Finished(run, None, stopped_early=True))
    assert read_result(run) is not None
    lifecycle.note_resume(run, DQNConfig())
    assert not (run / RESULT_FILE).exists()


def test_metrics_are_read_incrementally_and_bad_lines_skipped(tmp_path):
    run = make_folder(tmp_path, seeds=2)
    reader = RunSummaries()
    runs.append_metrics(run, chunk(100, [[1.0], [2.0]], evals=[[5.0], [7.0]]))
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": "nonsense"}\n')
    first = reader.summary(run)
    assert first.step == 100 and first.best == 6.0 and first.evaluations == 1
    offset = reader._entries[run].figures.offset
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 200, "episode_ret')  # torn: waits for its newline
    assert reader.summary(run).step == 100 and reader._entries[run].figures.offset == offset
    with open(run / "metrics.jsonl", "a") as f:
        f.write('urns": [[3.0], [4.0]], "eval_returns": [[9.0], [1.0]]}\n')
    summary = reader.summary(run)
    assert summary.step == 200 and [s.best for s in summary.seeds] == [9.0, 7.0]
    assert [s.best_step for s in summary.seeds] == [200, 100] and [s.episodes for s in summary.seeds] == [2, 2]
    lifecycle.truncate_metrics(run, 100)  # cut on resume: read again from the start
    assert reader.summary(run).step == 100


def test_hostile_result_and_config_read_as_missing(tmp_path):
    run = make_folder(tmp_path)
    (run / RESULT_FILE).write_text(json.dumps({"format": "lerax-tui-result", "status": "running"}))
    assert read_result(run) is None
    (run / RESULT_FILE).write_text(
        json.dumps({"format": "lerax-tui-result", "status": "finished", "final_eval_return_per_seed": ["x", 3]})
    )
    assert read_result(run).final == (None, 3)
    (run / "config.json").write_text("[1, 2")
    summary = RunSummaries().summary(run)
    assert summary.env_id == "CartPole-v1" and summary.status == RunStatus.FINISHED  # env from the name
    assert started_label(summary).startswith("2026-11-2")  # local time of 12:00 UTC


def test_many_folders_and_removed_ones(tmp_path):
    count = 50
    folders = [make_folder(tmp_path, f"CartPole-v1-20261124-120000-{i:06x}") for i in range(count)]
    reader = RunSummaries()
    assert len(reader.summaries(folders)) == count
    assert len(reader.summaries(folders[:3])) == 3 and len(reader._entries) == 3


LINES = [
    '{"step": 10, "episode_returns": [[1.5, 2]], "eval_returns": [[3.0]]}',
    '{"step": 10, "episode_returns": [[1.5, true]]}',
    '{"step": 10, "episode_returns": [[NaN]]}',
    '{"step": 10, "episode_returns": [[Infinity]]}',
    '{"step": -1, "episode_returns": []}',
    '{"step": 1.5, "episode_returns": []}',
    '{"step": true}',
    '{"step": 10, "episode_returns": [1, 2]}',
    '{"step": 10, "episode_returns": "x"}',
    '{"step": 10, "episode_returns": [[1.0]], "episode_steps": [[-5]]}',
    '{"step": 10, "episode_returns": [[1.0]], "episode_steps": [["a"]]}',
    '{"step": 10, "episode_returns": [[1.0]], "eval_returns": [["x"]]}',
    '{"step": 10, "episode_returns": [[1.0]], "eval_returns": null}',
    '{"step": 99999999999999999999}',
    "[1, 2]",
    "not json",
    "[" * 5000 + "]" * 5000,
    '{"step": 10, "episode_returns": ' + "[[1.0]]" * 0 + "[" + ",".join(["[1.0]"] * 1025) + "]}",
]


def test_the_tables_reader_refuses_what_the_typed_parser_refuses():
    from lerax_tui.train.records import parse_metrics_line
    from lerax_tui.train.run_summary import _light_record

    for line in LINES:
        typed = parse_metrics_line(line.encode())
        light = _light_record(line.encode())
        assert (typed is None) == (light is None), line[:80]
        if typed is not None and light is not None:
            assert light[0] == typed.step
            assert [list(r) for r in typed.episode_returns] == light[1]
