"""scripts/launch_local.sh starts N processes of one cluster, each on its own slice of the cores (issue 16).

``LERAX_TUI`` points the launcher at a stand-in that prints what each process was given, so no JAX runs."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "scripts" / "launch_local.sh"
CORES = sorted(os.sched_getaffinity(0))


def _launch(tmp_path: Path, *args: str) -> tuple[int, dict[int, tuple[list[int], str, str]], str]:
    stand_in, out = tmp_path / "lerax-tui", tmp_path / "out"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    # each process writes its own file: the processes run at once, and their stdout lines could interleave
    stand_in.write_text(
        '#!/bin/sh\nexec python3 -c \'import os, sys; i = os.environ["LERAX_TUI_PROCESS_ID"]; '
        'open(sys.argv[1] + "/" + i, "w").write(" ".join([i, ",".join(map(str, sorted(os.sched_getaffinity(0)))), '
        f'os.environ["LERAX_TUI_NUM_PROCESSES"], *sys.argv[2:]]))\' {out} "$@"\n'
    )
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    proc = subprocess.run(
        ["bash", str(LAUNCHER), *args], env={**os.environ, "LERAX_TUI": str(stand_in)}, capture_output=True, text=True
    )
    seen = {}
    for record in out.iterdir():
        pid, cores, n, argv = record.read_text().split(" ", 3)
        seen[int(pid)] = ([int(c) for c in cores.split(",")], n, argv)
    return proc.returncode, seen, proc.stderr


def test_each_process_gets_its_own_cores_and_the_same_command(tmp_path):
    code, seen, err = _launch(tmp_path, "-n", "2", "--", "train", "CartPole-v1", "--seeds", "4")
    assert code == 0, err
    assert sorted(seen) == [0, 1]
    mine = [set(seen[i][0]) for i in (0, 1)]
    if len(CORES) >= 2:
        assert mine[0] and mine[1] and not mine[0] & mine[1]
    else:  # one core: nothing to split
        assert mine == [set(CORES), set(CORES)]
    assert all(n == "2" and argv == "train CartPole-v1 --seeds 4 --distributed" for _, n, argv in seen.values())


def test_dash_p_shares_every_core_and_more_processes_than_cores_share_them(tmp_path):
    code, seen, err = _launch(tmp_path, "-P", "--", "train", "CartPole-v1")
    assert code == 0, err
    assert [seen[i][0] for i in (0, 1)] == [CORES, CORES]
    code, seen, err = _launch(tmp_path, "-n", str(len(CORES) + 1), "--", "train", "CartPole-v1")
    assert code == 0, err
    assert len(seen) == len(CORES) + 1 and all(cores == CORES for cores, _, _ in seen.values())


@pytest.mark.parametrize("args", [("-n", "x"), ("-n", "0"), ("-d", "-1")])
def test_bad_counts_are_one_line_and_exit_2(tmp_path, args):
    code, seen, err = _launch(tmp_path, *args, "--", "train", "CartPole-v1")
    assert code == 2 and not seen
    assert len(err.strip().splitlines()) == 1 and "whole numbers" in err
