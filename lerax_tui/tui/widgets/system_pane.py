"""The system pane (toggled with its key): this process's CPU % and resident memory, and each
accelerator's memory in use and limit from JAX, sampled about once a second in a thread worker so
the event loop never waits for ``/proc`` or a device query."""

from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.message import Message
from textual.widgets import Static

from lerax_tui.train.system_stats import SystemSample, SystemSampler, describe

SAMPLE_S = 1.0


class SystemPane(Static):
    HELP = """\
## System

This process's CPU use (100% is one core busy; several threads read above it), its resident
memory, and for each accelerator the memory in use and the limit as JAX's `memory_stats()` reports
them. The CPU backend reports none; JAX is asked only once a run has loaded it. Sampled once a second
while the pane is shown.
"""

    class Sampled(Message):
        def __init__(self, sample: SystemSample) -> None:
            super().__init__()
            self.sample = sample

    def __init__(self, sampler: SystemSampler | None = None, *, id: str | None = None) -> None:
        super().__init__("system: sampling…", id=id)
        self.sampler = sampler or SystemSampler()
        self.last: SystemSample | None = None
        self._sampling = False

    def on_mount(self) -> None:
        self.set_interval(SAMPLE_S, self._tick, name="system-sample")

    def _tick(self) -> None:
        if self.display and not self._sampling:
            self._sampling = True
            self._sample()

    def sample_now(self) -> None:
        """Take a sample at once (on showing the pane), without waiting for the next tick."""
        self._tick()

    @work(thread=True, exclusive=True, group="system", exit_on_error=False)
    def _sample(self) -> None:
        try:
            self.post_message(self.Sampled(self.sampler.sample()))
        finally:
            self._sampling = False

    def on_system_pane_sampled(self, message: Sampled) -> None:
        self.last = message.sample
        lines = describe(message.sample)
        self.update(
            "\n".join(f"[dim]{'process' if i == 0 else 'devices'}[/] {escape(line)}" for i, line in enumerate(lines))
        )
