"""Checkpoint files: ``NAME.eqx`` (32-byte fingerprint + Equinox leaves) and its ``NAME.json`` manifest.

Every write is atomic (temporary file in the same folder, fsync, rename, fsync of the folder), so a
crash never leaves a partial file under the final name, and a pair is written manifest first
(:mod:`lerax_tui.core.pairs`), so the two always agree. Nothing is ever unpickled: records are
parsed with NumPy's safe header reader and object dtypes are refused.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.core.atomic import atomic_write_bytes, atomic_write_json  # noqa: F401  (re-exported)
from lerax_tui.core.fingerprint import (
    FINGERPRINT_BYTES,
    RecordError,
    describe_structure,
    expected_leaves,
    lerax_fingerprint,
    lerax_tui_fingerprint,
    match_fingerprint,
    scan_records,
)
from lerax_tui.core.pairs import (  # noqa: F401  (re-exported)
    consistent_entry,
    digest_problems,
    fitting_entries,
    integrity_problems,
    own_entry,
    pick_by_digest,
    size_problems,
    write_pair,
)

if TYPE_CHECKING:
    from lerax_tui.core.safe_io import FileView

MANIFEST_FORMAT = "lerax-tui-checkpoint"
MANIFEST_VERSION = 1
POLICY_KEYS = ("epsilon", "width_size", "depth")
POLICY_DEFAULTS = {"epsilon": 0.1, "width_size": 64, "depth": 2}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; ``report`` says why, field by field where known."""

    def __init__(self, report: Any):
        self.report = report
        super().__init__(report.summary())


# --- paths and atomic writes ---------------------------------------------------------------------


def eqx_path(path: str | Path) -> Path:
    """``path`` with ``.eqx`` appended when its suffix is not ``.eqx`` (another suffix is kept)."""
    path = Path(path)
    return path if path.suffix == ".eqx" else path.with_name(path.name + ".eqx")


def manifest_path(path: str | Path) -> Path:
    """The manifest beside a checkpoint: ``NAME.eqx`` -> ``NAME.json``."""
    return eqx_path(path).with_suffix(".json")


# --- serialising ---------------------------------------------------------------------------------


def _leaf_bytes(tree: Any) -> bytes:
    import equinox as eqx

    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    return buf.getvalue()


def _with_float_epsilon(policy: Any) -> Any:
    """Epsilon is a Python float on disk (a 0-d float64 record), as lerax writes it, even when
    training carried it as a traced JAX scalar."""
    import equinox as eqx

    eps = getattr(policy, "epsilon", None)
    if eps is None or isinstance(eps, float):
        return policy
    return eqx.tree_at(lambda p: p.epsilon, policy, float(eps))


def policy_bytes(policy: Any, *, fingerprint: str = "lerax-tui") -> bytes:
    """The exact bytes of a policy file: fingerprint then Equinox leaf records."""
    policy = _with_float_epsilon(policy)
    if fingerprint == "lerax-tui":
        fp = lerax_tui_fingerprint(policy)
    elif fingerprint == "lerax":
        fp = lerax_fingerprint(policy)
    else:
        raise ValueError(f"fingerprint must be 'lerax-tui' or 'lerax', got {fingerprint!r}")
    return fp + _leaf_bytes(policy)


def write_policy(policy: Any, path: str | Path, *, fingerprint: str = "lerax-tui") -> Path:
    """Write a policy file (no manifest) atomically; returns the ``.eqx`` path written."""
    return atomic_write_bytes(eqx_path(path), policy_bytes(policy, fingerprint=fingerprint))


