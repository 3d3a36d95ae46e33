"""Files written by the released lerax (0.0.5): read everywhere with lerax's q-values, refused when bad.

The fixture was written by lerax 0.0.5 itself (tests/fixtures/lerax-0.0.5/README.md): no fingerprint,
int32 ``n`` and Box dimension records before the bounds, float32 epsilon.
"""

from __future__ import annotations

import io
import json
import struct

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.core import MLPQPolicy, make_env, verify
from lerax_tui.core.checkpoint import CheckpointError, manifest_path, policy_bytes, save_checkpoint
from lerax_tui.core.fingerprint import lerax_tui_fingerprint, scan_records
from lerax_tui.core.lerax05 import NOTE, encode
from lerax_tui.core.verification import load_checkpoint

NAME = "cartpole_05.eqx"


@pytest.fixture(scope="module")
def released(lerax05_dir):
    expected = json.loads((lerax05_dir / "expected.json").read_text())["files"][NAME]
    return lerax05_dir / NAME, expected


def q_values(policy, observations) -> np.ndarray:
    obs = jnp.asarray(observations, dtype=jnp.float32)
    return np.stack([np.asarray(policy.q_values(None, o)[1]) for o in obs])


def test_verify_infers_env_and_sizes_and_reports_the_layout(released):
    path, expected = released
    report = verify(path)
    assert report.status == "ok" and report.fingerprint_kind == "lerax-0.0.5" and report.fingerprint is None
    assert report.env_id == "CartPole-v1" and report.inferred and report.manifest is None
    assert report.hyperparameters == {"width_size": 64, "depth": 2, "epsilon": float(np.float32(0.1))}
    assert NOTE in report.problems and report.file_bytes == expected["file_size"]
    assert report.summary() == f"{NAME}: ok (lerax 0.0.5 layout, no fingerprint)"


def test_loaded_policy_gives_lerax_q_values_exactly(released):
    path, expected = released
    policy, report = load_checkpoint(path)
    assert report.ok
    # Same float32 weights, same eager dot products as lerax: the same bits, not merely close.
    np.testing.assert_array_equal(
        q_values(policy, expected["observations"]), np.asarray(expected["q_values"], np.float32)
    )
    obs = jnp.asarray(expected["observations"], dtype=jnp.float32)
    assert [int(policy(None, o)[1]) for o in obs] == expected["greedy_actions"]
    assert policy.epsilon == float(np.float32(expected["constructor"]["epsilon"]))  # as lerax 0.0.5 reads it
    # It is an ordinary MLPQPolicy: the structure training builds (continue training accepts it).
    skeleton = eqx.filter_eval_shape(MLPQPolicy, make_env("CartPole-v1"), width_size=64, depth=2, key=jax.random.key(0))
    assert lerax_tui_fingerprint(policy) == lerax_tui_fingerprint(
        eqx.tree_at(lambda p: p.epsilon, skeleton, policy.epsilon)
    )


def test_written_back_in_the_same_layout_gives_the_same_bytes(released):
    path, _ = released
    policy, _ = load_checkpoint(path)
    assert encode(policy) == path.read_bytes()


def test_wide_integer_variant_reads_the_same(released, tmp_path):
    """Serialising to an open file object in lerax 0.0.5 stores ``n`` and the Box shape as int64 and
    epsilon as float64 (NumPy's widths); such a file reads the same."""
    path, expected = released
    policy, _ = load_checkpoint(path)
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(
        buf, ((np.int64(2), np.int64(4)), eqx.tree_at(lambda p: p.epsilon, policy, np.float64(0.1)))
    )
    wide = tmp_path / "wide.eqx"
    wide.write_bytes(buf.getvalue())
    assert [r.dtype for r in scan_records(wide.read_bytes(), start=0)[:5]] == [
        "int64",
        "int64",
        "float32",
        "float32",
        "float64",
    ]
    loaded, report = load_checkpoint(wide)
    assert report.fingerprint_kind == "lerax-0.0.5" and report.env_id == "CartPole-v1" and loaded.epsilon == 0.1
    np.testing.assert_array_equal(
        q_values(loaded, expected["observations"]), np.asarray(expected["q_values"], np.float32)
    )


def test_a_multi_dimensional_box_has_one_record_per_dimension(tmp_path):
    env = make_env("Breakout-MinAtar")
    policy = MLPQPolicy(env, width_size=8, depth=1, key=jax.random.key(1))
    path = tmp_path / "breakout.eqx"
    path.write_bytes(encode(policy))
    records = scan_records(path.read_bytes(), start=0)
    assert [r.shape for r in records[:6]] == [(), (), (), (), (10, 10, 4), (10, 10, 4)]
    loaded, report = load_checkpoint(path, env_id="Breakout-MinAtar")
    assert report.ok and report.hyperparameters["width_size"] == 8 and report.hyperparameters["depth"] == 1
    for a, b in zip(
        jax.tree.leaves(eqx.filter(policy, eqx.is_array)), jax.tree.leaves(eqx.filter(loaded, eqx.is_array))
    ):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


# --- refusals ---------------------------------------------------------------------------------------


