"""``lerax-tui export``: every layout in, every layout out, lossless, verified, refusals with exit codes."""

from __future__ import annotations

import json
import shutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lerax_tui.cli import main
from lerax_tui.core import verify
from lerax_tui.core.checkpoint import manifest_path, save_checkpoint
from lerax_tui.core.export import FORMATS, ExportError, ExportVerificationError, export_checkpoint, short_float
from lerax_tui.core.verification import load_checkpoint

SOURCES = [("lerax", "cartpole_default.eqx"), ("lerax", "cartpole_trained.eqx"), ("lerax-0.0.5", "cartpole_05.eqx")]


@pytest.fixture(scope="module")
def fixtures(lerax_dir, lerax05_dir):
    out = {}
    for folder, name in SOURCES:
        base = lerax_dir if folder == "lerax" else lerax05_dir
        out[name] = (base / name, json.loads((base / "expected.json").read_text())["files"][name])
    return out


def weights(policy) -> list[bytes]:
    """Every array leaf's dtype, shape and bytes (epsilon, a Python float, is not among them)."""
    return [
        (str(np.asarray(x).dtype), np.shape(x), np.asarray(x).tobytes())
        for x in jax.tree.leaves(eqx.filter(policy, eqx.is_array))
    ]


def q_values(policy, observations) -> np.ndarray:
    return np.stack([np.asarray(policy.q_values(None, o)[1]) for o in jnp.asarray(observations, dtype=jnp.float32)])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [name for _, name in SOURCES])
def test_every_layout_in_every_layout_out_gives_lerax_q_values(fixtures, tmp_path, name, fmt):
    source, expected = fixtures[name]
    result = export_checkpoint(source, tmp_path / "out.eqx", fmt)
    assert result.path == tmp_path / "out.eqx" and result.format == fmt and result.source_status == "ok"
    policy, report = load_checkpoint(result.path)
    assert report.ok and report.fingerprint_kind == fmt and report.env_id == "CartPole-v1"
    # lerax computed these eagerly in float32 on CPU; the same weights give the same bits here.
    np.testing.assert_array_equal(
        q_values(policy, expected["observations"]), np.asarray(expected["q_values"], np.float32)
    )
    assert weights(policy) == weights(load_checkpoint(source)[0])
    assert (manifest_path(result.path).exists()) == (fmt == "lerax-tui")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging file left


def test_each_lerax_file_written_back_in_its_own_layout_is_byte_identical(fixtures, tmp_path):
    for name, fmt in (
        ("cartpole_trained.eqx", "lerax"),
        ("cartpole_default.eqx", "lerax"),
        ("cartpole_05.eqx", "lerax-0.0.5"),
    ):
        source, expected = fixtures[name]
        result = export_checkpoint(source, tmp_path / f"again-{name}", fmt)
        assert result.path.read_bytes() == source.read_bytes() and result.sha256 == expected["sha256"]


def test_round_trips_through_lerax_layouts_are_lossless(tmp_path, cartpole):
    from lerax_tui.core import MLPQPolicy

    ours = save_checkpoint(
        MLPQPolicy(cartpole, epsilon=0.05, width_size=16, depth=3, key=jax.random.key(7)),
        tmp_path / "ours",
        env=cartpole,
        step=1234,
        recent_return=99.5,
    )
    original, _ = load_checkpoint(ours)

    main_file = export_checkpoint(ours, tmp_path / "main.eqx", "lerax").path
    back = export_checkpoint(main_file, tmp_path / "back-main.eqx", "lerax-tui").path
    assert back.read_bytes() == ours.read_bytes()  # fingerprint, epsilon and every weight byte
    assert json.loads(manifest_path(back).read_text())["exported_from"]["layout"] == "lerax"

    v005 = export_checkpoint(ours, tmp_path / "v005.eqx", "lerax-0.0.5")
    assert v005.notes == ["epsilon 0.05 is stored as float32 in this layout: 0.05000000074505806"]
    back = export_checkpoint(v005.path, tmp_path / "back-v005.eqx", "lerax-tui").path
    copy, report = load_checkpoint(back)
    assert report.ok and weights(copy) == weights(original) and copy.epsilon == float(np.float32(0.05))
    # A manifest source keeps its step and return; the env id and hyperparameters carry through.
    m = json.loads(manifest_path(export_checkpoint(ours, tmp_path / "copy.eqx", "lerax-tui").path).read_text())
    assert (m["step"], m["recent_return"], m["env_id"], m["hyperparameters"]["depth"]) == (1234, 99.5, "CartPole-v1", 3)


def test_the_constructor_is_what_lerax_needs(fixtures, tmp_path):
    source, _ = fixtures["cartpole_05.eqx"]
    result = export_checkpoint(source, tmp_path / "run.v2", "lerax")
    assert result.path == tmp_path / "run.v2.eqx" and result.suffix_appended and not (tmp_path / "run.eqx").exists()
    assert result.notes == [
        "the source has no manifest: read as CartPole-v1, inferred from its records",
        ".eqx appended to run.v2: pass the path written to deserialize",
    ]
    c = result.constructor
    assert (c["env_id"], c["epsilon"], c["width_size"], c["depth"]) == ("CartPole-v1", float(np.float32(0.1)), 64, 2)
    assert (
        c["call"]
        == f"policy = MLPQPolicy.deserialize({str(result.path)!r}, env, epsilon=0.1, width_size=64, depth=2, key=jax.random.key(0))"
    )
    assert "env = GymnaxToLeraxEnv(*gymnax.make('CartPole-v1'))" in c["python"]
    assert (
        short_float(0.05) == "0.05"
        and short_float(float(np.float32(0.3))) == "0.3"
        and short_float(1 / 3) == repr(1 / 3)
    )


