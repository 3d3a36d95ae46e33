"""Mutated real checkpoint files are refused with a fitting status, never crash, never load silently.

A small example count here; ``bench/fuzz_checkpoints.py`` runs >= 10,000 mutations.
"""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.mutations import MUTATIONS

from lerax_tui.core import verify
from lerax_tui.core.checkpoint import manifest_path


@pytest.fixture(scope="module")
def originals(tmp_path_factory, lerax_dir, lerax05_dir):
    import jax

    from lerax_tui.core import MLPQPolicy, make_env
    from lerax_tui.core.checkpoint import save_checkpoint

    folder = tmp_path_factory.mktemp("orig")
    env = make_env("CartPole-v1")
    ours = save_checkpoint(MLPQPolicy(env, width_size=16, key=jax.random.key(3)), folder / "ours", env=env)
    shutil.copy(lerax_dir / "cartpole_trained.eqx", folder / "lerax.eqx")
    return {
        "ours": (ours.read_bytes(), manifest_path(ours).read_text()),
        "lerax": ((folder / "lerax.eqx").read_bytes(), None),
        "lerax-0.0.5": ((lerax05_dir / "cartpole_05.eqx").read_bytes(), None),
    }


@settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["ours", "lerax", "lerax-0.0.5"]),
    name=st.sampled_from(sorted(MUTATIONS)),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutations_are_refused_with_a_fitting_status(originals, tmp_path, which, name, seed):
    data, manifest = originals[which]
    new_data, new_manifest, allowed = MUTATIONS[name](data, manifest, random.Random(seed))
    path = tmp_path / f"m-{seed}.eqx"
    path.write_bytes(new_data)
    if new_manifest is not None:
        manifest_path(path).write_text(new_manifest)
    else:
        manifest_path(path).unlink(missing_ok=True)
    report = verify(path)
    if new_data == data and new_manifest == manifest:
        assert report.ok
    else:
        assert report.status in allowed, (name, report.status, report.problems)
        if not report.ok:
            assert report.problems, "a refusal must say why"
