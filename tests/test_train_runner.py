"""The host-side runner: run folder, events, exact resume, NaN stop, multi-seed files, past runs."""

from __future__ import annotations

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from support.configs import TINY

from lerax_tui.train import dqn, runs
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import CheckpointWritten, ChunkMetrics, Evaluated, Failed, Finished, PhaseChanged
from lerax_tui.train.outcome import RunStatus, read_result
from lerax_tui.train.run_summary import RunSummaries


def _params(path: Path):
    from lerax_tui.core.verification import load_checkpoint

    policy, report = load_checkpoint(path)
    assert report.ok
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(policy.q_network, eqx.is_array))]


@pytest.mark.slow
def test_exact_resume_continues_the_same_run(tmp_path):
    from lerax_tui.train.runner import Runner

    config = DQNConfig(**TINY)
    straight = Runner("CartPole-v1", {}, config, tmp_path / "a").run()

    events = []

    def stop_after_first_chunk(event):
        events.append(event)
        if isinstance(event, ChunkMetrics):
            runner.stop()

    runner = Runner("CartPole-v1", {}, config, tmp_path / "b", stop_after_first_chunk)
    first = runner.run()
    assert first.stopped_early and 0 < first.env_steps < config.total_timesteps
    assert any(isinstance(e, Finished) and e.stopped_early for e in events)
    stopped = read_result(first.run_dir)
    assert stopped is not None and stopped.status == RunStatus.STOPPED and stopped.step == first.env_steps
    assert stopped.final is None  # a stop skips the final evaluation
    resumed_chunks: list[ChunkMetrics] = []
    resumed = Runner.from_run_dir(
        first.run_dir, listener=lambda e: resumed_chunks.append(e) if isinstance(e, ChunkMetrics) else None
    ).run()
    ended = read_result(first.run_dir)  # the resume dropped the stop's result; its own end replaced it
    assert ended is not None and ended.status == RunStatus.FINISHED and ended.step == 256
    assert ended.final == pytest.approx((float(np.mean(resumed.eval_returns[0])),))
    assert resumed.run_dir == first.run_dir and resumed.env_steps == straight.env_steps == 256
    # the ETA's clock restarts with the step count: both count from the resume step
    assert {c.start_step for c in resumed_chunks} == {first.env_steps}
    assert resumed_chunks[0].active_s is not None and resumed_chunks[0].active_s < resumed_chunks[-1].wall_s

    for a, b in zip(
        _params(straight.run_dir / "checkpoints/final.eqx"), _params(first.run_dir / "checkpoints/final.eqx")
    ):
        np.testing.assert_array_equal(a, b)

    # the learning curve carries on: the same episodes, in the same order
    def curve(d):
        return [x for r in runs.read_metrics(d) for x in r["episode_returns"][0]]

    assert curve(straight.run_dir) == curve(first.run_dir)
    np.testing.assert_array_equal(straight.eval_returns[0], resumed.eval_returns[0])


