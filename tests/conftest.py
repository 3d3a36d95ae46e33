"""Shared test fixtures. Tests run on 2 CPU cores: tiny networks, no JAX compile in UI tests."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# The test data lives in the repository: a fresh clone has nothing beside it. Any test that opens a
# file in a ``shared/`` folder beside the checkout fails (an audit hook sees every ``open``).
_OUTSIDE = str((REPO.parent / "shared").resolve())


def _forbid_outside_data(event: str, args: tuple) -> None:
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))  # no syscalls: this runs on every open
        if path == _OUTSIDE or path.startswith(_OUTSIDE + os.sep):
            raise RuntimeError(f"a test read {path}: test data must live in the repository (tests/fixtures/)")


sys.addaudithook(_forbid_outside_data)


@pytest.fixture(scope="session")
def lerax_dir() -> Path:
    """Files written by lerax's main branch (fingerprinted layout)."""
    return FIXTURES / "lerax"


@pytest.fixture(scope="session")
def lerax05_dir() -> Path:
    """A file written by the released lerax 0.0.5 (no fingerprint)."""
    return FIXTURES / "lerax-0.0.5"


@pytest.fixture(scope="session")
def lerax_expected(lerax_dir) -> dict:
    return json.loads((lerax_dir / "expected.json").read_text())


@pytest.fixture(scope="session")
def cartpole():
    from lerax_tui.core import make_env

    return make_env("CartPole-v1")


@pytest.fixture(scope="session")
def small_policy(cartpole):
    import jax

    from lerax_tui.core import MLPQPolicy

    return MLPQPolicy(cartpole, width_size=8, depth=2, key=jax.random.key(0))


@pytest.fixture
def saved_checkpoint(tmp_path, small_policy, cartpole) -> Path:
    """A small policy saved with its manifest: the starting point for bad-file tests."""
    from lerax_tui.core.checkpoint import save_checkpoint

    return save_checkpoint(small_policy, tmp_path / "ckpt", env=cartpole, step=123, recent_return=42.0)
