"""Hostile files (issue 11): every reader is bounded and type-checks what it reads.

Each class of crafted file from the issue's table, read the way the app and the CLI read it: deeply
nested JSON, huge sparse files, FIFOs and folders where files belong, manifests and config.json with
fields of the wrong types, env parameters out of range, metrics lines of the wrong types or too long.
Memory is bounded by measuring Python's allocations (``tracemalloc``) while a file many times larger
than the bound is read; FIFOs are read in a thread that must finish, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from lerax_tui.core import safe_io
from lerax_tui.core.checkpoint import manifest_path, save_pytree
from lerax_tui.core.verification import load_checkpoint, verify

GB, MB = 1 << 30, 1 << 20


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def finishes(fn, timeout: float = 20.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it blocks."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as e:  # handed to the test
            result["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn} blocked for {timeout} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


def peak_alloc(fn) -> tuple[object, int]:
    """``fn()``'s result (or the exception it raised) and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    try:
        value = fn()
    except Exception as e:  # returned: the tests check both the refusal and its cost
        value = e
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return value, peak


def edited_manifest(ckpt: Path, **changes) -> Path:
    m = json.loads(manifest_path(ckpt).read_text())
    for key, value in changes.items():
        target = m
        *parents, last = key.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    manifest_path(ckpt).write_text(json.dumps(m))
    return ckpt


# --- safe_io ----------------------------------------------------------------------------------------


def test_fifos_devices_and_folders_are_refused_before_a_read(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for path, kind in ((tmp_path / "fifo", "FIFO"), ("/dev/zero", "character device"), (tmp_path / "dir", "folder")):
        with pytest.raises(safe_io.NotRegularFile, match=kind):
            finishes(lambda path=path: safe_io.read_bytes(path, 100))
    with pytest.raises(FileNotFoundError):
        safe_io.read_bytes(tmp_path / "nothing", 100)


def test_size_and_depth_caps(tmp_path):
    big = sparse(tmp_path / "big.json", 2 * safe_io.MAX_JSON_BYTES)
    with pytest.raises(safe_io.FileTooLarge, match="over the 1.0 MiB cap"):
        safe_io.load_json(big)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)  # a RecursionError in json.loads
    with pytest.raises(safe_io.JsonTooDeep):
        safe_io.load_json(deep)
    deep.write_text("[" * 65 + "]" * 65)  # parses, but deeper than the cap
    with pytest.raises(safe_io.JsonTooDeep):
        safe_io.load_json(deep)
    deep.write_text(json.dumps({"a": [[[1]]]}))
    assert safe_io.load_json(deep) == {"a": [[[1]]]}


def test_iter_lines_skips_a_line_over_the_cap_without_holding_it(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"first\n" + b"x" * (8 * MB) + b"\nlast\n" + b"torn")
    stats: dict = {}

    def read():
        with safe_io.open_regular(path) as f:
            return list(safe_io.iter_lines(f, max_line=MB, stats=stats))

    lines, peak = peak_alloc(read)
    assert lines == [b"first", b"last", b"torn"] and stats == {"long_lines": 1}
    assert peak < 4 * MB  # the 8 MB line never held whole (the bound is a few times the cap)


def test_file_view_reads_only_what_is_sliced(tmp_path, monkeypatch):
    path = sparse(tmp_path / "s.bin", GB, b"hello")
    read = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: read.append(n) or real(fd, n, off))
    with safe_io.open_regular(path) as f:
        view = safe_io.FileView(f)
        assert len(view) == GB and view[0:5] == b"hello" and view[GB - 2 : GB + 10] == b"\0\0"
    assert sum(read) == 7
    small = tmp_path / "small.bin"
    small.write_bytes(b"abc" * 1000)
    with safe_io.open_regular(small) as f:
        import hashlib

        assert safe_io.FileView(f).sha256(3) == hashlib.sha256(small.read_bytes()[3:]).hexdigest()


# --- checkpoints and manifests --------------------------------------------------------------------


