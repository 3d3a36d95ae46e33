"""A sweep folder that another process still writes, opened in the app: its members' metrics.jsonl
grow (appended here, line by line, with damaged and torn lines among them) and sweep.json changes;
the follower and the sweep screen keep up (no JAX: the fake sweep trainer wrote the files)."""

from __future__ import annotations

from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.past_sweeps import make_sweep
from support.pilot import board_evals, until

from lerax_tui.train.events import Phase
from lerax_tui.train.runlock import RunLock
from lerax_tui.train.sweep_record import ConfigStatus, SweepRecord, read_sweep, write_sweep
from lerax_tui.tui.app import make_app
from lerax_tui.tui.screens.sweep import SweepScreen
from lerax_tui.tui.sweep_folder import load_sweep
from lerax_tui.tui.sweep_follow import FOLLOWING
from lerax_tui.tui.widgets.leaderboard import Leaderboard

MEMBERS = 3


def metrics(folder: Path, index: int) -> Path:
    return folder / f"config-00{index}" / "metrics.jsonl"


def half_written(tmp_path: Path) -> tuple[Path, list[list[bytes]], SweepRecord]:
    """A finished fake sweep cut back to how it looked mid-run: one line per member, every
    configuration running, no results. Returns the folder, every member's full lines and the final record."""
    folder = make_sweep(tmp_path / "runs")
    lines = [metrics(folder, i).read_bytes().splitlines(keepends=True) for i in range(MEMBERS)]
    assert all(len(member) >= 4 for member in lines)
    for i in range(MEMBERS):
        metrics(folder, i).write_bytes(lines[i][0])
    final = read_sweep(folder)
    running = read_sweep(folder)
    for i in range(MEMBERS):
        running.update(i, status=ConfigStatus.RUNNING, result=None)
    write_sweep(folder, running)
    return folder, lines, final


def test_the_follower_reads_what_grows_skips_damage_and_waits_for_torn_lines(tmp_path):
    folder, lines, final = half_written(tmp_path)
    lock = RunLock.acquire(folder, what="sweep")  # the sweep's own process, as `lerax-tui sweep` holds it
    try:
        follower = load_sweep(folder)
        run = follower.run
        assert run.phase == Phase.TRAINING and run.message == FOLLOWING
        assert [m.status for m in run.members] == [ConfigStatus.RUNNING] * MEMBERS
        first = [m.history.episodes for m in run.members]
        assert all(first) and all(m.final_eval is None for m in run.members)
        assert follower.read() is False and follower.apply() is False  # nothing new

        with metrics(folder, 0).open("ab") as f:
            f.write(b'{"step": "not a number"}\n')  # wrong types: skipped
            f.write(b"not json at all\n")
            f.write(lines[0][1])
            f.write(lines[0][2][:25])  # torn: waits for the rest of its line
        assert follower.read() is True and follower.apply() is True
        assert run.members[0].history.episodes > first[0]
        assert [m.history.episodes for m in run.members[1:]] == first[1:]
        step = run.members[0].step
        with metrics(folder, 0).open("ab") as f:
            f.write(lines[0][2][25:])  # the torn line completed
        follower.read()
        follower.apply()
        assert run.members[0].step > step
        assert follower.tails[0].bad_lines == 2
    finally:
        lock.release()

    for i in range(1, MEMBERS):  # the process ends: the rest of the lines and the final sweep.json
        metrics(folder, i).write_bytes(b"".join(lines[i]))
    with metrics(folder, 0).open("ab") as f:
        f.write(b"".join(lines[0][3:]))
    write_sweep(folder, final)
    version = follower.version
    assert follower.read() is True and follower.apply() is True and follower.version == version + 1
    assert run.phase == Phase.FINISHED and run.message == ""
    assert [m.status for m in run.members] == [ConfigStatus.FINISHED] * MEMBERS
    whole = load_sweep(folder).run  # what opening the finished folder gives
    for grown, read_once in zip(run.members, whole.members, strict=True):
        assert grown.history.episodes == read_once.history.episodes
        assert (grown.final_eval, grown.best_eval, grown.step) == (
            read_once.final_eval,
            read_once.best_eval,
            read_once.step,
        )


