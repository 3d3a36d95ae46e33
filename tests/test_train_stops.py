"""Every way a real (tiny) run ends leaves it resumable (issue 11): a signal to `lerax-tui train`,
ctrl-c twice, a full disk, and "continue training" from an older checkpoint, which never writes
into its source run. These compile a small DQN: marked slow."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.configs import TINY

from lerax_tui.cli import main
from lerax_tui.core.atomic import is_temp_name
from lerax_tui.core.pairs import verified_entry
from lerax_tui.train import runs
from lerax_tui.train.config import DQNConfig
from lerax_tui.train.lifecycle import resume_point

REPO = Path(__file__).resolve().parents[1]
TINY_SET = [a for k, v in TINY.items() if k != "total_timesteps" for a in ("--set", f"{k}={v}")]


@pytest.fixture(autouse=True)
def _sigint_not_ignored():
    """A shell's background job (``cmd &``) starts with SIGINT ignored, and train rightly keeps an
    ignored signal ignored (as nohup wants): these tests send SIGINT, so they run with Python's own
    handler, which the child processes they start inherit as the default action."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _pairs_consistent(folder: Path) -> dict[str, int]:
    """Every checkpoint pair in ``folder`` reads back; returns each one's step."""
    return {p.stem: verified_entry(p)[0]["step"] for p in sorted(folder.glob("*.eqx"))}


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if is_temp_name(p.name)]


def _signal_when_training(runs_dir: Path, signum: int) -> threading.Thread:
    """Send ``signum`` to this process once a chunk has been written to a run's metrics."""

    def watch():
        for _ in range(3000):
            if any(p.stat().st_size > 0 for p in runs_dir.glob("*/metrics.jsonl")):
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_to_train_writes_final_and_resume_and_exits_128_plus_n(tmp_path, capsys, sig):
    """Default checkpoint_interval (0): the stop itself must leave a resumable run."""
    signum = getattr(signal, sig)
    runs_dir = tmp_path / "runs"
    _signal_when_training(runs_dir, signum)
    code = main(["train", "CartPole-v1", "--steps", "10000000", "--runs-dir", str(runs_dir), "--json", *TINY_SET])
    captured = capsys.readouterr()
    assert code == 128 + signum, captured.err
    assert "Traceback" not in captured.err and "KeyError" not in captured.err
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith(f"lerax-tui: stopped by {sig} at step ") and "final.eqx" in last and "resume.eqx" in last
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["stopped_early"] and summary["signal"] == sig
    run_dir = Path(summary["run_dir"])
    steps = _pairs_consistent(run_dir / "checkpoints")
    assert steps["final"] == steps["resume"] == summary["env_steps"] > 0
    assert not _temps(tmp_path) and not (run_dir / ".lock").exists()

    if sig == "SIGTERM":  # and it resumes from there
        code = main(["train", "CartPole-v1", "--resume", str(run_dir), "--steps", str(steps["resume"] + 64)])
        err = capsys.readouterr().err
        assert code == 0, err
        assert f"resuming {run_dir} from step {steps['resume']:,} to {steps['resume'] + 64:,}" in err
        assert _pairs_consistent(run_dir / "checkpoints")["final"] == steps["resume"] + 64


@pytest.mark.slow
def test_ctrl_c_twice_exits_at_once_and_the_next_start_cleans_up(tmp_path, capsys):
    """A real process, checkpointing all the time so the forced exit lands amid writes."""
    runs_dir = tmp_path / "runs"
    script = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from lerax_tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "train",
            "CartPole-v1",
            "--steps",
            "10000000",
            "--runs-dir",
            str(runs_dir),
            *TINY_SET,
            "--set",
            "checkpoint_interval=64",
            "--set",
            "buffer_size=200000",  # a resume write that takes a while: the second ctrl-c lands amid it
            "--set",
            "eval_interval=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    for line in child.stderr:
        if line.startswith("checkpoint "):
            break
    child.send_signal(signal.SIGINT)
    for line in child.stderr:  # the first one has been taken: a stop is under way
        if "SIGINT: stopping training" in line:
            break
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert time.monotonic() - t0 < 5 and "Traceback" not in err, err
    if "SIGINT again: exiting at once" in err:
        assert child.returncode == 130, err
    else:
        # The graceful stop won the race: it had finished, and the interpreter was past the point
        # where Python hands signals back to the default action (its last teardown), so the
        # second ctrl-c ended the process by SIGINT itself, which a shell also reports as 130.
        assert "lerax-tui: stopped by SIGINT at step " in err, err
        assert child.returncode in (130, -signal.SIGINT), err
    (run_dir,) = runs_dir.iterdir()
    _pairs_consistent(run_dir / "checkpoints")  # whatever was in flight, every pair reads back

    at = resume_point(run_dir).step
    assert main(["train", "CartPole-v1", "--resume", str(run_dir), "--steps", str(at + 64)]) == 0
    assert f"from step {at:,}" in capsys.readouterr().err
    assert not _temps(tmp_path) and not list((run_dir / "checkpoints").glob("*.json.tmp-*"))
    records = runs.read_metrics(run_dir)
    assert [r["step"] for r in records] == sorted({r["step"] for r in records})  # no step twice


