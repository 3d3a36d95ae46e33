"""The command line raises glibc's malloc arena limit before JAX starts its threads (issue 16):
a distributed process's compute thread shared an arena and ran each chunk 15-25% slower."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lerax_tui.train import allocator

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def test_the_limit_is_raised_on_glibc_and_never_below_its_default(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    got = allocator.raise_arena_limit()
    if GLIBC:
        assert got == max(64, 8 * (os.cpu_count() or 1))
    else:
        assert got == 0


@pytest.mark.parametrize(("name", "value"), [("MALLOC_ARENA_MAX", "2"), ("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")])
def test_a_users_own_arena_setting_is_left_alone(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert allocator.raise_arena_limit() == 0


def test_the_command_line_sets_it_before_jax_is_imported():
    """In the command line's own process, before anything imports JAX (a thread that has already
    allocated keeps its arena)."""
    probe = (
        "import sys; from lerax_tui.train import allocator; seen = []; "
        "allocator.raise_arena_limit = lambda: seen.append('jax' in sys.modules) or 64; "
        "from lerax_tui import cli; sys.argv = ['lerax-tui', 'envs']; code = cli.main(); "
        "print(seen)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[False]"