def test_a_fifo_checkpoint_or_manifest_never_blocks(tmp_path, saved_checkpoint):
    fifo = tmp_path / "fifo.eqx"
    os.mkfifo(fifo)
    report = finishes(lambda: verify(fifo))
    assert report.status == "not-a-checkpoint" and "FIFO" in report.problems[0]
    manifest_path(saved_checkpoint).unlink()
    os.mkfifo(manifest_path(saved_checkpoint))
    report = finishes(lambda: verify(saved_checkpoint))
    assert report.status == "corrupt" and "FIFO" in report.problems[0]
    with pytest.raises(Exception, match="not-a-checkpoint"):
        finishes(lambda: load_checkpoint(fifo))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"env_id": ["CartPole-v1"]}, "env_id: a list"),
        ({"env_id": 7}, "env_id: an integer"),
        ({"env_params": "gravity=9.8"}, "env_params: a string"),
        ({"env_params__max_steps_in_episode": 2_000_000_000}, "out of range"),
        ({"env_params__max_steps_in_episode": 2e9}, "expected a whole number"),
        ({"env_params__gravity": "strong"}, "gravity: a string"),
        ({"env_params__gravity": [[9.8]]}, "gravity: a list"),
        ({"env_params__warp": 9}, "no parameter 'warp'"),
        ({"hyperparameters__width_size": "8"}, "width_size is a string"),
        ({"hyperparameters__depth": -1}, "depth -1 is out of range"),
        ({"hyperparameters__width_size": 10**9}, "out of range"),
        ({"hyperparameters": [8, 2]}, "hyperparameters: a list"),
        ({"payload_bytes": "19664"}, "payload_bytes: a string"),
        ({"step": "many"}, "step: a string"),
        ({"recent_return": float("nan")}, "recent_return"),
    ],
)
def test_manifest_fields_of_the_wrong_type_or_range_are_corrupt(saved_checkpoint, changes, message):
    """Before: inspect said ok and eval crashed, or never ended (max_steps_in_episode 2e9)."""
    edited_manifest(saved_checkpoint, **changes)
    report = verify(saved_checkpoint)
    assert report.status == "corrupt" and message in " ".join(report.problems), report.problems
    with pytest.raises(Exception, match="corrupt"):
        load_checkpoint(saved_checkpoint)


def test_deep_huge_and_odd_manifests_are_corrupt_with_bounded_memory(saved_checkpoint):
    mpath = manifest_path(saved_checkpoint)
    for text, message in (("[" * 100_000 + "]" * 100_000, "nested deeper"), ("[1, 2]", "not a lerax-tui manifest")):
        mpath.write_text(text)
        report = verify(saved_checkpoint)
        assert report.status == "corrupt" and message in report.problems[0]
    sparse(mpath, 200 * MB, b'{"pad": "')
    report, peak = peak_alloc(lambda: verify(saved_checkpoint))
    assert report.status == "corrupt" and "too large" in report.problems[0]
    assert peak < 5 * MB  # before: 600 MB for a 200 MB manifest
    mpath.unlink()
    mpath.symlink_to("/dev/zero")
    assert "character device" in finishes(lambda: verify(saved_checkpoint)).problems[0]


def test_sparse_and_lying_payloads_are_refused_with_bounded_memory(tmp_path, saved_checkpoint):
    """Before: a 1 GB sparse file took 1.1 GB of RSS."""
    data = saved_checkpoint.read_bytes()
    cases = {
        "zeros": sparse(tmp_path / "zeros.eqx", GB),
        "valid start": sparse(tmp_path / "start.eqx", GB, data[:200]),
    }
    tail = sparse(tmp_path / "tail.eqx", len(data) + GB, data)  # the manifest claims the tail
    manifest_path(tail).write_text(
        json.dumps({**json.loads(manifest_path(saved_checkpoint).read_text()), "payload_bytes": len(data) + GB - 32})
    )
    cases["tail"] = tail
    header = (
        b"\x93NUMPY\x01\x00"
        + (118).to_bytes(2, "little")
        + repr({"descr": "<f4", "fortran_order": False, "shape": (10**12,)}).encode().ljust(117)
        + b"\n"
    )
    (tmp_path / "huge-header.eqx").write_bytes(b"\x11" * 32 + header + b"\0" * 64)
    cases["huge header"] = tmp_path / "huge-header.eqx"
    for name, path in cases.items():
        report, peak = peak_alloc(lambda path=path: verify(path))
        assert report.status in ("corrupt", "truncated", "not-a-checkpoint"), (name, report)
        assert peak < 5 * MB, (name, peak)
        error, peak = peak_alloc(lambda path=path: load_checkpoint(path))
        assert isinstance(error, Exception) and peak < 5 * MB, (name, error, peak)


