"""Shared test fixtures. Tests run on 2 CPU cores: tiny networks, no JAX compile in UI tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")

REPO = Path(__file__).resolve().parents[1]


def _find_lerax_fixtures() -> Path:
    for candidate in (os.environ.get("LERAX_FIXTURES"), REPO.parent / "shared/fixtures/lerax", REPO / "shared/fixtures/lerax"):
        if candidate and (Path(candidate) / "expected.json").is_file():
            return Path(candidate)
    raise RuntimeError(
        "lerax fixtures not found: expected ../shared/fixtures/lerax beside the repository (or set LERAX_FIXTURES)"
    )


@pytest.fixture(scope="session")
def lerax_dir() -> Path:
    return _find_lerax_fixtures()


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
