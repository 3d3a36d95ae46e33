"""Launching ``lerax-tui`` as two processes on localhost (two forced CPU devices each: one 4-device
mesh), for the ``--distributed`` tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

WAIT_S = 240  # a hang guard for the subprocesses, not a speed requirement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_env(devices: int) -> dict[str, str]:
    return dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def launch(logs: Path, command: list[str]) -> list[subprocess.Popen]:
    """Two processes running ``lerax-tui COMMAND --distributed ...``, stdout/stderr in ``logs``."""
    port, procs = free_port(), []
    logs.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        cluster = [
            "--distributed",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(i),
        ]
        with open(logs / f"{i}.out", "w") as out, open(logs / f"{i}.err", "w") as err:  # the child keeps its copies
            argv = [sys.executable, "-m", "lerax_tui", *command, *cluster]
            procs.append(subprocess.Popen(argv, env=cpu_env(2), stdout=out, stderr=err))
    return procs


def run_one(command: list[str], devices: int = 4) -> subprocess.CompletedProcess:
    """``lerax-tui COMMAND`` as one process over ``devices`` forced CPU devices."""
    argv = [sys.executable, "-m", "lerax_tui", *command]
    return subprocess.run(argv, env=cpu_env(devices), capture_output=True, text=True, timeout=WAIT_S)


def wait(procs: list[subprocess.Popen]) -> list[int]:
    try:
        return [p.wait(timeout=WAIT_S) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def log(logs: Path, i: int) -> str:
    return (logs / f"{i}.err").read_text()[-3000:]


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def episodes(run_dir: Path) -> list[list[float]]:
    """Every seed's episode returns over the whole run, in order (chunk boundaries aside)."""
    per_seed: list[list[float]] = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        returns = json.loads(line)["episode_returns"]
        per_seed = per_seed or [[] for _ in returns]
        for s, r in enumerate(returns):
            per_seed[s] += r
    return per_seed


def verified(path: Path) -> int:
    """The step of a policy checkpoint that loads and verifies."""
    from lerax_tui.core.verification import load_checkpoint

    _, report = load_checkpoint(path)
    assert report.manifest is not None
    return report.manifest.step


def wait_for_metrics(pattern_root: Path, pattern: str, procs: list[subprocess.Popen], lines: int = 2) -> Path:
    """The first run folder under ``pattern_root`` (glob ``pattern``) whose metrics.jsonl has ``lines``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "a process ended before training"
        for metrics in pattern_root.glob(pattern):
            if len(metrics.read_text().splitlines()) >= lines:
                return metrics.parent
        time.sleep(0.1)
    raise AssertionError("training did not start")
