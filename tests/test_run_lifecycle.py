"""Run lifecycle without compiling anything: checkpoint pairs under a kill at every point of a
write, the run lock, stale temporaries, metrics cut on resume, signals in a command, and the CLI
refusals around --resume (issue 11)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.pairs import payload as _payload

from lerax_tui.core.atomic import host_tag, is_temp_name
from lerax_tui.core.pairs import consistent_entry, verified_entry, write_pair
from lerax_tui.train import lifecycle, runs
from lerax_tui.train.runlock import RunLock, RunLocked

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# A child that writes pair v1, then dies (os._exit: no clean-up at all, like kill -9) at one point
# of writing pair v2: before or after the manifest's rename, before or after the payload's.
_CHILD = textwrap.dedent(
    """
    import os, sys
    from support.pairs import payload as _payload  # tests/ is on PYTHONPATH (see the test)
    from lerax_tui.core import atomic
    from lerax_tui.core.pairs import write_pair
    from pathlib import Path

    target, when, which = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    write_pair(target, *_payload(1))
    real, calls = os.replace, []

    def dying_replace(src, dst):
        calls.append(dst)
        if when == "before" and len(calls) == which:
            os._exit(9)
        real(src, dst)
        if when == "after" and len(calls) == which:
            os._exit(9)

    os.replace = dying_replace
    write_pair(target, *_payload(2))
    """
)


@pytest.mark.parametrize("when, which", [("before", 1), ("after", 1), ("before", 2), ("after", 2)])
def test_a_kill_at_any_point_of_a_pair_write_leaves_a_consistent_pair(tmp_path, when, which):
    target = tmp_path / "resume.eqx"
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(target), when, str(which)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "tests")},
    )
    assert child.returncode == 9, child.stderr
    # a temporary file is left when the kill came before a rename (nothing cleans up after kill -9)
    temps = [p for p in tmp_path.iterdir() if is_temp_name(p.name)]
    assert len(temps) == (1 if when == "before" else 0)

    entry, note = verified_entry(target)  # never raises: the pair is consistent
    on_disk = 2 if (when, which) == ("after", 2) else 1
    assert entry["step"] == on_disk * 100
    # between the manifest's rename and the payload's, the manifest's "previous" entry describes it
    assert (note is not None) == ((when, which) in (("after", 1), ("before", 2)))
    data = target.read_bytes()
    chosen, _ = consistent_entry(data, json.loads(target.with_suffix(".json").read_text()))
    assert chosen["step"] == on_disk * 100

    # The next write into the folder (another process: this one) removes the dead writer's
    # temporary and carries the pair that was on disk as its "previous".
    write_pair(target, *_payload(3))
    assert not [p for p in tmp_path.iterdir() if is_temp_name(p.name)]
    manifest = json.loads(target.with_suffix(".json").read_text())
    assert manifest["step"] == 300 and manifest["previous"]["step"] == on_disk * 100
    assert "previous" not in manifest["previous"]  # one generation only: manifests do not grow
    assert verified_entry(target) == ({k: v for k, v in manifest.items() if k != "previous"}, None)


def test_a_full_disk_mid_pair_keeps_the_policy_loadable_and_verify_says_why(
    tmp_path, small_policy, cartpole, monkeypatch
):
    from lerax_tui.core import pairs
    from lerax_tui.core.checkpoint import save_checkpoint
    from lerax_tui.core.verification import load_checkpoint, verify

    path = save_checkpoint(small_policy, tmp_path / "final", env=cartpole, step=100)
    real = pairs.atomic_write_bytes

    def full_disk(target, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(pairs, "atomic_write_bytes", full_disk)  # the manifest lands, the .eqx does not
    import jax

    from lerax_tui.core import MLPQPolicy

    newer = MLPQPolicy(cartpole, width_size=8, depth=2, key=jax.random.key(1))
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(newer, tmp_path / "final", env=cartpole, step=200)
    monkeypatch.setattr(pairs, "atomic_write_bytes", real)
    assert json.loads(path.with_suffix(".json").read_text())["step"] == 200  # the manifest is the new one
    report = verify(path)
    assert report.ok and report.manifest["step"] == 100
    assert any("did not complete" in p and "step 200" in p for p in report.problems)
    _, loaded = load_checkpoint(path)
    assert loaded.manifest["step"] == 100
    assert not [p for p in tmp_path.iterdir() if is_temp_name(p.name)]  # a failed write removes its temporary


def test_a_pair_neither_entry_describes_is_refused(tmp_path):
    target = tmp_path / "resume.eqx"
    write_pair(target, *_payload(1))
    write_pair(target, *_payload(2))
    target.write_bytes(target.read_bytes()[:-10])  # damaged after the fact
    with pytest.raises(ValueError, match="match neither"):
        verified_entry(target)
    with pytest.raises(lifecycle.ResumeStateError, match="cannot continue"):
        lifecycle.fork_point(target)


def test_stale_temporaries_of_dead_writers_go_live_ones_stay(tmp_path):
    from lerax_tui.core.atomic import atomic_write_bytes, clean_stale_temps

    dead = tmp_path / f".final.json.tmp-{host_tag()}-{_dead_pid()}-0123abcd"
    old_style = tmp_path / f".resume.json.tmp-{_dead_pid()}-89abcdef"  # written before host tags
    live = tmp_path / f".best.json.tmp-{host_tag()}-{os.getppid()}-0123abcd"
    other_host = tmp_path / ".best.eqx.tmp-ffffff-1-0123abcd"
    for p in (dead, old_style, live, other_host):
        p.write_bytes(b"partial")
    atomic_write_bytes(tmp_path / "x.json", b"{}")  # the first write into the folder cleans it
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other_host.name, "x.json"])
    assert set(clean_stale_temps(tmp_path, owned=True)) == {live, other_host}  # holding the run lock: all go
    assert not [p for p in tmp_path.iterdir() if is_temp_name(p.name)]


def test_the_run_lock_refuses_a_second_writer_and_a_kill_frees_it(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from lerax_tui.train.runlock import RunLock; "
            "lock = RunLock.acquire(sys.argv[1], what='train --resume'); print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked) as err:
            RunLock.acquire(tmp_path)
        assert f"pid {holder.pid}" in str(err.value) and "train --resume" in str(err.value)
    finally:
        holder.kill()  # SIGKILL: no clean-up; the kernel drops the lock
        holder.wait()
    assert (tmp_path / ".lock").exists()  # a stale file does not block anyone
    with RunLock.acquire(tmp_path) as lock:
        assert lock.held and json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
        with pytest.raises(RunLocked):  # flock is per open file: this process cannot take it twice either
            RunLock.acquire(tmp_path)
    assert not (tmp_path / ".lock").exists()


def test_a_new_run_folder_appears_complete_and_half_built_ones_are_cleaned(tmp_path):
    stale = tmp_path / f".CartPole-v1-20260101-000000-abcdef.tmp-{host_tag()}-{_dead_pid()}-0123abcd"
    (stale / "checkpoints").mkdir(parents=True)
    (stale / "config.json").write_text("{}")
    keep = tmp_path / f".Other.tmp-{host_tag()}-{_dead_pid()}-0123abcd"  # has something we never put there
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    assert runs.list_run_folders(tmp_path) == []  # the app never lists a half-built folder
    run_dir, lock = lifecycle.create_run_dir(tmp_path, "CartPole-v1", {"env_id": "CartPole-v1"})
    try:
        assert json.loads((run_dir / "config.json").read_text()) == {"env_id": "CartPole-v1"}
        assert (run_dir / "checkpoints").is_dir() and (run_dir / ".lock").exists()
        with pytest.raises(RunLocked):
            RunLock.acquire(run_dir)  # the lock followed the rename
    finally:
        lock.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([run_dir.name, keep.name])


def test_metrics_are_cut_after_the_resume_step(tmp_path):
    lines = [json.dumps({"step": s, "episode_returns": [[1.0]]}) for s in (100, 200, 300)]
    text = lines[0] + "\n" + "not json\n" + lines[1] + "\n" + lines[2] + "\n" + '{"step": 40'
    (tmp_path / "metrics.jsonl").write_text(text)
    assert lifecycle.truncate_metrics(tmp_path, 200) > 0
    assert (tmp_path / "metrics.jsonl").read_text() == lines[0] + "\nnot json\n" + lines[1] + "\n"
    assert lifecycle.truncate_metrics(tmp_path, 200) == 0
    assert lifecycle.truncate_metrics(tmp_path, 50) > 0 and (tmp_path / "metrics.jsonl").read_text() == ""
    # a torn last line (a kill mid-append) is cut, so the next record starts on a line of its own
    (tmp_path / "metrics.jsonl").write_text(lines[0] + "\n" + '{"step": 2')
    lifecycle.truncate_metrics(tmp_path, 10_000)
    assert (tmp_path / "metrics.jsonl").read_text() == lines[0] + "\n"


def test_owned_clean_up_removes_temporaries_and_manifest_only_pairs(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    write_pair(ckpt / "step-000000100.eqx", *_payload(1))
    _, entry = _payload(2)
    (ckpt / "step-000000200.json").write_text(json.dumps(entry))  # a kill between the two files
    (ckpt / "notes.json").write_text('{"mine": true}')  # not a manifest of ours: kept
    (ckpt / f".resume.eqx.tmp-{host_tag()}-{os.getpid() + 1}-0123abcd").write_bytes(b"x")
    (tmp_path / f".config.json.tmp-{host_tag()}-{os.getpid() + 1}-0123abcd").write_bytes(b"x")
    removed = lifecycle.clean_owned(tmp_path)
    assert len(removed) == 3
    assert sorted(p.name for p in ckpt.iterdir()) == ["notes.json", "step-000000100.eqx", "step-000000100.json"]
    assert not [p for p in tmp_path.iterdir() if is_temp_name(p.name)]


def test_resume_state_at_needs_the_same_step(tmp_path):
    ckpt = tmp_path / "checkpoints"
    write_pair(ckpt / "resume.eqx", *_payload(2))  # step 200
    assert lifecycle.resume_state_at(ckpt / "step-000000200.eqx", 200) == ckpt / "resume.eqx"
    assert lifecycle.resume_state_at(ckpt / "step-000000100.eqx", 100) is None
    assert lifecycle.resume_state_at(ckpt / "final.eqx", None) is None
    with pytest.raises(lifecycle.ResumeStateError, match="at step 200, not 100"):
        lifecycle.fork_point(ckpt / "resume.eqx", 100)


# --- signals ---------------------------------------------------------------------------------------

_SIGNALLED = textwrap.dedent(
    """
    import signal, sys, threading, time
    from lerax_tui.train.stops import SignalStop, run_in_thread

    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started in the background

    stop = threading.Event()

    def work():
        print("working", flush=True)
        while not stop.is_set():
            time.sleep(0.01)
        if sys.argv[1] == "stuck":
            time.sleep(600)  # a stop that takes long: only a forced exit ends it
        return "stopped cleanly"

    with SignalStop(lambda signum: stop.set(), force_note=lambda: "files are complete") as stops:
        print(run_in_thread(work), flush=True)
    sys.exit(stops.exit_code)
    """
)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_work_and_sets_the_exit_code(sig):
    child = subprocess.Popen(
        [sys.executable, "-c", _SIGNALLED, "clean"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    assert child.stdout.readline().strip() == "working"
    child.send_signal(getattr(signal, sig))
    out, err = child.communicate(timeout=20)
    assert child.returncode == 128 + getattr(signal, sig)
    assert out.strip() == "stopped cleanly" and f"{sig}: stopping" in err and "Traceback" not in err


def test_a_second_ctrl_c_exits_at_once():
    child = subprocess.Popen(
        [sys.executable, "-c", _SIGNALLED, "stuck"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    assert child.stdout.readline().strip() == "working"
    child.send_signal(signal.SIGINT)
    time.sleep(0.3)
    child.send_signal(signal.SIGTERM)  # another signal does not force: only ctrl-c twice does
    time.sleep(0.3)
    assert child.poll() is None
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 130 and time.monotonic() - t0 < 5
    assert "exiting at once. files are complete" in err and "already stopping" in err and "Traceback" not in err


def test_an_ignored_signal_stays_ignored():
    """nohup ignores SIGHUP: the command must not take it back."""
    code = "import signal, os, time; from lerax_tui.train.stops import SignalStop\nwith SignalStop() as stops:\n    os.kill(os.getpid(), signal.SIGHUP); time.sleep(0.2)\nprint('alive', stops.signum)"
    out = subprocess.run(["nohup", sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "alive None"


# --- CLI around --resume (nothing compiles: the runner refuses before training) ---------------------


def _run_folder(tmp_path: Path, resume_step: int | None) -> Path:
    from lerax_tui.core import make_env
    from lerax_tui.train.config import preset

    env, config = make_env("CartPole-v1"), preset("CartPole-v1").replace(total_timesteps=5000)
    run_dir, lock = lifecycle.create_run_dir(
        tmp_path, "CartPole-v1", lifecycle.config_record(env, {}, config, None, exact=False)
    )
    lock.release()
    if resume_step is not None:
        data, entry = _payload(1)
        write_pair(run_dir / "checkpoints" / "resume.eqx", data, {**entry, "step": resume_step})
    return run_dir


def test_resume_refuses_steps_below_the_resume_point(tmp_path, capsys):
    from lerax_tui.cli import main

    run_dir = _run_folder(tmp_path, 3000)
    before = (run_dir / "config.json").read_text()
    assert main(["train", "CartPole-v1", "--resume", str(run_dir), "--steps", "1000"]) == 2
    err = capsys.readouterr().err
    assert "--steps: 1,000 is below the step the run continues from (3,000)" in err and err.count("\n") == 1
    assert (run_dir / "config.json").read_text() == before and not (run_dir / ".lock").exists()


def test_resume_of_a_locked_run_is_one_line_exit_2(tmp_path, capsys):
    from lerax_tui.cli import main

    run_dir = _run_folder(tmp_path, None)
    before = (run_dir / "config.json").read_text()
    with RunLock.acquire(run_dir, what="the app"):
        assert main(["train", "CartPole-v1", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "is being written by another process" in err and f"pid {os.getpid()}" in err and err.count("\n") == 1
    assert (run_dir / "config.json").read_text() == before


def test_resume_of_a_damaged_resume_state_is_exit_1(tmp_path, capsys):
    from lerax_tui.cli import main

    run_dir = _run_folder(tmp_path, 3000)
    resume = run_dir / "checkpoints" / "resume.eqx"
    resume.write_bytes(resume.read_bytes()[:-1])
    assert main(["train", "CartPole-v1", "--resume", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "match neither its manifest" in err and err.count("\n") == 1


def test_steps_does_not_hide_an_invalid_total_timesteps(tmp_path, capsys):
    from lerax_tui.cli import main

    assert (
        main(
            ["train", "CartPole-v1", "--set", "total_timesteps=0", "--steps", "2000", "--runs-dir", str(tmp_path / "r")]
        )
        == 2
    )
    assert "total_timesteps: 0 is out of range" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "CartPole-v1",
                "--set",
                "total_timesteps=3000",
                "--steps",
                "2000",
                "--runs-dir",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "--steps: 2000 contradicts --set total_timesteps=3000" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