@pytest.mark.slow
def test_run_folder_events_and_multi_seed_files(tmp_path):
    from lerax_tui.train.runner import Runner

    events = []
    config = DQNConfig(**{**TINY, "num_seeds": 2, "checkpoint_interval": 100})
    result = Runner("CartPole-v1", {}, config, tmp_path, events.append).run()
    run_dir = result.run_dir
    assert run_dir.parent == tmp_path and run_dir.name.startswith("CartPole-v1-")
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["env_id"] == "CartPole-v1" and saved["seeds"] == [0, 1] and saved["config"]["num_seeds"] == 2
    assert "jax" in saved["versions"]
    names = sorted(p.name for p in (run_dir / "checkpoints").glob("*.eqx"))
    assert names == [
        "resume.eqx",
        "seed-0-final.eqx",
        "seed-0-step-000000100.eqx",
        "seed-0-step-000000200.eqx",
        "seed-1-final.eqx",
        "seed-1-step-000000100.eqx",
        "seed-1-step-000000200.eqx",
    ]
    manifest = json.loads((run_dir / "checkpoints/seed-1-final.json").read_text())
    assert manifest["step"] == 256 and manifest["seed"] == 1 and manifest["env_id"] == "CartPole-v1"
    records = runs.read_metrics(run_dir)
    assert records[-1]["step"] == 256 and all(len(r["episode_returns"]) == 2 for r in records)
    chunks = [e for e in events if isinstance(e, ChunkMetrics)]
    assert len(chunks) == len(records) and chunks[-1].step == 256
    # the ETA's clock: compile left out, evaluation and checkpoint writes in (so at least the chunks' time)
    assert all(c.start_step == 0 and c.compile_s == result.compile_s for c in chunks)
    assert all(c.train_s <= (c.active_s or 0) < c.wall_s for c in chunks)
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases[0] == "compiling" and phases[-1] == "finished" and "evaluating" in phases
    evaluated = [e for e in events if isinstance(e, Evaluated)]
    assert len(evaluated) == 1 and [len(r) for r in evaluated[0].returns] == [2, 2]
    assert sum(isinstance(e, CheckpointWritten) for e in events) == 6
    assert result.compile_s > 0 and result.train_s > 0
    (summary,) = RunSummaries().summaries([run_dir])
    assert summary.status == RunStatus.FINISHED and summary.step == 256 and summary.num_seeds == 2
    assert [s.final for s in summary.seeds] == pytest.approx([float(np.mean(r)) for r in result.eval_returns])


@pytest.mark.slow
def test_non_finite_parameters_stop_with_a_clear_message(tmp_path, monkeypatch):
    from lerax_tui.train import runner as runner_module

    real = dqn.make_chunk_fn

    class Poisoning:
        def __init__(self, *args):
            self.inner = real(*args)

        def compile(self, state):
            self.inner.compile(state)

        def __call__(self, state, n):
            if int(state.step) >= 100:  # after the first periodic checkpoint
                w = state.seeds.online.q_network.layers[0].weight
                state = eqx.tree_at(
                    lambda s: s.seeds.online.q_network.layers[0].weight, state, jnp.full_like(w, jnp.nan)
                )
            return self.inner(state, n)

    monkeypatch.setattr(dqn, "make_chunk_fn", Poisoning)
    events = []
    config = DQNConfig(**{**TINY, "checkpoint_interval": 100})
    result = runner_module.Runner("CartPole-v1", {}, config, tmp_path, events.append).run()
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 1 and "non-finite" in failed[0].message and "learning_rate" in failed[0].message
    assert failed[0].checkpoint is not None and failed[0].checkpoint.name == "step-000000100.eqx"
    assert result.error == failed[0].message
    assert not (result.run_dir / "checkpoints/final.eqx").exists()
    failure = read_result(result.run_dir)
    assert failure is not None and failure.status == RunStatus.FAILED and "non-finite" in (failure.error or "")
    _params(failed[0].checkpoint)  # the last good one still loads


def test_read_metrics_ignores_a_torn_last_line(tmp_path):
    runs.append_metrics(tmp_path, {"step": 1, "episode_returns": [[1.0]]})
    runs.append_metrics(tmp_path, {"step": 2, "episode_returns": [[2.0]]})
    with open(tmp_path / runs.METRICS_FILE, "a") as f:
        f.write('{"step": 3, "episode_ret')
    assert [r["step"] for r in runs.read_metrics(tmp_path)] == [1, 2]
    assert runs.read_metrics(tmp_path / "nope") == []


def test_evaluate_is_greedy_and_bounded():
    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.train import evaluate

    env = make_env("CartPole-v1", max_steps_in_episode=20)
    policy = MLPQPolicy(env, epsilon=1.0, width_size=8, depth=1, key=jax.random.key(0))
    a = evaluate(policy, env, episodes=3, key=jax.random.key(1))
    b = evaluate(policy, env, episodes=3, key=jax.random.key(1))
    assert a.shape == (3,) and (a <= 20).all() and (a >= 1).all()
    np.testing.assert_array_equal(a, b)