def test_headers_declaring_a_network_wider_than_the_app_builds_are_refused(tmp_path):
    """A lerax-layout file (no manifest, fingerprint forged as lerax computes it) declaring a
    10**6-wide layer over a 28 MB sparse file: refused from its headers, nothing read."""
    import equinox as eqx
    import jax

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.core.fingerprint import lerax_fingerprint

    width = 10**6
    skeleton = eqx.filter_eval_shape(
        MLPQPolicy, make_env("CartPole-v1"), width_size=width, depth=1, key=jax.random.key(0)
    )
    path = tmp_path / "wide.eqx"
    with open(path, "wb") as f:
        f.write(lerax_fingerprint(skeleton))
        for shape, dtype in (
            ((4,), "<f4"),
            ((4,), "<f4"),
            ((), "<f8"),
            ((width, 4), "<f4"),
            ((width,), "<f4"),
            ((2, width), "<f4"),
            ((2,), "<f4"),
        ):
            np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
            f.seek(int(np.prod(shape)) * np.dtype(dtype).itemsize, os.SEEK_CUR)
        f.truncate(f.tell())
    report, peak = peak_alloc(lambda: verify(path))
    assert report.status == "unknown-structure" and "width_size 1000000 is out of range" in report.problems[0]
    assert peak < 5 * MB


def test_lerax05_headers_declaring_a_huge_network_are_refused(tmp_path):
    """The same for the lerax 0.0.5 layout (no fingerprint): n and the Box shape, bounds, epsilon,
    then a 10**6-wide layer over a sparse file."""
    width = 10**6
    path = tmp_path / "wide05.eqx"
    with open(path, "wb") as f:
        for value in (np.int32(2), np.int32(4)):
            np.save(f, value)
        for value in (np.full(4, -1, np.float32), np.ones(4, np.float32), np.float32(0.1)):
            np.save(f, value)
        for shape in ((width, 4), (width,), (2, width), (2,)):
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
            f.seek(int(np.prod(shape)) * 4, os.SEEK_CUR)
        f.truncate(f.tell())
    report, peak = peak_alloc(lambda: verify(path))
    assert report.status == "unknown-structure" and "width_size 1000000 is out of range" in report.problems[0]
    assert peak < 5 * MB


def test_load_pytree_checks_sizes_before_reading(tmp_path, small_policy):
    saved = save_pytree(small_policy, tmp_path / "state", kind="test-state")
    size = saved.stat().st_size
    with open(saved, "r+b") as f:
        f.truncate(size + GB)
    from lerax_tui.core.checkpoint import load_pytree

    error, peak = peak_alloc(lambda: load_pytree(saved, small_policy, kind="test-state"))
    assert isinstance(error, ValueError) and "trailing garbage" in str(error) and peak < 5 * MB
    m = json.loads(manifest_path(saved).read_text())
    manifest_path(saved).write_text(json.dumps({**m, "payload_bytes": size + GB - 32}))  # the manifest lies too
    error, peak = peak_alloc(lambda: load_pytree(saved, small_policy, kind="test-state"))
    assert isinstance(error, ValueError) and "trailing bytes" in str(error) and peak < 5 * MB
    manifest_path(saved).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested deeper"):
        load_pytree(saved, small_policy, kind="test-state")


# --- environment parameters -------------------------------------------------------------------------


def test_env_params_are_checked_against_the_envs_own_defaults():
    from lerax_tui.core.env import EnvError, make_env

    for bad in (
        {"gravity": "x"},
        {"gravity": True},
        {"gravity": float("inf")},
        {"gravity": 1e12},
        {"max_steps_in_episode": 0},
        {"max_steps_in_episode": 2_000_000_000},
        {"max_steps_in_episode": 500.5},
        {"warp": 1},
    ):
        with pytest.raises(EnvError):
            make_env("CartPole-v1", **bad)
    with pytest.raises(EnvError, match="shape \\[3\\]"):
        make_env("Acrobot-v1", available_torque=[-1.0, 1.0])
    with pytest.raises(EnvError, match="is a string, not list"):
        make_env(["CartPole-v1"])
    assert make_env("CartPole-v1", gravity=5, max_steps_in_episode=100).params.gravity == 5.0
    assert make_env("Acrobot-v1", available_torque=[-2, 0, 2]).params.available_torque.tolist() == [-2.0, 0.0, 2.0]
    assert make_env("Asterix-MinAtar", ramping=False).params.ramping is False


