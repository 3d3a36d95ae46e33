"""Enough glibc malloc arenas for the XLA CPU runtime's threads, set before JAX starts any.

glibc gives a process at most 8 x (online CPUs) malloc arenas; past that, threads share one and
contend for its lock on allocations. On a 2-core machine that is 16, and a distributed process (XLA's
thread pools, gRPC, gloo, the coordination client) runs more threads than that: the second process of
``bench/distributed.py`` had its compute thread on a shared arena (11% of its samples in glibc's
``_int_malloc``, each chunk 15-25% slower than the first process's, which waited for it every chunk);
with 64 arenas both processes ran alike. ``mallopt(M_ARENA_MAX)`` raises the limit for threads that
have not allocated yet, so it is called first thing in the command line's own process.

A user's ``MALLOC_ARENA_MAX`` or ``glibc.malloc.arena_max`` tunable is left alone, as is any C library
other than glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the arena limit (malloc.h)."""


def raise_arena_limit(minimum: int = 64) -> int:
    """Raise glibc's arena limit to ``max(minimum, 8 x CPUs)`` (never below its default).

    Returns:
        The limit set, or 0 where nothing was changed (not glibc, or the user chose one).
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return 0
    if "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return 0
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p  # glibc only (musl has no arena limit)
        libc.gnu_get_libc_version()
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return 0
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    limit = max(minimum, 8 * (os.cpu_count() or 1))
    return limit if mallopt(M_ARENA_MAX, limit) == 1 else 0