def _write(tmp_path, name: str, data: bytes):
    p = tmp_path / f"{name}.eqx"
    p.write_bytes(data)
    return p


def _with_int(data: bytes, record_index: int, value: int) -> bytes:
    rec = scan_records(data, start=0)[record_index]
    assert rec.dtype == "int32"
    return data[: rec.data_offset] + struct.pack("<i", value) + data[rec.end :]


def test_damaged_released_files_are_refused_with_the_reason(released, tmp_path):
    path, _ = released
    data = path.read_bytes()
    records = scan_records(data, start=0)

    def check(name: str, content: bytes, status: str, words: str) -> None:
        report = verify(_write(tmp_path, name, content))
        assert report.status == status, (name, report.status, report.problems)
        assert any(words in p for p in report.problems), (name, report.problems)
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / f"{name}.eqx")

    check("mid-record", data[:-5], "truncated", "data bytes")
    check("no-last-bias", data[: records[-1].offset], "truncated", "before its bias")
    check("no-last-layer", data[: records[-2].offset], "truncated", "layers are missing at the end")
    check("no-layers", data[: records[5].offset], "truncated", "no q-network layers")
    check("only-n", data[: records[1].offset], "truncated", "end before the Box bounds")
    check("garbage", data + b"\0trailing garbage", "corrupt", "bad magic")
    # Wrong structure: the records of a lerax main file, without its fingerprint (bounds come first).
    check(
        "main-records",
        policy_bytes(load_checkpoint(path)[0], fingerprint="lerax")[32:],
        "unknown-structure",
        "record 0 is (4,) float32",
    )
    # Crafted headers: sizes that contradict the arrays.
    check("n-3", _with_int(data, 0, 3), "corrupt", "action space has 3 actions")
    check("n-0", _with_int(data, 0, 0), "corrupt", "must be at least 1")
    check("dims-5", _with_int(data, 1, 5), "corrupt", "stored Box shape (5,) differs from the bounds' shape (4,)")
    huge = data.replace(b"'shape': (64, 64)", b"'shape': (99999, 99999)", 1)  # never allocated
    check("huge-shape", huge, "truncated", "data bytes")
    fortran = data.replace(b"'fortran_order': False, 'shape': (64, 4)", b"'fortran_order': True , 'shape': (64, 4)", 1)
    check("fortran", fortran, "corrupt", "Fortran-order")
    # Right layout, wrong dtypes (a file made in 64-bit mode): not the structure we would build.
    policy, _ = load_checkpoint(path)
    f64 = jax.tree.map(lambda x: np.asarray(x, np.float64) if eqx.is_array(x) else x, policy)
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, ((np.int32(2), np.int32(4)), eqx.tree_at(lambda p: p.epsilon, f64, np.float32(0.1))))
    check(
        "float64",
        buf.getvalue(),
        "unknown-structure",
        "observation_space.low is (4,) float64, the structure needs (4,) float32",
    )
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    check("pickle", buf.getvalue() + data, "corrupt", "object dtype refused")


def test_asking_for_another_structure_is_explained(released):
    path, _ = released
    report = verify(path, env_id="Acrobot-v1")
    assert report.status == "fingerprint-mismatch" and "num_actions: file 2, requested 3" in report.problems
    report = verify(path, overrides={"width_size": 32})
    assert report.status == "fingerprint-mismatch" and "width_size: file 64, requested 32" in report.problems
    assert verify(path, env_id="CartPole-v1", overrides={"width_size": 64, "depth": 2}).ok


def test_no_known_environment_has_the_shape(tmp_path):
    from lerax_tui.core import Box, Discrete

    class Seven:
        action_space = Discrete(2)
        observation_space = Box(low=-np.ones(7), high=np.ones(7))

    path = _write(tmp_path, "seven", encode(MLPQPolicy(Seven(), width_size=4, depth=1, key=jax.random.key(0))))
    report = verify(path)
    assert (
        report.status == "unknown-structure"
        and "observation shape [7] with 2 actions: pass --env" in report.problems[0]
    )


def test_a_lerax_tui_manifest_beside_it_is_refused_and_other_json_ignored(released, tmp_path, small_policy, cartpole):
    path, _ = released
    stale = save_checkpoint(small_policy, tmp_path / "run", env=cartpole)
    stale.write_bytes(path.read_bytes())  # as if replaced by a lerax 0.0.5 file, manifest left behind
    report = verify(stale)
    assert report.status == "corrupt" and "run.json beside it is a lerax-tui manifest" in report.problems[0]
    manifest_path(stale).write_text(json.dumps({"learning_rate": 0.001}))  # a user's own notes: not ours
    assert verify(stale).ok


def test_inspect_and_eval_read_it(released, capsys):
    from lerax_tui.cli import main

    path, _ = released
    assert main(["inspect", str(path), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["status"] == "ok" and obj["fingerprint_kind"] == "lerax-0.0.5" and obj["fingerprint"] is None
    assert main(["inspect", str(path)]) == 0
    assert "ok (lerax 0.0.5 layout, no fingerprint)" in capsys.readouterr().out
    assert main(["eval", str(path), "--episodes", "2", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["env_id"] == "CartPole-v1" and len(obj["returns"]) == 2