def test_every_envs_own_parameters_pass_the_checks():
    """Manifests and config.json record every parameter: the defaults must never be refused."""
    from lerax_tui.core.env import catalogue, make_env
    from lerax_tui.core.env_params import check_env_params

    checked = 0
    for info in catalogue():
        if info.observation_shape is None:  # cannot be built offline
            continue
        env = make_env(info.env_id)
        check_env_params(info.env_id, env.params, env.param_dict())
        checked += 1
    assert checked >= 20


def test_policy_limits_match_the_configs_ranges():
    from dataclasses import fields

    from lerax_tui.core.schema import POLICY_LIMITS
    from lerax_tui.train.config import DQNConfig

    ranges = {f.name: (f.metadata["lo"], f.metadata["hi"]) for f in fields(DQNConfig) if f.name in POLICY_LIMITS}
    assert ranges == POLICY_LIMITS


# --- run folders: config.json and metrics.jsonl ---------------------------------------------------


WRONG_LINES = [
    '{"step": 4100, "episode_returns": [["a", "b"]]}',  # the line: crashed the app
    '{"step": "x", "episode_returns": [[1]]}',
    '{"step": 1e400, "episode_returns": [[1]]}',
    '{"step": 100000000000000000000000000000, "episode_returns": [[1]]}',
    '{"step": true, "episode_returns": [[1]]}',
    '{"episode_returns": {"a": 1}}',
    '{"step": 5, "episode_returns": [1, 2]}',
    '{"step": 5, "episode_returns": "abc"}',
    '{"step": 5, "episode_returns": [[NaN]]}',
    '{"step": 5, "eval_returns": [["a"]]}',
    '{"step": 5, "episode_returns": [[1]], "episode_steps": [[-1]]}',
    "[1, 2]",
    "null",
    "[" * 100_000 + "]" * 100_000,
]
GOOD = {"step": 100, "episode_returns": [[10.0, 12.0]], "episode_steps": [[50, 100]]}


def test_metrics_lines_of_the_wrong_types_are_skipped(tmp_path):
    from lerax_tui.train.runs import read_metrics
    from lerax_tui.tui.history import ReturnHistory

    (tmp_path / "metrics.jsonl").write_text(
        "\n".join([json.dumps(GOOD), *WRONG_LINES, json.dumps({**GOOD, "step": 200})]) + "\n"
    )
    stats: dict = {}
    records = read_metrics(tmp_path, stats=stats)
    assert [r.step for r in records] == [100, 200] and stats["bad_lines"] == len(WRONG_LINES)
    history = ReturnHistory()
    for r in records:
        history.add_record(r)
    assert history.episodes == 4 and history.max_step == 100
    # episode_steps that do not align with the returns fall back to the chunk's step
    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"step": 7, "episode_returns": [[1.0]], "episode_steps": [[1, 2]]}) + "\n"
    )
    assert read_metrics(tmp_path)[0].episode_steps == (None,)


def test_metrics_reader_and_tailer_skip_a_long_line_and_refuse_fifos(tmp_path):
    from lerax_tui.train.runs import read_metrics
    from lerax_tui.tui.runs_tail import MetricsTail

    path = tmp_path / "metrics.jsonl"
    long_line = json.dumps({"step": 150, "episode_returns": [[1.0] * (2 * MB)]})  # ~10 MB
    path.write_text(json.dumps(GOOD) + "\n" + long_line + "\n" + json.dumps({**GOOD, "step": 200}) + "\n")
    stats: dict = {}
    records, peak = peak_alloc(lambda: read_metrics(tmp_path, max_line=MB, stats=stats))  # noqa: F841
    assert [r.step for r in records] == [100, 200] and stats["long_lines"] == 1 and peak < 4 * MB
    tail = MetricsTail(path, max_line=MB)
    with open(path, "r+b") as f:  # the writer is half-way through the long line
        f.truncate(len(json.dumps(GOOD)) + 1 + 3 * MB)
    assert [r.step for r in tail.poll()] == [100]
    path.write_text(json.dumps(GOOD) + "\n" + long_line + "\n" + json.dumps({**GOOD, "step": 200}) + "\n")
    records, peak = peak_alloc(tail.poll)
    assert [r.step for r in records] == [200] and tail.long_lines == 1 and peak < 4 * MB
    with open(path, "a") as f:  # live: a wrong-typed line, then a good one
        f.write(WRONG_LINES[0] + "\n" + json.dumps({**GOOD, "step": 300}) + "\n")
    assert [r.step for r in tail.poll()] == [300] and tail.bad_lines == 1
    path.unlink()
    os.mkfifo(path)
    assert finishes(lambda: read_metrics(tmp_path)) == [] and finishes(MetricsTail(path).poll) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("[]", "holds a list"),
        ('{"env_id": "CartPole-v1"}', "config is missing"),
        ('{"env_id": "CartPole-v1", "config": [1]}', "config is a list"),
        ('{"env_id": ["CartPole-v1"], "config": {}}', "env_id is a list"),
        ('{"env_id": 3, "config": {}}', "env_id is an integer"),
        ('{"env_id": "CartPole-v1", "config": {}, "env_params_overrides": [1]}', "env_params_overrides is a list"),
        pytest.param("[" * 100_000 + "]" * 100_000, "nested deeper", id="100,000-deep"),
    ],
)
def test_config_json_of_the_wrong_shape_is_refused_by_name(tmp_path, text, message):
    from lerax_tui.train.runs import read_config

    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_config(tmp_path)


