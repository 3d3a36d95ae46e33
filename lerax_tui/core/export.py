"""``lerax-tui export``: write any readable checkpoint in one of the three layouts, verified.

* ``lerax``: lerax main's layout (32-byte sha256 of ``repr(treedef)``, then the leaves), which
  lerax's ``MLPQPolicy.deserialize(path, env, ...)`` checks and loads.
* ``lerax-0.0.5``: the released lerax's layout (no fingerprint; see :mod:`lerax_tui.core.lerax05`).
* ``lerax-tui``: ours, with its manifest.

The output never lands half-done or unchecked: a lerax file is written to a temporary name in the
output folder (``core.atomic.temp_path``), read back from disk, verified and compared weight by weight with the source,
and only then renamed into place. A lerax-tui checkpoint is written with its manifest by
``save_checkpoint`` and then read back the same way. An existing output is never replaced unless
asked (``force``); the ``.eqx`` suffix is appended when missing, never substituted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.core.atomic import fsync_dir, temp_path
from lerax_tui.core.checkpoint import (
    MANIFEST_FORMAT,
    eqx_path,
    manifest_path,
    policy_bytes,
    save_checkpoint,
)
from lerax_tui.core.manifest import Manifest
from lerax_tui.core.report import Report

FORMATS = ("lerax", "lerax-0.0.5", "lerax-tui")
_DESCRIPTION = {"lerax": "lerax main", "lerax-0.0.5": "lerax 0.0.5", "lerax-tui": "lerax-tui"}


class ExportError(ValueError):
    """The export cannot be done as asked (bad format, output exists, unwritable): exit status 2."""


class ExportVerificationError(ValueError):
    """What was written did not read back as the source policy: exit status 1. Nothing is left."""


@dataclass
class ExportResult:
    """What ``export`` wrote; ``to_json`` is the ``export --json`` object."""

    path: Path
    format: str
    source: Path
    source_status: str
    source_format: str | None
    env_id: str
    constructor: dict[str, Any]
    file_bytes: int
    sha256: str
    suffix_appended: bool
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "source": str(self.source),
            "source_status": self.source_status,
            "source_format": self.source_format,
            "env_id": self.env_id,
            "constructor": self.constructor,
            "file_bytes": self.file_bytes,
            "sha256": self.sha256,
            "suffix_appended": self.suffix_appended,
            "notes": list(self.notes),
        }


def output_path(out: str | Path) -> tuple[Path, bool]:
    """``(path written, whether .eqx was appended)``: ``run.v2`` -> ``run.v2.eqx`` (never ``run.eqx``).

    lerax's ``serialize`` (main and 0.0.5) would replace the suffix instead; the printed path is the
    one to pass to its ``deserialize``.
    """
    target = eqx_path(out)
    return target, target != Path(out)


def default_output(source: str | Path, fmt: str) -> Path:
    """A name beside the source that says the layout: ``final.eqx`` -> ``final-lerax-0.0.5.eqx``."""
    source = Path(source)
    return source.with_name(f"{source.stem}-{fmt}.eqx")


def short_float(x: float) -> str:
    """The shortest text for ``x`` at the precision it was stored in (``0.1`` for float32 0.1)."""
    x = float(x)
    if float(np.float32(x)) == x:
        return np.format_float_positional(np.float32(x), unique=True, trim="0")
    return repr(x)


def constructor(path: Path, fmt: str, env_id: str, env_params: dict, hyperparameters: dict) -> dict[str, Any]:
    """What a user of ``fmt`` needs to load ``path``: the arguments and the lines of Python.

    lerax's ``deserialize`` rebuilds the skeleton from the constructor arguments; the stored
    epsilon wins over the one given, and ``key`` only seeds an initialisation that is never run.
    """
    eps, width, depth = hyperparameters["epsilon"], int(hyperparameters["width_size"]), int(hyperparameters["depth"])
    args = f"epsilon={short_float(eps)}, width_size={width}, depth={depth}, key=jax.random.key(0)"
    call = f"policy = MLPQPolicy.deserialize({str(path)!r}, env, {args})"
    if fmt == "lerax-tui":
        imports = ["import jax", "from lerax_tui.core import MLPQPolicy, make_env"]
        params = "".join(f", {k}={v!r}" for k, v in env_params.items())
        env_lines = [f"env = make_env({env_id!r}{params})"]
    else:
        imports = [
            "import gymnax",
            "import jax",
            "from lerax.compatibility.gymnax import GymnaxToLeraxEnv",
            "from lerax.policy import MLPQPolicy",
        ]
        if env_params:
            replaced = ", ".join(f"{k}={v!r}" for k, v in env_params.items())
            env_lines = [
                f"gym_env, params = gymnax.make({env_id!r})",
                f"env = GymnaxToLeraxEnv(gym_env, params.replace({replaced}))",
            ]
        else:
            env_lines = [f"env = GymnaxToLeraxEnv(*gymnax.make({env_id!r}))"]
    return {
        "class": "MLPQPolicy",
        "env_id": env_id,
        "env_params": dict(env_params),
        "epsilon": float(eps),
        "width_size": width,
        "depth": depth,
        "key": "jax.random.key(0)",
        "call": call,
        "python": [*imports, *env_lines, call],
    }


def _non_default_params(env_id: str, manifest: Manifest | None) -> dict:
    saved = manifest.env_params_for(env_id) if manifest is not None else None
    if not saved:
        return {}
    from lerax_tui.core.env import non_default_params

    return non_default_params(env_id, saved)


def _check_target(target: Path, source: Path, fmt: str, force: bool) -> Path | None:
    """Refuse what would be lost or confused; returns a stale manifest to delete (``force`` only)."""
    if target.is_dir():
        raise ExportError(f"{target} is a folder: give a file name for -o")
    if target.parent.exists() and not target.parent.is_dir():
        raise ExportError(f"{target.parent} is not a folder")
    try:
        same = target.exists() and source.exists() and target.samefile(source)
    except OSError:
        same = False
    if same:
        raise ExportError(f"{target} is the source file: choose another name for -o")
    if target.exists() and not force:
        raise ExportError(f"{target} exists: choose another name for -o, or pass --force to replace it")
    mpath = manifest_path(target)
    if fmt == "lerax-tui" or not mpath.exists():
        if fmt == "lerax-tui" and mpath.exists() and not force:
            raise ExportError(
                f"{mpath} exists (a manifest of another checkpoint): choose another name for -o, or pass --force"
            )
        return None
    # A lerax file has no manifest; one left beside it would describe the old file.
    if not force:
        raise ExportError(
            f"{mpath} exists beside {target.name}: it would describe the wrong file; choose another name for -o, or pass --force to delete it"
        )
    from lerax_tui.core.safe_io import load_json

    try:  # bounded: a FIFO, a device or a huge or deep file there is simply not ours
        ours = load_json(mpath).get("format") == MANIFEST_FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise ExportError(
            f"{mpath} beside {target.name} is not a lerax-tui manifest: move it away first (it is never deleted)"
        )
    return mpath


def _same_weights(source: Any, copy: Any, fmt: str) -> str | None:
    """None when every array leaf of ``copy`` has ``source``'s dtype, shape and bytes, else the first
    difference. Epsilon is compared at the precision of the layout (float32 in lerax 0.0.5)."""
    import jax

    a_leaves = jax.tree_util.tree_flatten_with_path(source)[0]
    b_leaves = jax.tree_util.tree_leaves(copy)
    if len(a_leaves) != len(b_leaves):
        return f"{len(b_leaves)} leaves read back, the source has {len(a_leaves)}"
    for (path, a), b in zip(a_leaves, b_leaves):
        name = jax.tree_util.keystr(path).lstrip(".")
        if name == "epsilon":
            want = float(np.float32(float(a))) if fmt == "lerax-0.0.5" else float(a)
            if float(b) != want:
                return f"epsilon read back as {float(b)!r}, expected {want!r}"
            continue
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            return f"{name} differs after the round trip"
    return None


def _read_back(path: Path, fmt: str, env_id: str, hyperparameters: dict, policy: Any) -> None:
    """Read ``path`` from disk as any reader would (verify, then decode) and compare with ``policy``."""
    from lerax_tui.core.verification import decode_policy, verify

    overrides = {k: hyperparameters[k] for k in ("width_size", "depth")}
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExportVerificationError(f"the written file cannot be read back ({e.strerror or e})") from None
    report = verify(path, env_id=env_id, overrides=overrides, data=data)
    if not report.ok:
        raise ExportVerificationError(f"the written file does not read back: {report.summary()}")
    copy = decode_policy(data, report)
    if report.fingerprint_kind != fmt:
        raise ExportVerificationError(f"the written file reads back as {report.fingerprint_kind}, not {fmt}")
    difference = _same_weights(policy, copy, fmt)
    if difference is not None:
        raise ExportVerificationError(f"the written file does not hold the source's policy: {difference}")


def _write_lerax(data: bytes, target: Path, fmt: str, env_id: str, hp: dict, policy: Any, stale: Path | None) -> None:
    """Stage under a temporary name (one a killed export leaves is cleaned up like any other),
    verify it from disk, then rename it into place."""
    stage = temp_path(target)
    try:
        with open(stage, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _read_back(stage, fmt, env_id, hp, policy)
        if stale is not None:
            stale.unlink(missing_ok=True)  # first: a crash now leaves the old file without a manifest
        os.replace(stage, target)
    finally:
        stage.unlink(missing_ok=True)
    fsync_dir(target.parent)


def export_checkpoint(
    source: str | Path,
    out: str | Path,
    fmt: str,
    *,
    env_id: str | None = None,
    overrides: dict | None = None,
    force: bool = False,
) -> ExportResult:
    """Read ``source`` (any layout), write it to ``out`` as ``fmt``, and prove it reads back.

    Args:
        source: A readable checkpoint (lerax-tui, lerax main or lerax 0.0.5 layout).
        out: The output file (``.eqx`` appended when missing).
        fmt: ``lerax``, ``lerax-0.0.5`` or ``lerax-tui``.
        env_id: What the source was built for, when its records cannot say (no manifest).
        overrides: Hyperparameters the source was built with (``width_size``, ``depth``), as for
            ``inspect``: the source is verified against them.
        force: Replace an existing output (and delete a lerax-tui manifest left beside it).

    Returns:
        What was written, with the constructor arguments a lerax user needs.

    Raises:
        ExportError: bad format or output (nothing read or written).
        CheckpointError: the source cannot be read (``err.report`` says why).
        ExportVerificationError: the output did not read back as the source (it is removed).
    """
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    from lerax_tui.core.verification import load_checkpoint

    source = Path(source)
    if Path(out).is_dir():
        raise ExportError(
            f"{out} is a folder: give a file name for -o (e.g. {Path(out) / default_output(source, fmt).name})"
        )
    target, appended = output_path(out)
    stale = _check_target(target, eqx_path(source), fmt, force)
    policy, report = load_checkpoint(source, env_id=env_id, overrides=overrides)
    source_env = report.env_id
    assert source_env is not None  # load_checkpoint returns only reports that matched an env
    env_params = _non_default_params(source_env, report.manifest)
    hp = dict(policy.hyperparameters)
    if fmt == "lerax-0.0.5":
        hp["epsilon"] = float(np.float32(hp["epsilon"]))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "lerax-tui":
            _write_ours(policy, report, target, env_params)
            try:
                _read_back(target, fmt, source_env, hp, policy)
            except ExportVerificationError:
                for p in (target, manifest_path(target)):
                    p.unlink(missing_ok=True)
                raise
        else:
            from lerax_tui.core import lerax05

            data = policy_bytes(policy, fingerprint="lerax") if fmt == "lerax" else lerax05.encode(policy)
            _write_lerax(data, target, fmt, source_env, hp, policy, stale)
    except OSError as e:
        raise ExportError(f"{target}: cannot be written ({e.strerror or e})") from None
    written = target.read_bytes()
    notes = []
    if report.inferred:
        fits = [p for p in report.problems if p.startswith("the structure fits")]
        notes.append(
            f"the source has no manifest: read as {source_env}, inferred from its records"
            + (f" ({fits[0]})" if fits else "")
        )
    if fmt == "lerax-0.0.5" and float(policy.epsilon) != hp["epsilon"]:
        notes.append(f"epsilon {float(policy.epsilon)!r} is stored as float32 in this layout: {hp['epsilon']!r}")
    if appended:
        notes.append(f".eqx appended to {Path(out).name}: pass the path written to deserialize")
    return ExportResult(
        path=target,
        format=fmt,
        source=source,
        source_status=report.status,
        source_format=report.fingerprint_kind,
        env_id=source_env,
        constructor=constructor(target, fmt, source_env, env_params, hp),
        file_bytes=len(written),
        sha256=hashlib.sha256(written).hexdigest(),
        suffix_appended=appended,
        notes=notes,
    )


def _write_ours(policy: Any, report: Report, target: Path, env_params: dict) -> None:
    from lerax_tui.core.env import make_env

    assert report.env_id is not None  # verified before it is written
    manifest = report.manifest or Manifest()
    env = make_env(report.env_id, **env_params)
    origin = {"path": str(report.path), "layout": report.fingerprint_kind, "fingerprint": report.fingerprint}
    step = manifest.step
    save_checkpoint(
        policy,
        target,
        env=env,
        config=manifest.get("config"),
        step=step if isinstance(step, int) else 0,
        recent_return=manifest.recent_return,
        extra={"exported_from": origin},
    )


def describe(result: ExportResult) -> str:
    """The text ``lerax-tui export`` prints: what was written, and the Python that loads it."""
    who = "lerax-tui" if result.format == "lerax-tui" else _DESCRIPTION[result.format]
    lines = [
        f"wrote {result.path} ({_DESCRIPTION[result.format]} layout, {result.file_bytes:,} bytes) from {result.source}",
        f"  verified: read back from disk as {result.env_id}, every weight identical to the source's",
    ]
    lines += [f"  note: {n}" for n in result.notes]
    lines.append(f"load it with {who}:")
    lines += [f"  {line}" for line in result.constructor["python"]]
    return "\n".join(lines)