def test_export_command_json_and_text(fixtures, tmp_path, capsys):
    source, _ = fixtures["cartpole_trained.eqx"]
    out = tmp_path / "for-lerax-0.0.5.eqx"
    assert main(["export", str(source), "--format", "lerax-0.0.5", "-o", str(out), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"path", "format", "source", "source_status", "constructor"} <= set(obj)
    assert (obj["path"], obj["format"], obj["source_status"], obj["source_format"]) == (
        str(out),
        "lerax-0.0.5",
        "ok",
        "lerax",
    )
    assert main(["export", str(out), "--format", "lerax", "-o", str(tmp_path / "main")]) == 0
    text = capsys.readouterr().out
    assert "every weight identical" in text and "main.eqx', env, epsilon=0.1, width_size=64, depth=2" in text


def test_usage_problems_exit_2_and_write_nothing(fixtures, tmp_path, capsys):
    source, _ = fixtures["cartpole_default.eqx"]
    taken = tmp_path / "taken.eqx"
    taken.write_bytes(b"precious")

    def run(*argv) -> tuple[int, str]:
        code = main(["export", str(source), *argv])
        return code, capsys.readouterr().err

    for argv, words in (
        (["--format", "onnx", "-o", str(tmp_path / "x")], "invalid choice: 'onnx'"),
        (["--format", "lerax"], "required: -o/--output"),
        (["--format", "lerax", "-o", str(taken)], "taken.eqx exists: choose another name for -o, or pass --force"),
        (["--format", "lerax", "-o", str(tmp_path)], "is a folder"),
        (["--format", "lerax", "-o", str(tmp_path / "x"), "--env", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
        (["--format", "lerax", "-o", str(tmp_path / "x"), "--set", "widthsize=3"], "widthsize"),
        (["--format", "lerax", "-o", str(source)], "is the source file"),
    ):
        try:
            code, err = run(*argv)
        except SystemExit as e:  # argparse's own errors exit through SystemExit
            code, err = e.code, capsys.readouterr().err
        assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, (argv, code, err)
    assert taken.read_bytes() == b"precious" and sorted(p.name for p in tmp_path.iterdir()) == ["taken.eqx"]


def test_source_problems_exit_1(tmp_path, capsys, lerax05_dir):
    bad = tmp_path / "bad.eqx"
    bad.write_bytes((lerax05_dir / "cartpole_05.eqx").read_bytes()[:-5])
    assert main(["export", str(bad), "--format", "lerax", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lerax-tui: error: cannot export:") and err.count("\n") == 1
    # a source path that names no file is bad input (2), as for eval and inspect
    assert main(["export", str(tmp_path / "absent.eqx"), "--format", "lerax", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "absent.eqx does not exist" in err and err.count("\n") == 1
    assert (
        main(
            [
                "export",
                str(lerax05_dir / "cartpole_05.eqx"),
                "--format",
                "lerax",
                "-o",
                str(tmp_path / "o"),
                "--set",
                "width_size=32",
            ]
        )
        == 1
    )
    assert "width_size: file 64, requested 32" in capsys.readouterr().err
    assert not (tmp_path / "out.eqx").exists() and not (tmp_path / "o.eqx").exists()


def test_force_replaces_and_removes_a_stale_manifest(fixtures, tmp_path, small_policy, cartpole):
    source, _ = fixtures["cartpole_trained.eqx"]
    old = save_checkpoint(small_policy, tmp_path / "run", env=cartpole)
    with pytest.raises(ExportError, match="exists"):
        export_checkpoint(source, old, "lerax")
    result = export_checkpoint(source, old, "lerax", force=True)
    assert result.path.read_bytes() == source.read_bytes() and not manifest_path(old).exists()
    assert verify(old).ok and verify(old).fingerprint_kind == "lerax"
    # A JSON beside the output that is not our manifest is never deleted.
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(ExportError, match="not a lerax-tui manifest"):
        export_checkpoint(source, tmp_path / "notes.eqx", "lerax", force=True)
    assert (tmp_path / "notes.json").read_text() == "{}" and not (tmp_path / "notes.eqx").exists()


def test_a_file_that_does_not_read_back_is_never_left_behind(fixtures, tmp_path, monkeypatch):
    import lerax_tui.core.lerax05 as lerax05

    source, _ = fixtures["cartpole_trained.eqx"]
    real = lerax05.encode

    def off_by_one_weight(policy):
        data = bytearray(real(policy))
        data[-1] ^= 0x01  # the last bias byte: structure intact, a weight differs
        return bytes(data)

    monkeypatch.setattr(lerax05, "encode", off_by_one_weight)
    with pytest.raises(ExportVerificationError, match="q_network.layers\\[2\\].bias differs"):
        export_checkpoint(source, tmp_path / "out.eqx", "lerax-0.0.5")
    assert list(tmp_path.iterdir()) == []


def test_a_lerax_file_without_inference_needs_env(tmp_path, capsys, lerax_dir):
    """--env and --set say what a manifest-less source is when it is ambiguous, as for inspect."""
    copy = tmp_path / "src.eqx"
    shutil.copy(lerax_dir / "cartpole_default.eqx", copy)
    assert (
        main(
            [
                "export",
                str(copy),
                "--format",
                "lerax-tui",
                "-o",
                str(tmp_path / "ours"),
                "--env",
                "CartPole-v1",
                "--set",
                "width_size=64",
                "--json",
            ]
        )
        == 0
    )
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["env_id"] == "CartPole-v1" and verify(tmp_path / "ours.eqx").manifest["env_id"] == "CartPole-v1"