@pytest.mark.slow
def test_a_full_disk_fails_cleanly_and_the_run_resumes(tmp_path, monkeypatch):
    from lerax_tui.core import pairs
    from lerax_tui.train.runner import Runner

    real, writes = pairs.atomic_write_bytes, []

    def filling(target, data):
        if Path(target).name == "resume.eqx":
            writes.append(target)
            if len(writes) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, data)

    monkeypatch.setattr(pairs, "atomic_write_bytes", filling)
    config = DQNConfig(**{**TINY, "checkpoint_interval": 100})
    result = Runner("CartPole-v1", {}, config, tmp_path).run()
    assert (
        result.error
        and "No space left on device" in result.error
        and "last resume state is at step 100" in result.error
    )
    resume = result.run_dir / "checkpoints" / "resume.eqx"
    entry, note = verified_entry(resume)
    assert entry["step"] == 100 and "did not complete" in note  # the manifest of step 200 landed, the state did not
    assert not _temps(tmp_path) and not (result.run_dir / ".lock").exists()

    monkeypatch.setattr(pairs, "atomic_write_bytes", real)  # space freed
    resumed = Runner.from_run_dir(result.run_dir).run()
    assert resumed.error is None and resumed.env_steps == 256 and resumed.run_dir == result.run_dir
    assert _pairs_consistent(result.run_dir / "checkpoints")["resume"] == 256


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_continue_training_from_an_older_checkpoint_never_touches_the_source(tmp_path):
    from lerax_tui.core.verification import load_checkpoint, verify
    from lerax_tui.train.lifecycle import resume_state_at
    from lerax_tui.train.runner import Runner
    from lerax_tui.tui.policy_watch import fork_trainer_factory, policy_trainer_factory

    config = DQNConfig(**{**TINY, "checkpoint_interval": 100, "eval_interval": 0})
    source = Runner("CartPole-v1", {}, config, tmp_path / "runs").run()
    ckpt = source.run_dir / "checkpoints"
    before = _tree_digest(source.run_dir)

    # An older checkpoint: its run's resume state is at 256, not 100 -> from its weights, new folder.
    older = ckpt / "step-000000100.eqx"
    assert resume_state_at(older, 100) is None
    policy, report = load_checkpoint(older)
    origin = {"path": str(older), "step": 100, "fingerprint": report.fingerprint}
    run = policy_trainer_factory(policy, origin)("CartPole-v1", {}, config, tmp_path / "runs", None).run()
    assert run.run_dir != source.run_dir and run.error is None
    saved = runs.read_config(run.run_dir)
    assert saved["origin"] == {**origin, "exact": False}

    # The final checkpoint: a resume state for that very step exists -> exact, new folder, history copied.
    final = ckpt / "final.eqx"
    assert resume_state_at(final, 256) == ckpt / "resume.eqx"
    origin = {"path": str(final), "step": 256, "fingerprint": verify(final).fingerprint}
    longer = config.replace(total_timesteps=512)
    fork = fork_trainer_factory(ckpt / "resume.eqx", origin)("CartPole-v1", {}, longer, tmp_path / "runs", None)
    assert fork.start_step == 256
    result = fork.run()
    assert result.run_dir not in (source.run_dir, run.run_dir) and result.env_steps == 512
    assert runs.read_config(result.run_dir)["origin"] == {**origin, "exact": True}
    history = [r["step"] for r in runs.read_metrics(result.run_dir)]
    assert history[: len(runs.read_metrics(source.run_dir))] == [r["step"] for r in runs.read_metrics(source.run_dir)]
    assert history[-1] == 512 and history == sorted(set(history))

    assert _tree_digest(source.run_dir) == before  # not one byte of the source run changed


@pytest.mark.parametrize("until_exit", [True, False])
def test_a_second_ctrl_c_after_a_signalled_block_exits_at_once_only_with_until_exit(until_exit):
    """train's SignalStop keeps its handlers once a signal started the stop: a second ctrl-c while the
    command prints its summary (or while JAX's atexit hooks run) exits at once with 130 and the usual
    line, never a KeyboardInterrupt traceback from a shutdown hook. Without until_exit the old handler
    (Python's default_int_handler here) is back, which is what raised that traceback."""
    code = (
        "import os, signal, sys, time\n"
        "from lerax_tui.train.stops import SignalStop\n"
        f"with SignalStop(until_exit={until_exit}) as stops:\n"
        "    os.kill(os.getpid(), signal.SIGINT); time.sleep(0.1)\n"
        "print('block done', stops.signum, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.5)\n"
        "print('still running')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "block done 2" in out.stdout
    if until_exit:
        assert out.returncode == 130 and "still running" not in out.stdout
        assert "SIGINT again: exiting at once" in out.stderr and "Traceback" not in out.stderr
    else:
        assert "KeyboardInterrupt" in out.stderr
