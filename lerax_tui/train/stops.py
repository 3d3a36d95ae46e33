"""SIGINT, SIGTERM and SIGHUP for the headless commands, handled the way the app handles them.

The work runs in a thread and the main thread only waits, so a signal is seen at once even while a
long jitted call runs (Python runs signal handlers in the main thread, between bytecodes). The
handler never raises: it asks the work to stop (a run stops at its next chunk boundary and writes
its final and resume checkpoints), and the command exits with 128 + the signal's number. A second
ctrl-c within :data:`FORCE_WINDOW_S` seconds exits at once; every file on disk is still complete,
because every write is atomic and a checkpoint pair is written manifest first.

A signal that was ignored when the process started (``nohup`` ignores SIGHUP, a shell's background
job SIGINT) stays ignored.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
FORCE_WINDOW_S = 5.0
_WAIT_S = 0.2


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class SignalStop:
    """A context manager that turns SIGINT/SIGTERM/SIGHUP into a graceful stop (main thread only).

    Args:
        on_signal: Called (in the main thread) with the first signal's number: ask the work to stop.
        what: What is being stopped, for the message ("training").
        immediate: Exit at once on the first signal (work that writes nothing, e.g. evaluation).
        force_note: Called before a forced exit; returns a sentence about what is on disk.
        stream: Where messages go (stderr).
        until_exit: After a signal, keep handling signals when the block ends, for the rest of the
            process: the command is on its way out with 128 + N, and a second ctrl-c while it prints
            its summary or while the interpreter shuts down (JAX's atexit hooks) then exits at once
            with the usual message instead of raising KeyboardInterrupt in a shutdown hook.
    """

    def __init__(
        self,
        on_signal: Callable[[int], None] | None = None,
        *,
        what: str = "training",
        immediate: bool = False,
        force_note: Callable[[], str] | None = None,
        stream: TextIO | None = None,
        until_exit: bool = False,
    ):
        self.on_signal, self.what, self.immediate = on_signal, what, immediate
        self.force_note = force_note
        self.stream = stream
        self.until_exit = until_exit
        self.signum: int | None = None
        self._last_sigint: float | None = None
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), or None."""
        return None if self.signum is None else 128 + self.signum

    def __enter__(self) -> SignalStop:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                previous = signal.getsignal(signum)
                if previous == signal.SIG_IGN:
                    continue
                self._previous[signum] = previous
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.until_exit and self.signum is not None:
            return  # the handlers stay: see until_exit
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        try:
            stream.write(f"\nlerax-tui: {text}\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal (SIGHUP) must not stop the stop

    def _handle(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        name = signal_name(signum)
        if self.immediate:
            self._say(f"{name}: {self.what} interrupted; nothing was written")
            self._exit(128 + signum)
        if self.signum is None:
            self.signum = signum
            if signum == signal.SIGINT:
                self._last_sigint = now
            self._say(
                f"{name}: stopping {self.what} at the next chunk boundary, then writing the final and resume "
                f"checkpoints (ctrl-c twice within {FORCE_WINDOW_S:.0f} s exits at once)"
            )
            if self.on_signal is not None:
                self.on_signal(signum)
            return
        if signum == signal.SIGINT:
            if self._last_sigint is not None and now - self._last_sigint <= FORCE_WINDOW_S:
                note = self.force_note() if self.force_note is not None else ""
                self._say(f"SIGINT again: exiting at once. {note}".rstrip())
                self._exit(128 + signum)
            self._last_sigint = now
            self._say(f"still stopping {self.what}; ctrl-c again within {FORCE_WINDOW_S:.0f} s exits at once")
        else:
            self._say(f"{name}: already stopping {self.what}")

    @staticmethod
    def _exit(code: int) -> None:
        # os._exit, not sys.exit: the worker thread may be inside XLA, and tearing it down during
        # interpreter shutdown aborts the process ("FATAL: exception not rethrown").
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def run_in_thread(fn: Callable[[], Any], *, name: str = "lerax-tui-work") -> Any:
    """Run ``fn`` in a daemon thread while the main thread waits (and can take signals).

    Returns:
        What ``fn`` returned.

    Raises:
        BaseException: Whatever ``fn`` raised, re-raised in the caller's thread.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as e:  # handed to the caller below
            outcome["error"] = e

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    # Wait on the outcome, not on is_alive() alone: on Python 3.11 a join() interrupted by an
    # exception can leave a live thread looking finished.
    while "result" not in outcome and "error" not in outcome:
        thread.join(_WAIT_S)
        if not thread.is_alive() and "result" not in outcome and "error" not in outcome:
            raise RuntimeError(f"{name} ended without a result")
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