def test_run_list_survives_deep_huge_fifo_and_wrong_config_json(tmp_path):
    """Before: one deeply nested config.json kept the app from starting (RecursionError)."""
    from lerax_tui.train.runs import list_run_folders

    runs = tmp_path / "runs"
    for name, write in (
        ("CartPole-v1-20260101-000000-000001", lambda p: p.write_text("[" * 100_000 + "]" * 100_000)),
        ("CartPole-v1-20260101-000000-000002", lambda p: sparse(p, 200 * MB, b'{"env_id": "')),
        ("CartPole-v1-20260101-000000-000003", lambda p: os.mkfifo(p)),
        ("Acrobot-v1-20260101-000000-000004", lambda p: p.write_text('{"env_id": ["x"], "config": 1}')),
    ):
        (runs / name).mkdir(parents=True)
        write(runs / name / "config.json")
    folders, peak = peak_alloc(lambda: finishes(lambda: list_run_folders(runs)))
    assert sorted(f.env_id for f in folders) == ["Acrobot-v1", "CartPole-v1", "CartPole-v1", "CartPole-v1"]
    assert peak < 5 * MB


# --- eval --episodes -------------------------------------------------------------------------------


def test_evaluation_runs_in_batches_with_the_same_returns(small_policy, cartpole, monkeypatch):
    """``eval --episodes`` is capped (100,000) and run in batches: memory is that of one batch."""
    import jax

    from lerax_tui.train import evaluation

    whole = evaluation.evaluate(small_policy, cartpole, episodes=10, key=jax.random.key(3))
    monkeypatch.setattr(evaluation, "EPISODE_BATCH", 4)
    calls = []
    real = evaluation._episode_returns
    monkeypatch.setattr(
        evaluation, "_episode_returns", lambda p, e, keys, *a: calls.append(keys.shape[0]) or real(p, e, keys, *a)
    )
    batched = evaluation.evaluate(small_policy, cartpole, episodes=10, key=jax.random.key(3))
    assert calls == [4, 4, 4] and np.array_equal(whole, batched)


# --- the app --------------------------------------------------------------------------------------


