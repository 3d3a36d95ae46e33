"""Following a sweep folder that another process (``lerax-tui sweep ...``) is still writing: each
member's ``metrics.jsonl`` tailed from where the last read stopped (:class:`MetricsTail`), and
``sweep.json`` read again when it changed, so the sweep screen's curves and leaderboard grow live,
as the Runs tab's ticked runs do.

The files are read off the UI thread (:meth:`SweepFollower.read`, from a thread worker) and what was
read waits in a queue until the UI thread takes it into the model (:meth:`SweepFollower.apply`):
the views never see a half-updated model, and an update read for a screen that closed meanwhile is
not lost (the next screen over the same sweep takes it). At most about ``BUDGET`` bytes are read
per call, so memory stays bounded however far behind the view is; damaged and torn lines are skipped
as the tailer skips them. No Textual here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import Phase
from lerax_tui.train.outcome import lock_held
from lerax_tui.train.records import MetricsRecord
from lerax_tui.train.runs import METRICS_FILE
from lerax_tui.train.sweep_record import SWEEP_FILE, SweepRecord, read_sweep
from lerax_tui.tui.runs_tail import MetricsTail
from lerax_tui.tui.sweep_run import SweepRun

BUDGET = 4 << 20
"""Bytes of ``metrics.jsonl`` read per call at most (over all members; a line is never split)."""
MAX_QUEUED = 8
"""Updates read but not yet applied, at most (a reader that is that far ahead waits for the view)."""

FOLLOWING = "another process runs this sweep: its files are followed as they grow"

Stamp = tuple[int, int, int]


@dataclass
class FollowUpdate:
    """What one read found: new records per member (by index), ``sweep.json`` when it changed, and
    whether the sweep's process holds its folder."""

    records: dict[int, list[MetricsRecord]] = field(default_factory=dict)
    restarted: set[int] = field(default_factory=set)  # members whose file shrank: read again from its start
    record: SweepRecord | None = None
    running: bool = False
    running_changed: bool = False

    @property
    def empty(self) -> bool:
        return not self.records and not self.restarted and self.record is None and not self.running_changed


def stamp_of(path: Path) -> Stamp | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class SweepFollower:
    """A sweep read from its folder and kept current.

    Args:
        run: The model (already filled from ``sweep.json``).
        base: The configuration every configuration overrides.
        folder: The sweep folder.
        stamp: ``sweep.json``'s (mtime, size, inode) when ``run`` was read from it.

    Attributes:
        version: Bumped by each :meth:`apply` that changed the model (the screen redraws on it).
    """

    def __init__(self, run: SweepRun, base: DQNConfig, folder: Path, stamp: Stamp | None = None) -> None:
        self.run, self.base, self.folder = run, base, Path(folder)
        self.tails = [MetricsTail(m.run_dir / METRICS_FILE) if m.run_dir is not None else None for m in run.members]
        self.version = 0
        self.running = False
        self._stamp = stamp
        self._next = 0  # the member the next read starts with (round robin under the budget)
        self._queue: list[FollowUpdate] = []
        self._read_lock = threading.Lock()
        self._queue_lock = threading.Lock()

    @property
    def behind(self) -> bool:
        """Whether some member's file holds more than was read."""
        return any(t is not None and t.behind for t in self.tails)

    def read(self, budget: int = BUDGET) -> bool:
        """Read what is new (any thread; one read at a time) and queue it for :meth:`apply`.
        False when nothing was queued (nothing new, or the queue is full)."""
        with self._read_lock:
            with self._queue_lock:
                if len(self._queue) >= MAX_QUEUED:
                    return False
            update = self._read(budget)
            if update.empty:
                return False
            with self._queue_lock:
                self._queue.append(update)
            return True

    def _read(self, budget: int) -> FollowUpdate:
        update = FollowUpdate()
        running = lock_held(self.folder)
        update.running, update.running_changed = running, running != self.running
        self.running = running
        stamp = stamp_of(self.folder / SWEEP_FILE)
        if stamp != self._stamp:
            try:
                update.record = read_sweep(self.folder)
                self._stamp = stamp
            except (OSError, ValueError):  # mid-replace or damaged: the last good one stays; try again
                pass
        n, spent = len(self.tails), 0
        for k in range(n):
            index = (self._next + k) % n
            tail = self.tails[index]
            if tail is None:
                continue
            before, restarts = tail.offset, tail.restarts
            records = tail.poll(max(1, budget - spent))
            if tail.restarts != restarts:
                update.restarted.add(index)
                before = 0
            spent += tail.offset - before
            if records:
                update.records[index] = records
            if spent >= budget:
                self._next = (index + 1) % n
                break
        if update.record is None and update.running_changed:
            update.record = self._reread()  # a sweep that just ended: its final results and statuses
        return update

    def _reread(self) -> SweepRecord | None:
        try:
            record = read_sweep(self.folder)
        except (OSError, ValueError):
            return None
        self._stamp = stamp_of(self.folder / SWEEP_FILE)
        return record

    def apply(self) -> bool:
        """Take the queued updates into the model (the UI thread). True when it changed."""
        with self._queue_lock:
            queue, self._queue = self._queue, []
        changed = False
        for update in queue:
            for index in update.restarted:  # cut by a resume: its curve is read again from the start
                self.run.members[index].clear_records()
                changed = True
            for index, lines in update.records.items():
                member = self.run.members[index]
                for line in lines:
                    member.add_record(line)
                changed = True
            if update.running_changed:
                self.run.note(FOLLOWING if update.running else "")
            if update.record is not None or update.running_changed:
                if update.record is not None:
                    self.run.take_record(update.record, running=update.running)
                else:  # sweep.json unreadable now (mid-replace, removed): the lock alone says
                    self.run.reported_phase = Phase.TRAINING if update.running else Phase.STOPPED
                changed = True
        if changed:
            self.version += 1
        return changed

    def catch_up(self, budget: int = BUDGET) -> None:
        """Read every member's file to its end, ``budget`` bytes at a time (the opening read, before
        any view shows the model)."""
        while True:
            queued = self.read(budget)
            self.apply()
            if not queued or not self.behind:
                return