def package_versions() -> dict[str, str]:
    """The versions written into every manifest (a copy: read from the installed packages' metadata
    once per process, which cost ~10 ms a checkpoint)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    from importlib import metadata

    import lerax_tui

    out = {"lerax_tui": lerax_tui.__version__, "python": platform.python_version()}
    for name in ("jax", "jaxlib", "equinox", "optax", "gymnax", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _manifest(kind: str, data: bytes, tree: Any, fingerprint_kind: str) -> dict[str, Any]:
    payload = data[FINGERPRINT_BYTES:]
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "kind": kind,
        "class": type(tree).__name__,
        "fingerprint": data[:FINGERPRINT_BYTES].hex(),
        "fingerprint_kind": fingerprint_kind,
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }


def _finite_or_none(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def save_checkpoint(
    policy: Any,
    path: str | Path,
    *,
    env: Any,
    config: dict | None = None,
    step: int = 0,
    recent_return: float | None = None,
    extra: dict | None = None,
    fingerprint: str = "lerax-tui",
) -> Path:
    """Write ``NAME.json`` then ``NAME.eqx``, so that the pair is consistent under any kill
    (see :mod:`lerax_tui.core.pairs`).

    Args:
        policy: The policy to save.
        path: Where to save (``.eqx`` appended when missing).
        env: The environment the policy was built for (its id, params and spaces go in the manifest).
        config: The full training configuration (``DQNConfig.to_dict()``), if any.
        step: Environment steps of training behind this policy.
        recent_return: A recent (smoothed) episode return, shown by the browser.
        extra: More JSON-able fields for the manifest (e.g. ``seed``).
        fingerprint: ``"lerax-tui"`` or ``"lerax"``.

    Returns:
        The ``.eqx`` path written.
    """
    policy = _with_float_epsilon(policy)
    data = policy_bytes(policy, fingerprint=fingerprint)
    target = eqx_path(path)
    manifest = _manifest("policy", data, policy, fingerprint)
    manifest.update(
        {
            "hyperparameters": {
                "epsilon": float(policy.epsilon),
                "width_size": int(policy.q_network.width_size),
                "depth": int(policy.q_network.depth),
            },
            "env_id": env.env_id,
            "env_params": env.param_dict(),
            "observation_space": env.observation_space.describe(),
            "action_space": env.action_space.describe(),
            "step": int(step),
            "recent_return": _finite_or_none(recent_return),
            "config": config,
            "structure": describe_structure(policy),
        }
    )
    if extra:
        manifest.update(extra)
    return write_pair(target, data, manifest)


def save_pytree(tree: Any, path: str | Path, *, kind: str, manifest_extra: dict | None = None) -> Path:
    """Save any pytree (e.g. a full training state) with our fingerprint and a manifest.

    PRNG key arrays must be converted with ``jax.random.key_data`` first (``.npy`` cannot hold them).
    """
    data = lerax_tui_fingerprint(tree) + _leaf_bytes(tree)
    manifest = _manifest(kind, data, tree, "lerax-tui")
    manifest.update(manifest_extra or {})
    return write_pair(eqx_path(path), data, manifest)


def load_pytree(path: str | Path, skeleton: Any, *, kind: str) -> Any:
    """Load a pytree written by :func:`save_pytree` into ``skeleton``'s structure.

    Nothing past the headers is read until the file's size is the one its manifest and the
    skeleton's records declare, so a huge or lying file costs no memory.

    Raises:
        ValueError: If the manifest is missing or of another kind, the bytes fail the integrity
            check, or the fingerprint does not match ``skeleton``.
    """
    import equinox as eqx

    from lerax_tui.core.safe_io import FileView, describe_os_error, load_json, open_regular, sha256_from

    path = eqx_path(path)
    try:
        manifest = load_json(manifest_path(path))
    except OSError as e:
        raise ValueError(
            f"{path.name}: its manifest cannot be read ({describe_os_error(manifest_path(path).name, e)})"
        ) from None
    except ValueError as e:
        raise ValueError(f"{path.name}: its manifest cannot be read ({e})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path.name}: its manifest is not a JSON object")
    try:
        f = open_regular(path)
    except OSError as e:
        raise ValueError(describe_os_error(path.name, e)) from None
    with f:
        view = FileView(f)
        # A write stopped between the manifest and the .eqx: the "previous" entry may describe the
        # file (lerax_tui.core.pairs). Sizes and structure first; the digest picks the entry last.
        fitting = fitting_entries(view, manifest)
        if not fitting:
            raise ValueError(f"{path.name}: " + "; ".join(size_problems(view, own_entry(manifest))))
        if fitting[0][0].get("kind") != kind:
            raise ValueError(f"{path.name}: manifest kind {fitting[0][0].get('kind')!r}, expected {kind!r}")
        if view[:FINGERPRINT_BYTES] != lerax_tui_fingerprint(skeleton):
            raise ValueError(
                f"{path.name}: structural fingerprint mismatch (the state was saved with another configuration)"
            )
        check_records(view, skeleton, name=path.name)  # the size is the skeleton's before a payload byte is read
        data = view.read_all()
    entry, _ = pick_by_digest(fitting, sha256_from(data, FINGERPRINT_BYTES), own_entry(manifest))
    problems = [] if entry is not None else digest_problems(data, own_entry(manifest))
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    return eqx.tree_deserialise_leaves(io.BytesIO(memoryview(data)[FINGERPRINT_BYTES:]), skeleton)


# --- reading policies ----------------------------------------------------------------------------


def read_policy(cls: Any, path: str | Path, *args: Any, **kwargs: Any) -> Any:
    """The seed's ``deserialize``: rebuild the skeleton from constructor arguments, verify, load.

    Only the fingerprint and the record headers are read before the file's size is known to be the
    skeleton's; then the payload.

    Raises:
        ValueError: Fingerprint mismatch (lerax's message), or a damaged file.
        FileNotFoundError: If the file does not exist.
    """
    import equinox as eqx

    from lerax_tui.core.safe_io import FileView, open_regular

    path = eqx_path(path)
    skeleton = eqx.filter_eval_shape(cls, *args, **kwargs)
    with open_regular(path) as f:
        data = FileView(f)
        if len(data) < FINGERPRINT_BYTES:
            raise ValueError(
                f"{path} is truncated: {len(data)} bytes, shorter than the {FINGERPRINT_BYTES}-byte fingerprint"
            )
        if match_fingerprint(data[:FINGERPRINT_BYTES], skeleton) is None:
            raise ValueError(
                f"Structural fingerprint mismatch loading {path}: the constructor arguments produce a "
                "different skeleton than the one that was serialized."
            )
        check_records(data, skeleton, name=str(path))
        payload = data[FINGERPRINT_BYTES:]
    return eqx.tree_deserialise_leaves(io.BytesIO(payload), skeleton)


def check_records(data: bytes | FileView, skeleton: Any, *, name: str) -> None:
    """Every record's shape and dtype must be the skeleton's, and nothing may follow the last.

    Raises:
        ValueError: naming the first record that differs, or the truncation / trailing bytes.
    """
    want = expected_leaves(skeleton)
    try:
        records = scan_records(data, limit=len(want))
    except RecordError as e:
        raise ValueError(f"{name}: {'truncated' if e.truncated else 'corrupt'}: {e}") from None
    if len(records) < len(want):
        raise ValueError(f"{name}: truncated: {len(records)} of {len(want)} leaf records present")
    for rec, (leaf, shape, dtype) in zip(records, want):
        if rec.shape != shape or rec.dtype != dtype:
            raise ValueError(
                f"{name}: corrupt: record {leaf} is {rec.shape} {rec.dtype}, the structure needs {shape} {dtype}"
            )
    if records and records[-1].end != len(data):
        raise ValueError(f"{name}: corrupt: {len(data) - records[-1].end} trailing bytes after the last record")
