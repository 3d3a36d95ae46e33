"""The app's pure parts: return history and its bucketing, the live run model, the metrics tailer,
keymap files."""

from __future__ import annotations

import json

import numpy as np

from lerax_tui.core.timefmt import format_duration
from lerax_tui.render.chart_scale import nice_ticks, short_number
from lerax_tui.train.events import ChunkMetrics, Compiling, Evaluated, Failed, Finished, PhaseChanged
from lerax_tui.train.records import parse_metrics_line, parse_metrics_record
from lerax_tui.train.runs import list_run_folders
from lerax_tui.tui.history import ReturnHistory, ScalarSeries
from lerax_tui.tui.keymap import default_keymap_path, load_keymap
from lerax_tui.tui.live_run import LiveRun
from lerax_tui.tui.runs_tail import MetricsTail


def chunk(step, returns_per_seed, total=1000, train_s=1.0):
    return ChunkMetrics(
        step=step,
        total_steps=total,
        wall_s=train_s + 2,
        train_s=train_s,
        sps=100.0,
        episode_returns=[np.asarray(r, float) for r in returns_per_seed],
        episode_lengths=[np.ones(len(r), int) for r in returns_per_seed],
        episode_steps=[np.linspace(step - 10, step, len(r)).astype(int) for r in returns_per_seed],
        loss=np.full(len(returns_per_seed), 0.5),
        epsilon=0.3,
    )


def test_smoothing_is_a_trailing_mean_across_chunks():
    history = ReturnHistory(window=3)
    history.add_chunk(chunk(10, [[1, 2]]))
    history.add_chunk(chunk(20, [[3, 4, 5]]))
    assert history.episodes == 5
    assert history.last_smoothed == 4.0  # mean(3, 4, 5)
    assert history.best_smoothed == 4.0
    history.add_chunk(chunk(30, [[]]))
    assert history.last_smoothed == 4.0


def test_summary_buckets_many_episodes_into_at_most_the_requested_columns():
    history = ReturnHistory()
    steps = np.arange(1, 100_001)
    for seed in range(3):
        history.extend(seed, steps, np.sin(steps / 1000) + seed)
    summary = history.summary(240)  # its speed is bench/app_overhead.py's business, not a test's
    assert summary.x.size == 240 and summary.num_seeds == 3
    assert np.all(summary.low <= summary.mean) and np.all(summary.mean <= summary.high)
    assert np.allclose(summary.high - summary.low, 2.0, atol=0.05)  # seeds are offset by 1


def test_summary_skips_empty_buckets_and_handles_no_data():
    history = ReturnHistory()
    assert history.summary(10).x.size == 0
    history.extend(0, [5, 95], [1.0, 2.0])
    summary = history.summary(10, x_max=100)
    assert summary.x.tolist() == [5.0, 95.0]


def test_records_without_episode_steps_fall_back_to_the_chunk_step():
    history = ReturnHistory()
    history.add_record(parse_metrics_record({"step": 50, "episode_returns": [[1.0, 2.0]]}))
    assert history.max_step == 50 and history.episodes == 2


def test_scalar_series_buckets_finite_values():
    series = ScalarSeries()
    for i in range(100):
        series.append(i, None if i < 10 else float(i))
    assert series.last == 99.0
    assert len(series.bucketed(9)) == 9


def test_tail_reads_only_new_complete_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.poll() == []  # missing file
    path.write_text(json.dumps({"step": 1}) + "\n" + '{"step": 2')
    assert [r["step"] for r in tail.poll()] == [1]
    assert tail.poll() == []  # torn line waits
    with path.open("a") as f:
        f.write(', "x": 0}\nnot json\n' + json.dumps({"step": 3}) + "\n")
    assert [r["step"] for r in tail.poll()] == [2, 3]
    assert tail.bad_lines == 1
    path.write_text(json.dumps({"step": 9}) + "\n")  # rewritten, shorter
    assert [r["step"] for r in tail.poll()] == [9]


def test_run_folders_newest_first_with_env_id(tmp_path):
    old = tmp_path / "CartPole-v1-20250101-000000-aaaaaa"
    new = tmp_path / "Acrobot-v1-20250102-000000-bbbbbb"
    for folder in (old, new):
        folder.mkdir()
        (folder / "metrics.jsonl").write_text("")
    (tmp_path / "not-a-run").mkdir()
    import os

    os.utime(old / "metrics.jsonl", (1, 1))
    os.utime(old, (1, 1))
    folders = list_run_folders(tmp_path)
    assert [f.env_id for f in folders] == ["Acrobot-v1", "CartPole-v1"]
    assert list_run_folders(tmp_path / "missing") == []


def test_keymap_files_toml_json_and_problems(tmp_path, monkeypatch):
    ids = {"train.toggle", "app.quit"}
    toml = tmp_path / "k.toml"
    toml.write_text('"train.toggle" = "f9"\n"app.quit" = ["ctrl+x", "ctrl+q"]\n"bogus" = "f2"\n')
    keymap, problems = load_keymap(toml, ids)
    assert keymap == {"train.toggle": "f9", "app.quit": "ctrl+x,ctrl+q"}
    assert len(problems) == 1 and "bogus" in problems[0]
    js = tmp_path / "k.json"
    js.write_text('{"keymap": {"train.toggle": 5}}')
    assert load_keymap(js, ids) == ({}, [f'{js}: \'train.toggle\' needs a key string such as "f9" or "ctrl+x"'])
    bad = tmp_path / "bad.toml"
    bad.write_text("= nope")
    assert load_keymap(bad, ids)[0] == {} and "cannot read" in load_keymap(bad, ids)[1][0]
    assert load_keymap(tmp_path / "missing.toml", ids) == ({}, [])
    monkeypatch.setenv("LERAX_TUI_KEYMAP", str(js))
    assert default_keymap_path() == js
    monkeypatch.delenv("LERAX_TUI_KEYMAP")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_keymap_path() == tmp_path / "lerax-tui" / "keymap.toml"