async def test_the_app_starts_ticks_and_quits_on_hostile_run_folders_and_checkpoints(tmp_path, saved_checkpoint):
    """Before: a deeply nested config.json kept the app from starting; a wrong-typed metrics line
    crashed it at start and while tailing; a FIFO in the browser stayed "verifying..." and ctrl+q hung."""
    import asyncio

    from support.fake import FAKE_CATALOGUE, FakeFactory

    from lerax_tui.tui.app import make_app
    from lerax_tui.tui.checkpoint_text import row_label
    from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen
    from lerax_tui.tui.widgets.runs_list import RunsList

    runs = tmp_path / "runs"
    good = json.dumps({"env_id": "CartPole-v1", "config": {"num_seeds": 1}})
    for i, (config, metrics) in enumerate(
        (
            ("[" * 100_000 + "]" * 100_000, [json.dumps(GOOD), *WRONG_LINES]),
            ("fifo", [json.dumps(GOOD)]),
            (good, "fifo"),
            ('{"env_id": 3, "config": []}', [json.dumps(GOOD)]),
        )
    ):
        run = runs / f"CartPole-v1-20260101-00000{i}-abcdef"
        run.mkdir(parents=True)
        os.mkfifo(run / "config.json") if config == "fifo" else (run / "config.json").write_text(config)
        os.mkfifo(run / "metrics.jsonl") if metrics == "fifo" else (run / "metrics.jsonl").write_text(
            "\n".join(metrics) + "\n"
        )
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    os.mkfifo(ckpts / "fifo.eqx")
    (ckpts / "deep.eqx").write_bytes(saved_checkpoint.read_bytes())
    (ckpts / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    sparse(ckpts / "sparse.eqx", GB)

    app = make_app(
        runs_dir=runs,
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        runs_list = app.query_one(RunsList)
        assert len(runs_list.folders) == 4
        for folder in runs_list.folders:
            runs_list.tick(folder.path)
        runs_list.poll()
        await pilot.pause(0.2)
        histories = runs_list._histories
        assert sum(h.episodes for h in histories.values()) == 3 * len(GOOD["episode_returns"][0])  # the FIFO run: none
        first = runs / "CartPole-v1-20260101-000000-abcdef" / "metrics.jsonl"
        before = histories[str(first.parent)].episodes
        with open(first, "a") as f:  # live: the tailer meets a wrong-typed line, then a good one
            f.write(WRONG_LINES[0] + "\n" + json.dumps({**GOOD, "step": 300, "episode_steps": [[250, 300]]}) + "\n")
        runs_list.poll()
        assert histories[str(first.parent)].episodes == before + 2 and histories[str(first.parent)].max_step == 300
        app.checkpoints_dir = ckpts
        await pilot.press("ctrl+o")
        for _ in range(400):
            await pilot.pause(0.05)
            screen = app.screen
            if isinstance(screen, CheckpointBrowserScreen) and screen.verified:
                break
        labels = {row.name: row_label(row) for row in screen.rows.values()}
        assert labels == {"fifo": "not a checkpoint", "deep": "corrupt", "sparse": "not a checkpoint"}
        await pilot.press("ctrl+q")
        await asyncio.wait_for(pilot.pause(0.1), 5)


def test_a_hostile_keymap_file_falls_back_to_the_default_keys(tmp_path):
    from lerax_tui.tui.keymap import load_keymap

    cases = {"list.json": "[1]", "deep.json": "[" * 100_000, "deep.toml": "a = " + "[" * 100_000 + "]" * 100_000}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    os.mkfifo(tmp_path / "fifo.toml")
    for name in [*cases, "fifo.toml"]:
        keymap, problems = finishes(lambda name=name: load_keymap(tmp_path / name, {"app.quit"}))
        assert keymap == {} and "using default keys" in problems[0], (name, problems)


def test_resume_helpers_never_open_a_fifo(tmp_path):
    """--resume cuts metrics.jsonl and reads resume.json: a FIFO in either place must not block."""
    from lerax_tui.train.lifecycle import metrics_prefix_bytes, resume_state_at

    os.mkfifo(tmp_path / "metrics.jsonl")
    assert finishes(lambda: metrics_prefix_bytes(tmp_path / "metrics.jsonl", 100)) == 0
    (tmp_path / "resume.eqx").write_bytes(b"x")
    os.mkfifo(tmp_path / "resume.json")
    assert finishes(lambda: resume_state_at(tmp_path / "final.eqx", 100)) is None


def test_a_resume_state_that_is_a_fifo_or_folder_says_what_it_is(tmp_path):
    """Its size (0 or 4096) was reported as a size the manifest does not record: say what it is instead."""
    from lerax_tui.core.pairs import verified_entry

    (tmp_path / "resume.json").write_text(json.dumps({"payload_bytes": 0, "fingerprint": "00", "payload_sha256": "00"}))
    os.mkfifo(tmp_path / "resume.eqx")
    with pytest.raises(ValueError, match=r"resume.eqx is a FIFO \(named pipe\), not a file"):
        finishes(lambda: verified_entry(tmp_path / "resume.eqx"))
    os.unlink(tmp_path / "resume.eqx")
    (tmp_path / "resume.eqx").mkdir()
    with pytest.raises(ValueError, match="resume.eqx is a folder, not a file"):
        verified_entry(tmp_path / "resume.eqx")