def test_evaluate_with_the_policys_epsilon_gives_the_random_baseline():
    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.train import evaluate

    env = make_env("CartPole-v1")
    policy = MLPQPolicy(env, epsilon=1.0, width_size=8, depth=1, key=jax.random.key(0))
    greedy = evaluate(policy, env, episodes=64, key=jax.random.key(1))
    random = evaluate(policy, env, episodes=64, key=jax.random.key(1), greedy=False)
    assert not np.array_equal(greedy, random)
    assert 12 <= random.mean() <= 40  # uniform-random CartPole episodes last ~22 steps


def test_public_evaluate_is_the_function_after_every_submodule_import():
    """No submodule of lerax_tui.train may be named like a public name: importing it would replace
    the function on the package (``from lerax_tui.train import evaluate`` giving a module)."""
    import importlib
    import pkgutil

    import lerax_tui.train as train_pkg

    for info in pkgutil.iter_modules(train_pkg.__path__):
        importlib.import_module(f"lerax_tui.train.{info.name}")
    from lerax_tui.train import evaluate
    from lerax_tui.train.evaluation import evaluate as function

    assert callable(evaluate) and evaluate is function


@pytest.mark.slow
def test_pause_resume_and_requested_checkpoint_between_chunks(tmp_path):
    import threading

    from lerax_tui.train.runner import Runner

    events = []
    paused = threading.Event()

    def listener(event):
        events.append(event)
        if isinstance(event, ChunkMetrics) and len([e for e in events if isinstance(e, ChunkMetrics)]) == 1:
            runner.pause()
            runner.request_checkpoint()
        if isinstance(event, PhaseChanged) and event.phase == "paused":
            paused.set()

    runner = Runner("CartPole-v1", {}, DQNConfig(**TINY), tmp_path, listener)
    thread = threading.Thread(target=runner.run)
    thread.start()
    assert paused.wait(120)
    n_chunks = sum(isinstance(e, ChunkMetrics) for e in events)
    assert n_chunks == 1  # nothing advances while paused
    runner.resume()
    thread.join(120)
    assert not thread.is_alive()
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases[:4] == ["compiling", "training", "paused", "training"] and phases[-1] == "finished"
    written = [e.path.name for e in events if isinstance(e, CheckpointWritten)]
    assert written[0].startswith("step-") and written[-1] == "final.eqx"


@pytest.mark.slow
def test_init_policy_starts_every_seed_from_its_weights(tmp_path):
    """With no update before the end (learning_starts past the run), the saved networks are exactly
    the initial policy's: the weights went in, for every seed."""
    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.train.runner import Runner

    env = make_env("CartPole-v1")
    config = DQNConfig(**{**TINY, "num_seeds": 2, "learning_starts": 10_000, "eval_episodes": 0})
    start = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(42))
    result = Runner("CartPole-v1", {}, config, tmp_path, init_policy=start).run()
    want = [np.asarray(x) for x in jax.tree.leaves(eqx.filter(start.q_network, eqx.is_array))]
    for seed in (0, 1):
        for a, b in zip(_params(result.run_dir / f"checkpoints/seed-{seed}-final.eqx"), want):
            np.testing.assert_array_equal(a, b)


def test_init_policy_that_does_not_fit_is_refused_before_writing(tmp_path):
    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.train.runner import Runner

    wide = MLPQPolicy(make_env("CartPole-v1"), width_size=16, depth=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="width_size=16"):
        Runner("CartPole-v1", {}, DQNConfig(**TINY), tmp_path / "runs", init_policy=wide)
    assert not (tmp_path / "runs").exists()


def _scripted_evaluate(monkeypatch, means):
    """Replace greedy evaluation with returns scripted per call (in call order), counting the calls."""
    import lerax_tui.train.evaluation as evaluation

    calls = []

    def fake(policy, env, *, episodes, key, greedy=True):
        calls.append(policy)
        return np.full(episodes, means[len(calls) - 1], np.float32)

    monkeypatch.setattr(evaluation, "evaluate", fake)
    return calls