def test_live_run_eta_excludes_compile_and_phases_move(tmp_path):
    run = LiveRun("CartPole-v1", 1000, phase="compiling")
    run.apply(Compiling(tmp_path))
    assert run.phase == "compiling" and run.run_dir == tmp_path
    # 250 of 1000 steps in 1 s of training (wall 3 s includes compile): 3 s left.
    run.apply(chunk(250, [[1.0]], train_s=1.0))
    assert run.phase == "training" and run.eta_s == 3.0 and (run.step, run.total) == (250, 1000)
    run.request_stop()
    run.apply(PhaseChanged("training"))
    assert run.phase == "stopping" and "final checkpoint" in run.message
    run.apply(Finished(tmp_path, None, stopped_early=True))
    assert run.phase == "stopped" and run.ended
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "–"


def test_live_run_pause_waits_for_the_trainer_both_ways():
    run = LiveRun("CartPole-v1", 1000, phase="training")
    run.request_pause(True)
    assert run.phase == "pausing"  # asked; the chunk in flight ends first
    run.apply(PhaseChanged("paused"))
    assert run.phase == "paused"
    run.request_pause(False)
    assert run.phase == "training"
    run.apply(PhaseChanged("training"))
    assert run.phase == "training"


def test_live_run_takes_a_failure_once_and_keeps_it():
    run = LiveRun("CartPole-v1", 1000, phase="training")
    run.apply(Failed("non-finite loss at step 3,000"))
    run.apply(PhaseChanged("failed"))  # the same fact again: nothing changes
    run.apply(PhaseChanged("evaluating"))  # nothing moves an ended run
    run.end()
    assert run.phase == "failed" and run.message == "non-finite loss at step 3,000"
    ended = LiveRun("CartPole-v1", 1000, phase="training")
    ended.end()  # the worker returned without an end event
    assert ended.phase == "finished"


def test_live_run_is_what_every_view_reads():
    """Returns for the chart and the status bar, loss and epsilon for the sparklines: one model."""
    run = LiveRun("CartPole-v1", 1000)
    run.apply(chunk(100, [[10.0, 20.0], [30.0]]))
    run.apply(chunk(200, [[40.0], []]))
    assert run.episodes == run.history.episodes == 4
    assert run.last_return == run.history.last_smoothed == np.mean([np.mean([10.0, 20.0, 40.0]), 30.0])
    assert run.best_return == run.history.best_smoothed == 30.0
    assert run.loss.last == 0.5 and run.epsilon.last == 0.3 and len(run.loss.bucketed(10)) == 2


def test_live_run_messages_for_periodic_final_and_best_evaluations():
    run = LiveRun("CartPole-v1", 1000, phase="training")
    periodic = Evaluated(
        [np.array([100.0, 120.0]), np.array([300.0, 300.0])], which="periodic", step=5000, best=[110.0, 310.0]
    )
    run.apply(periodic)
    assert run.phase == "training" and run.message == "eval @ 5,000: greedy 205.0 (best 210.0)"
    run.apply(Evaluated([np.array([50.0]), np.array([150.0])]))
    assert run.phase == "evaluating" and run.message == "greedy eval return 100.0"
    run.apply(Evaluated([np.array([500.0]), np.array([400.0])], which="best", best_steps=[5000, 9000]))
    assert run.message == "greedy eval return 100.0; best policies 450.0"


def test_axis_ticks_are_round():
    assert nice_ticks(0, 50_000, 5) == [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert short_number(25_000) == "25k" and short_number(1.5e6) == "1.5M" and short_number(0) == "0"


def test_overlay_labels_name_what_differs(tmp_path):
    from lerax_tui.tui.widgets.runs_list import config_differences, overlay_label

    runs = []
    for name, lr, width in (("a1b2c3", 0.001, 64), ("d4e5f6", 0.0003, 64)):
        run = tmp_path / f"CartPole-v1-20260101-120000-{name}"
        run.mkdir()
        (run / "config.json").write_text(
            json.dumps({"env_id": "CartPole-v1", "config": {"learning_rate": lr, "width_size": width, "seed": 1}})
        )
        runs.append(run)
    differences = config_differences(runs)
    assert differences[runs[1]] == "lr 0.0003"
    assert overlay_label(runs[1], differences[runs[1]]) == "120000-d4e5f6 lr 0.0003"
    assert config_differences(runs[:1]) == {}


def test_history_keeps_periodic_evaluations_from_events_and_metrics_lines():
    live = ReturnHistory()
    live.add_chunk(chunk(100, [[1.0], [2.0]]))  # no evaluation on this chunk
    evaluated = ChunkMetrics(
        **{**chunk(200, [[1.0], [2.0]]).__dict__, "eval_returns": [np.array([10.0, 20.0]), np.array([30.0])]}
    )
    live.add_chunk(evaluated)
    steps, means = live.evaluations
    assert steps.tolist() == [200] and means.tolist() == [22.5]  # mean over seeds of each seed's mean

    past = ReturnHistory()
    for line in (json.dumps(chunk(100, [[1.0]]).to_json()), json.dumps(evaluated.to_json())):
        past.add_record(parse_metrics_line(line))
    assert past.evaluations[0].tolist() == [200] and past.evaluations[1].tolist() == [22.5]
