"""Real lerax files load, give lerax's q-values and actions, and re-serialise to the same bytes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.core import MLPQPolicy, make_env, verify
from lerax_tui.core.checkpoint import policy_bytes
from lerax_tui.core.fingerprint import lerax_fingerprint
from lerax_tui.core.verification import load_checkpoint

FILES = ["cartpole_default.eqx", "cartpole_trained.eqx"]


@pytest.mark.parametrize("name", FILES)
def test_seed_deserialize_reproduces_expected(name, lerax_dir, lerax_expected):
    exp = lerax_expected["files"][name]
    env = make_env(exp["env_id"])
    ctor = {k: v for k, v in exp["constructor"].items() if k != "key_seed"}
    policy = MLPQPolicy.deserialize(lerax_dir / name, env, **ctor, key=jax.random.key(0))
    obs = jnp.asarray(exp["observations"], dtype=jnp.float32)
    q = np.stack([np.asarray(policy.q_values(None, o)[1]) for o in obs])
    np.testing.assert_allclose(q, np.asarray(exp["q_values"]), rtol=1e-5, atol=1e-5)
    assert [int(policy(None, o)[1]) for o in obs] == exp["greedy_actions"]
    for case in exp["masked_greedy"]:
        mask = jnp.asarray(case["action_mask"])
        assert int(policy(None, obs[case["observation_index"]], action_mask=mask)[1]) == case["action"]


@pytest.mark.parametrize("name", FILES)
def test_fingerprint_and_bytes(name, lerax_dir, lerax_expected):
    exp = lerax_expected["files"][name]
    raw = (lerax_dir / name).read_bytes()
    assert len(raw) == exp["file_size"] and raw[:32].hex() == exp["fingerprint_hex"]
    env = make_env("CartPole-v1")
    policy = MLPQPolicy.deserialize(lerax_dir / name, env, key=jax.random.key(0))
    assert repr(jax.tree.structure(policy)) == exp["tree_structure_repr"]
    assert lerax_fingerprint(policy).hex() == exp["fingerprint_hex"]
    # Same weights -> same bytes, when writing lerax's fingerprint; ours differs only in the header.
    assert policy_bytes(policy, fingerprint="lerax") == raw
    assert policy_bytes(policy)[32:] == raw[32:] and policy_bytes(policy)[:32] != raw[:32]


def test_stored_epsilon_wins(lerax_dir, lerax_expected):
    env = make_env("CartPole-v1")
    policy = MLPQPolicy.deserialize(lerax_dir / "cartpole_default.eqx", env, epsilon=0.5, key=jax.random.key(0))
    assert policy.epsilon == lerax_expected["files"]["cartpole_default.eqx"]["epsilon_stored"] == 0.1


def test_mismatch_raises_lerax_message(lerax_dir, lerax_expected):
    exp = lerax_expected["files"]["cartpole_default.eqx"]
    env = make_env("CartPole-v1")
    with pytest.raises(ValueError) as err:
        MLPQPolicy.deserialize(lerax_dir / "cartpole_default.eqx", env, width_size=32, key=jax.random.key(0))
    expected = exp["mismatch_message"].replace("cartpole_default.eqx", str(lerax_dir / "cartpole_default.eqx"))
    assert str(err.value) == expected


@pytest.mark.parametrize("kwargs", [{"depth": 3}, {"width_size": 65}])
def test_mismatched_depth_or_width_raises(kwargs, lerax_dir):
    with pytest.raises(ValueError, match="Structural fingerprint mismatch"):
        MLPQPolicy.deserialize(
            lerax_dir / "cartpole_trained.eqx", make_env("CartPole-v1"), **kwargs, key=jax.random.key(0)
        )


def test_mismatched_env_raises(lerax_dir):
    with pytest.raises(ValueError, match="Structural fingerprint mismatch"):
        MLPQPolicy.deserialize(lerax_dir / "cartpole_trained.eqx", make_env("Acrobot-v1"), key=jax.random.key(0))


def test_fresh_init_equals_default_file(lerax_dir):
    env = make_env("CartPole-v1")
    fresh = MLPQPolicy(env, key=jax.random.key(0))
    assert policy_bytes(fresh, fingerprint="lerax") == (lerax_dir / "cartpole_default.eqx").read_bytes()


@pytest.mark.parametrize("name", FILES)
def test_verify_without_manifest_infers_env_and_reports_lerax_kind(name, lerax_dir, lerax_expected):
    report = verify(lerax_dir / name)
    assert report.status == "ok" and report.fingerprint_kind == "lerax"
    assert report.env_id == "CartPole-v1" and report.inferred
    assert report.hyperparameters["width_size"] == 64 and report.hyperparameters["depth"] == 2
    policy, _ = load_checkpoint(lerax_dir / name)
    obs = jnp.asarray(lerax_expected["files"][name]["observations"][0])
    np.testing.assert_allclose(
        policy.q_values(None, obs)[1], lerax_expected["files"][name]["q_values"][0], rtol=1e-5, atol=1e-5
    )


def test_verify_explains_mismatch_field_by_field(lerax_dir):
    report = verify(lerax_dir / "cartpole_trained.eqx", overrides={"width_size": 128})
    assert report.status == "fingerprint-mismatch"
    assert "width_size: file 64, requested 128" in report.problems
    report = verify(lerax_dir / "cartpole_trained.eqx", env_id="Acrobot-v1")
    assert "num_actions: file 2, requested 3" in report.problems
