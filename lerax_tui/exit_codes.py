"""The command line's exit statuses and its one way to report a failure.

0 ok; 1 a checkpoint or training problem (a damaged file, a diverged run); 2 bad usage or bad input
(nothing was written); 128 + N after signal N (``train.stops``). README "Command line" documents them.
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILED = 1
"""A checkpoint problem or a failed run."""
EXIT_USAGE = 2
"""Bad usage or bad input; nothing was written."""


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print ``lerax-tui: error: MESSAGE`` on stderr and return ``code`` (for ``return fail(...)``)."""
    print(f"lerax-tui: error: {message}", file=sys.stderr)
    return code


def say(message: str) -> None:
    """One ``lerax-tui: MESSAGE`` line on stderr, ignored when the terminal is gone (SIGHUP)."""
    try:
        print(f"lerax-tui: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
