"""Our checkpoint files: fingerprint, manifest, suffix rules, atomic writes, every bad-file status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from lerax_tui.core import MLPQPolicy, verify
from lerax_tui.core.checkpoint import CheckpointError, atomic_write_bytes, manifest_path, save_checkpoint
from lerax_tui.core.fingerprint import describe_structure, lerax_tui_fingerprint
from lerax_tui.core.verification import load_checkpoint

# sha256 of our canonical description of MLPQPolicy(CartPole-v1) with the defaults. If this changes,
# every checkpoint written so far stops loading: bump STRUCTURE_VERSION and keep reading the old one.
GOLDEN_CARTPOLE_DEFAULT = "3f099ba09c1b9cd1211eb95dad7f7b6e41c032a55f0e8c15316213db823851f8"

FINGERPRINT_SNIPPET = """
import jax, equinox as eqx
from lerax_tui.core import MLPQPolicy, make_env
from lerax_tui.core.fingerprint import lerax_tui_fingerprint
skeleton = eqx.filter_eval_shape(MLPQPolicy, make_env("CartPole-v1"), key=jax.random.key(0))
print(lerax_tui_fingerprint(skeleton).hex())
"""


def test_golden_fingerprint(cartpole):
    policy = MLPQPolicy(cartpole, key=jax.random.key(0))
    assert lerax_tui_fingerprint(policy).hex() == GOLDEN_CARTPOLE_DEFAULT


def test_fingerprint_is_the_same_in_another_process(cartpole):
    out = subprocess.run([sys.executable, "-c", FINGERPRINT_SNIPPET], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == GOLDEN_CARTPOLE_DEFAULT


def test_fingerprint_ignores_values_but_not_structure(cartpole):
    a = MLPQPolicy(cartpole, key=jax.random.key(0))
    b = MLPQPolicy(cartpole, epsilon=0.7, key=jax.random.key(1))
    c = MLPQPolicy(cartpole, width_size=65, key=jax.random.key(0))
    assert lerax_tui_fingerprint(a) == lerax_tui_fingerprint(b) != lerax_tui_fingerprint(c)
    assert not any("0x" in line for line in describe_structure(a))  # no memory addresses


def test_roundtrip_with_manifest(saved_checkpoint, small_policy):
    manifest = json.loads(manifest_path(saved_checkpoint).read_text())
    assert manifest["env_id"] == "CartPole-v1" and manifest["step"] == 123
    assert manifest["hyperparameters"] == {"epsilon": 0.1, "width_size": 8, "depth": 2}
    assert manifest["payload_bytes"] == saved_checkpoint.stat().st_size - 32
    report = verify(saved_checkpoint)
    assert report.ok and report.fingerprint_kind == "lerax-tui" and not report.inferred
    loaded, _ = load_checkpoint(saved_checkpoint)
    for a, b in zip(jax.tree.leaves(small_policy), jax.tree.leaves(loaded)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_seed_serialize_suffix_rules(tmp_path, small_policy, cartpole):
    assert small_policy.serialize(tmp_path / "model") == tmp_path / "model.eqx"
    assert small_policy.serialize(tmp_path / "model.v2") == tmp_path / "model.v2.eqx"
    assert small_policy.serialize(tmp_path / "m.eqx") == tmp_path / "m.eqx"
    loaded = MLPQPolicy.deserialize(tmp_path / "model", cartpole, width_size=8, key=jax.random.key(5))
    np.testing.assert_array_equal(loaded.q_network.layers[0].weight, small_policy.q_network.layers[0].weight)
    with pytest.raises(ValueError, match="Structural fingerprint mismatch"):
        MLPQPolicy.deserialize(tmp_path / "model", cartpole, width_size=9, key=jax.random.key(5))
    with pytest.raises(FileNotFoundError):
        MLPQPolicy.deserialize(tmp_path / "absent", cartpole, key=jax.random.key(5))


def test_traced_epsilon_is_saved_as_a_float(tmp_path, small_policy, cartpole):
    import equinox as eqx
    import jax.numpy as jnp

    p = eqx.tree_at(lambda m: m.epsilon, small_policy, jnp.float32(0.25))
    path = save_checkpoint(p, tmp_path / "eps", env=cartpole)
    assert verify(path).ok
    assert load_checkpoint(path)[0].epsilon == pytest.approx(0.25)


def _status(path, **kw):
    return verify(path, **kw).status


def test_bad_files_each_get_a_clear_status(tmp_path, saved_checkpoint):
    data = saved_checkpoint.read_bytes()
    manifest = manifest_path(saved_checkpoint).read_text()

    def variant(name: str, content: bytes, with_manifest: bool = True) -> Path:
        p = tmp_path / f"{name}.eqx"
        p.write_bytes(content)
        if with_manifest:
            manifest_path(p).write_text(manifest)
        return p

    assert _status(tmp_path / "absent.eqx") == "missing"
    assert _status(variant("empty", b"", False)) == "not-a-checkpoint"
    assert _status(variant("short", data[:17], False)) == "truncated"
    assert _status(variant("random", os.urandom(4096), False)) == "not-a-checkpoint"
    assert _status(variant("trunc", data[:-100])) == "truncated"
    assert _status(variant("trunc-nomanifest", data[:-100], False)) == "truncated"
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    assert _status(variant("flip", bytes(flipped))) == "corrupt"
    assert _status(variant("garbage", data + b"\0garbage")) == "corrupt"
    assert _status(variant("garbage-nomanifest", data + b"\0garbage", False)) == "corrupt"
    header = bytearray(data)
    header[3] ^= 0x01
    assert _status(variant("fp-edit", bytes(header))) == "corrupt"
    broken = variant("broken-manifest", data)
    manifest_path(broken).write_text(manifest[:40])
    assert _status(broken) == "corrupt"
    assert "not valid JSON" in verify(broken).problems[0]


def test_manifest_that_lies_about_the_architecture(saved_checkpoint):
    mpath = manifest_path(saved_checkpoint)
    m = json.loads(mpath.read_text())
    m["hyperparameters"]["width_size"] = 128
    mpath.write_text(json.dumps(m))
    report = verify(saved_checkpoint)
    assert report.status == "corrupt"
    assert any("manifest" in p for p in report.problems)
    with pytest.raises(CheckpointError):
        load_checkpoint(saved_checkpoint)


def test_requested_structure_mismatch_is_explained(saved_checkpoint):
    report = verify(saved_checkpoint, overrides={"width_size": 128})
    assert report.status == "fingerprint-mismatch"
    assert "width_size: file 8, requested 128" in report.problems
    report = verify(saved_checkpoint, env_id="Acrobot-v1")
    assert "env_id: file CartPole-v1, requested Acrobot-v1" in report.problems
    with pytest.raises(CheckpointError, match="fingerprint-mismatch"):
        load_checkpoint(saved_checkpoint, overrides={"depth": 3})


def test_unknown_structure_without_manifest(tmp_path, cartpole):
    import equinox as eqx

    # A valid Equinox file that is not an MLPQPolicy: records with another layout.
    tree = {"a": np.zeros(3, np.float32)}
    path = tmp_path / "other.eqx"
    import io

    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    path.write_bytes(b"\1" * 32 + buf.getvalue())
    assert _status(path) == "unknown-structure"


def test_atomic_write_survives_a_crash_mid_write(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"old contents")

    def crash(fd):
        raise OSError("simulated power loss")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_bytes(target, b"new contents that never land")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no partial temp file left


def test_no_pickle_anywhere(tmp_path, saved_checkpoint):
    """An object-dtype record (which np.load would need pickle for) is refused, not loaded."""
    import io

    data = saved_checkpoint.read_bytes()
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    evil = tmp_path / "evil.eqx"
    evil.write_bytes(data[:32] + buf.getvalue())
    report = verify(evil)
    assert report.status == "not-a-checkpoint" and "object dtype" in report.problems[0]


def test_inspect_json_shape_and_exit_codes(saved_checkpoint, tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "lerax_tui", "inspect", *args, "--json"], capture_output=True, text=True
        )

    ok = run(str(saved_checkpoint))
    assert ok.returncode == 0, ok.stderr
    obj = json.loads(ok.stdout.strip().splitlines()[-1])
    assert {"path", "status", "fingerprint_kind", "fingerprint", "manifest", "problems"} <= set(obj)
    assert obj["status"] == "ok" and obj["fingerprint_kind"] == "lerax-tui" and len(obj["fingerprint"]) == 64
    bad = run(str(saved_checkpoint), "--set", "width_size=16")
    assert bad.returncode == 1 and json.loads(bad.stdout)["problems"] == ["width_size: file 8, requested 16"]
    usage = run(str(saved_checkpoint), "--set", "widthsize=16")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "Traceback" not in usage.stderr
    missing = run(str(tmp_path / "nope.eqx"))  # no file named: bad input (2), the report still printed
    assert (
        missing.returncode == 2
        and json.loads(missing.stdout)["status"] == "missing"
        and missing.stderr.count("\n") == 1
    )


def test_a_policy_manifest_without_env_over_foreign_records_is_unknown_structure(tmp_path, capsys):
    """A crafted pair: a consistent manifest of kind policy that names no env, over records that are not a
    policy's. verify once raised KeyError on it (the CLI's 'unexpected KeyError'); now it says what it is."""
    import jax.numpy as jnp

    from lerax_tui.cli import main
    from lerax_tui.core.checkpoint import save_pytree

    path = save_pytree((jnp.zeros(3), jnp.ones(2)), tmp_path / "odd", kind="policy")
    report = verify(path)
    assert report.status == "unknown-structure"
    assert "names no environment" in report.problems[0] and "pass --env" in report.problems[0]
    assert main(["inspect", str(path)]) == 1
    assert "unknown-structure" in capsys.readouterr().out