def test_a_small_budget_reads_in_steps_and_catches_up(tmp_path):
    folder, lines, _ = half_written(tmp_path)
    for i in range(MEMBERS):
        metrics(folder, i).write_bytes(b"".join(lines[i]))
    follower = load_sweep(folder)  # the opening read, already whole
    expected = [m.history.episodes for m in follower.run.members]
    for i in range(MEMBERS):
        metrics(folder, i).write_bytes(lines[i][0])
    small = load_sweep(folder)
    for i in range(MEMBERS):
        with metrics(folder, i).open("ab") as f:
            f.write(b"".join(lines[i][1:]))
    before = [m.history.episodes for m in small.run.members]
    assert small.read(budget=1) is True  # one line of one member per read
    small.apply()
    grown = [m.history.episodes > b for m, b in zip(small.run.members, before, strict=True)]
    assert sum(grown) == 1 and small.behind
    reads = 0
    while small.read(budget=1):
        small.apply()
        reads += 1
    assert reads >= sum(len(member) - 2 for member in lines)
    assert [m.history.episodes for m in small.run.members] == expected


async def test_the_sweep_screen_grows_while_another_process_writes(tmp_path):
    folder, lines, final = half_written(tmp_path)
    app = make_app(
        runs_dir=tmp_path / "runs",
        env_id="CartPole-v1",
        trainer_factory=FakeFactory(),
        catalogue=FAKE_CATALOGUE,
        keymap_path=tmp_path / "no-keymap.toml",
    )
    lock = RunLock.acquire(folder, what="sweep")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+g")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.is_mounted)
        screen = app.screen
        assert isinstance(screen, SweepScreen) and screen.follower is not None
        sweep = screen.sweep
        status = screen.query_one("#sweep-status")
        await until(pilot, lambda: "training" in str(status.render()))
        before = [m.history.episodes for m in sweep.members]
        for i in range(MEMBERS):
            with metrics(folder, i).open("ab") as f:
                f.write(b"".join(lines[i][1:3]))
        await until(pilot, lambda: all(m.history.episodes > b for m, b in zip(sweep.members, before, strict=True)))
        board = screen.query_one(Leaderboard)
        await until(pilot, lambda: all(m.eval_mean is not None for m in sweep.members))
        await until(pilot, lambda: "–" not in "".join(board_evals(board)[1].values()))
        title, shown = board_evals(board)  # still running: the latest periodic evaluation
        assert title == "greedy eval"
        assert shown == {m.index: f"{m.eval_mean:,.1f} ± {m.eval_std:,.1f}" for m in sweep.members}
        lock.release()
        for i in range(MEMBERS):
            with metrics(folder, i).open("ab") as f:
                f.write(b"".join(lines[i][3:]))
        write_sweep(folder, final)
        await until(pilot, lambda: sweep.phase == Phase.FINISHED and "finished" in str(status.render()))
        await until(pilot, lambda: board.row_count == MEMBERS)
        assert all(m.final_eval is not None for m in sweep.members)
        await until(pilot, lambda: board_evals(board)[0] == "final eval")  # ended: the final evaluation
        for m, entry in zip(sweep.members, final.configs, strict=True):
            assert entry.result is not None and entry.result.eval_return_mean is not None
            assert m.eval_mean is not None and abs(entry.result.eval_return_mean - m.eval_mean) > 1
            assert board_evals(board)[1][m.index] == f"{entry.result.eval_return_mean:,.1f} ± 0.8"
        await pilot.press("escape")
        await pilot.press("ctrl+t")  # the same sweep again: the same follower, nothing read twice
        assert isinstance(app.screen, SweepScreen) and app.screen.follower is screen.follower
        episodes = [m.history.episodes for m in sweep.members]
        await pilot.pause(1.5)
        assert [m.history.episodes for m in sweep.members] == episodes


def test_a_member_cut_by_a_resume_is_read_again_not_twice(tmp_path):
    folder, lines, _ = half_written(tmp_path)
    for i in range(MEMBERS):
        metrics(folder, i).write_bytes(b"".join(lines[i][:3]))
    follower = load_sweep(folder)
    member = follower.run.members[0]
    alone = load_sweep(folder).run.members[0]
    metrics(folder, 0).write_bytes(lines[0][0])  # a resume cut it back to its state's step
    assert follower.read() is True and follower.apply() is True
    assert member.step < alone.step
    with metrics(folder, 0).open("ab") as f:
        f.write(b"".join(lines[0][1:3]))  # ... and trains those steps again
    follower.read()
    follower.apply()
    assert (member.history.episodes, member.step, member.best_eval) == (
        alone.history.episodes,
        alone.step,
        alone.best_eval,
    )