@pytest.mark.slow
def test_periodic_evaluation_keeps_each_seeds_best_policy(tmp_path, monkeypatch):
    from lerax_tui.train.runner import Runner

    # 300 steps, evaluated at 100, 200, 300 (two seeds each), then the final policies, then the best ones
    calls = _scripted_evaluate(monkeypatch, [5, 3, 9, 8, 7, 8, 7, 8, 9, 8])
    config = DQNConfig(
        **{**TINY, "num_seeds": 2, "total_timesteps": 300, "eval_interval": 100, "checkpoint_interval": 100}
    )
    events = []
    result = Runner("CartPole-v1", {}, config, tmp_path, events.append).run()
    assert len(calls) == 10

    periodic = [e for e in events if isinstance(e, Evaluated) and e.which == "periodic"]
    assert [e.step for e in periodic] == [100, 200, 300]
    assert [e.best for e in periodic] == [[5, 3], [9, 8], [9, 8]]
    # seed 0's best is its step-200 policy; seed 1 ties 8 at 200 and 300, and the later policy wins
    assert result.best_steps == [200, 300]
    folder = result.run_dir / "checkpoints"
    assert result.best_checkpoints == [folder / "seed-0-best.eqx", folder / "seed-1-best.eqx"]
    manifest = json.loads((folder / "seed-0-best.json").read_text())
    assert manifest["step"] == 200 and manifest["eval_return"] == 9 and manifest["eval_returns"] == [9, 9]
    # the file holds the policy of that step, byte for byte the same as the periodic checkpoint
    assert (folder / "seed-0-best.eqx").read_bytes()[32:] == (folder / "seed-0-step-000000200.eqx").read_bytes()[32:]
    assert (folder / "seed-1-best.eqx").read_bytes()[32:] == (folder / "seed-1-final.eqx").read_bytes()[32:]
    # the best policies were re-evaluated after the final ones
    final = next(e for e in events if isinstance(e, Evaluated) and e.which == "final")
    best = next(e for e in events if isinstance(e, Evaluated) and e.which == "best")
    assert [float(r[0]) for r in final.returns] == [7, 8] and [float(r[0]) for r in best.returns] == [9, 8]
    assert best.best_steps == [200, 300] and [float(r[0]) for r in result.best_eval_returns] == [9, 8]
    # metrics.jsonl carries each evaluation on the chunk record where it ran
    evals = {r["step"]: r["eval_returns"] for r in runs.read_metrics(result.run_dir) if "eval_returns" in r}
    assert evals == {100: [[5, 5], [3, 3]], 200: [[9, 9], [8, 8]], 300: [[7, 7], [8, 8]]}


@pytest.mark.slow
def test_resume_keeps_the_best_policy_found_before(tmp_path, monkeypatch):
    from lerax_tui.train.runner import Runner

    config = DQNConfig(**{**TINY, "total_timesteps": 200, "eval_interval": 100})
    _scripted_evaluate(monkeypatch, [4, 6, 6, 6])  # 100, 200, final, best
    first = Runner("CartPole-v1", {}, config, tmp_path).run()
    assert first.best_steps == [200]
    best_bytes = (first.run_dir / "checkpoints/best.eqx").read_bytes()

    _scripted_evaluate(monkeypatch, [5, 2, 2, 6])  # 300, 400 (both below 6), final, best
    resumed = Runner.from_run_dir(first.run_dir, total_timesteps=400).run()
    assert resumed.best_steps == [200] and [float(r[0]) for r in resumed.best_eval_returns] == [6]
    assert (first.run_dir / "checkpoints/best.eqx").read_bytes() == best_bytes


@pytest.mark.slow
def test_no_evaluation_episodes_means_no_periodic_evaluation_either(tmp_path, monkeypatch):
    from lerax_tui.train.runner import Runner

    calls = _scripted_evaluate(monkeypatch, [])
    events = []
    result = Runner(
        "CartPole-v1", {}, DQNConfig(**{**TINY, "eval_interval": 64, "eval_episodes": 0}), tmp_path, events.append
    ).run()
    assert calls == [] and not any(isinstance(e, Evaluated) for e in events)
    assert result.best_checkpoints == [] and not list((result.run_dir / "checkpoints").glob("best*"))
