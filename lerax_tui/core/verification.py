"""``verify``: what a checkpoint file is, whether it is intact, and whether it matches what you
would build — decided before any array is read — plus ``load_checkpoint`` that only loads on "ok".

Statuses (:class:`Status`, README "Checkpoint files"): ok, fingerprint-mismatch, corrupt, truncated,
not-a-checkpoint, missing, unknown-structure.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerax_tui.core.checkpoint import (
    POLICY_DEFAULTS,
    POLICY_KEYS,
    CheckpointError,
    digest_problems,
    eqx_path,
    fitting_entries,
    own_entry,
    pick_by_digest,
    size_problems,
)
from lerax_tui.core.fingerprint import FINGERPRINT_BYTES, Record, RecordError, expected_leaves, match_fingerprint, scan_records
from lerax_tui.core.safe_io import FileView, NotRegularFile, describe_os_error, open_regular, sha256_from
from lerax_tui.core.schema import policy_hyperparameter_problem, read_manifest

STATUSES = ("ok", "fingerprint-mismatch", "corrupt", "truncated", "not-a-checkpoint", "missing", "unknown-structure")


@dataclass
class Report:
    """The result of :func:`verify`. ``to_json`` gives the ``inspect --json`` object."""

    path: str
    status: str = "ok"
    fingerprint_kind: str | None = None
    fingerprint: str | None = None
    manifest: dict | None = None
    problems: list[str] = field(default_factory=list)
    env_id: str | None = None
    hyperparameters: dict | None = None
    inferred: bool = False
    file_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def fail(self, status: str, *problems: str) -> "Report":
        self.status = status
        self.problems.extend(problems)
        return self

    def summary(self) -> str:
        name = Path(self.path).name
        if self.ok:
            return f"{name}: ok ({describe_kind(self.fingerprint_kind)})"
        return f"{name}: {self.status}" + (": " + "; ".join(self.problems) if self.problems else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "fingerprint_kind": self.fingerprint_kind,
            "fingerprint": self.fingerprint,
            "manifest": self.manifest,
            "problems": list(self.problems),
            "env_id": self.env_id,
            "hyperparameters": self.hyperparameters,
            "inferred": self.inferred,
            "file_bytes": self.file_bytes,
        }


def describe_kind(kind: str | None) -> str:
    """``lerax-tui fingerprint``, ``lerax fingerprint``, or ``lerax 0.0.5 layout, no fingerprint``."""
    if kind == "lerax-0.0.5":
        return "lerax 0.0.5 layout, no fingerprint"
    return f"{kind} fingerprint"


# --- skeletons -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _skeleton_cached(env_id: str, env_params_json: str, epsilon: float, width_size: int, depth: int) -> Any:
    import equinox as eqx
    import jax

    from lerax_tui.core.env import make_env, non_default_params
    from lerax_tui.core.policy import MLPQPolicy

    env = make_env(env_id, **non_default_params(env_id, json.loads(env_params_json)))
    return eqx.filter_eval_shape(
        MLPQPolicy, env, epsilon=epsilon, width_size=width_size, depth=depth, key=jax.random.key(0)
    )


def build_skeleton(env_id: str, hyperparameters: dict, env_params: dict | None = None) -> Any:
    """The ``MLPQPolicy`` skeleton (shapes only, nothing allocated) for an env and hyperparameters.

    Raises:
        EnvError: unknown / unbuildable env or bad env parameter.
        ValueError: the env's action space is not Discrete.
    """
    hp = {**POLICY_DEFAULTS, **{k: v for k, v in hyperparameters.items() if k in POLICY_KEYS and v is not None}}
    return _skeleton_cached(
        env_id, json.dumps(env_params or {}, sort_keys=True), float(hp["epsilon"]), int(hp["width_size"]), int(hp["depth"])
    )


def infer_from_records(records: list[Record]) -> dict | None:
    """Read an MLPQPolicy's structure off its record headers (no array data is read).

    Returns:
        ``{"observation_shape", "num_actions", "width_size", "depth"}``, or None when the records do
        not have an MLPQPolicy's layout (low, high, epsilon, then weight/bias pairs).
    """
    if len(records) < 5 or (len(records) - 3) % 2:
        return None
    low, high, eps, *layers = records
    if low.shape != high.shape or eps.shape != () or low.dtype != high.dtype:
        return None
    pairs = list(zip(layers[::2], layers[1::2]))
    in_size = math.prod(low.shape)
    for w, b in pairs:
        if len(w.shape) != 2 or b.shape != (w.shape[0],) or w.shape[1] != in_size:
            return None
        in_size = w.shape[0]
    depth = len(pairs) - 1
    return {
        "observation_shape": list(low.shape),
        "num_actions": pairs[-1][0].shape[0],
        "width_size": pairs[0][0].shape[0] if depth > 0 else None,
        "depth": depth,
    }


def _candidate_envs(inferred: dict) -> list[str]:
    from lerax_tui.core.env import catalogue

    return [
        e.env_id
        for e in catalogue()
        if e.supported and list(e.observation_shape or ()) == inferred["observation_shape"] and e.num_actions == inferred["num_actions"]
    ]


def _bounds_match(data: bytes, records: list[Record], skeleton: Any, env_id: str) -> bool:
    """Do the file's Box bounds equal ``env_id``'s? Only called after the fingerprint matched."""
    import numpy as np

    from lerax_tui.core.env import make_env

    env = make_env(env_id)
    got = [np.load(io.BytesIO(data[r.offset : r.end]), allow_pickle=False) for r in records[:2]]
    return bool(np.array_equal(got[0], np.asarray(env.observation_space.low)) and np.array_equal(got[1], np.asarray(env.observation_space.high)))


def _differences(file_side: dict, requested: dict) -> list[str]:
    out = []
    for key in ("env_id", "width_size", "depth", "observation_shape", "num_actions"):
        a, b = file_side.get(key), requested.get(key)
        if a is not None and b is not None and a != b:
            out.append(f"{key}: file {a}, requested {b}")
    return out


def _structure_of(env_id: str, hp: dict) -> dict:
    """What would be built, in the same terms as :func:`infer_from_records`."""
    from lerax_tui.core.env import catalogue

    info = next((e for e in catalogue() if e.env_id == env_id), None)
    return {
        "env_id": env_id,
        "width_size": hp.get("width_size"),
        "depth": hp.get("depth"),
        "observation_shape": list(info.observation_shape) if info and info.observation_shape is not None else None,
        "num_actions": info.num_actions if info else None,
    }


# --- verify --------------------------------------------------------------------------------------


def verify(
    path: str | Path,
    *,
    env_id: str | None = None,
    overrides: dict | None = None,
    data: bytes | None = None,
) -> Report:
    """Check a checkpoint before loading anything from it.

    Args:
        path: The ``.eqx`` file.
        env_id: The environment you mean to build for (default: the manifest's, or inferred).
        overrides: Policy hyperparameters you mean to build with (``width_size``, ``depth``,
            ``epsilon``); other keys are ignored. Default: the manifest's, or read off the records.
        data: The file's bytes, when the caller already read them.

    Returns:
        A :class:`Report`; ``report.ok`` means :func:`load_checkpoint` will load it.
    """
    path = Path(path)
    report = Report(path=str(path))
    if data is None:
        try:
            f = open_regular(path)  # a FIFO, device or folder is refused before it is opened
        except OSError as e:
            return unreadable(report, path, e)
        with f:
            return _verify(path, report, FileView(f), env_id, overrides)
    return _verify(path, report, data, env_id, overrides)


def unreadable(report: Report, path: Path, error: OSError) -> Report:
    """The report for a path that cannot be opened as a regular file."""
    if isinstance(error, NotRegularFile):
        return report.fail("not-a-checkpoint", describe_os_error(path, error))
    return report.fail("missing", describe_os_error(path, error))


def _verify(path: Path, report: Report, data: Any, env_id: str | None, overrides: dict | None) -> Report:
    """:func:`verify` on ``data``: ``bytes``, or a :class:`FileView` read only where looked at. The
    payload is hashed last, once its size is the one its records and the structure declare."""
    report.file_bytes = len(data)
    if not data:
        return report.fail("not-a-checkpoint", "empty file (0 bytes)")
    from lerax_tui.core import lerax05

    if lerax05.is_unfingerprinted(data):  # lerax 0.0.5 writes no fingerprint: records from byte 0
        return lerax05.verify_v005(path, data, report, env_id=env_id, overrides=overrides)
    if len(data) < FINGERPRINT_BYTES:
        return report.fail("truncated", f"{len(data)} bytes: shorter than the {FINGERPRINT_BYTES}-byte fingerprint")
    stored = data[:FINGERPRINT_BYTES]
    report.fingerprint = stored.hex()

    manifest = _read_manifest(path, report)
    if report.status != "ok":
        return report
    if manifest is not None:
        # A write stopped between the manifest and the .eqx: its "previous" entry may describe the
        # file on disk (lerax_tui.core.pairs). Entries are matched by size and fingerprint now, by
        # digest last, once the structure has bounded what hashing the payload costs.
        current = own_entry(manifest)
        fitting = fitting_entries(data, manifest)
        problems = [] if fitting else size_problems(data, current)
        manifest = report.manifest = fitting[0][0] if fitting else current
        if problems:
            return report.fail("truncated" if problems[0].startswith("truncated") else "corrupt", *problems)

    # Record headers: cheap, and they tell truncation from garbage even without a manifest.
    try:
        records = scan_records(data)
    except RecordError as e:
        if e.truncated:
            return report.fail("truncated", str(e))
        if e.offset == FINGERPRINT_BYTES:
            return report.fail("not-a-checkpoint", f"no Equinox leaf records after the fingerprint ({e})")
        return report.fail("corrupt", str(e))
    if not records:
        return report.fail("truncated", "the fingerprint is there but no leaf records follow it")
    inferred = infer_from_records(records)
    if inferred is not None and manifest is None:
        for name in ("width_size", "depth"):
            problem = inferred[name] is not None and policy_hyperparameter_problem(name, inferred[name])
            if problem:  # e.g. headers declaring a 10**6-wide layer: never built, never read
                return report.fail("unknown-structure", f"the record headers declare {problem}: not a policy this app builds")

    # What the file is (manifest first, else read off the headers) and what the caller wants.
    if manifest is not None:
        file_hp = {k: manifest.get("hyperparameters", {}).get(k) for k in POLICY_KEYS}
        file_env = manifest.get("env_id")
        file_side = None  # built only on a mismatch: it needs the catalogue (seconds, once)
    elif inferred is not None:
        file_hp = {"width_size": inferred["width_size"], "depth": inferred["depth"], "epsilon": None}
        file_env = None
        file_side = {**inferred}
    else:
        return report.fail(
            "unknown-structure",
            f"no manifest, and the {len(records)} records do not have an MLPQPolicy's layout (low, high, epsilon, weight/bias pairs)",
        )
    requested_hp = {**{k: v for k, v in file_hp.items() if v is not None}, **{k: v for k, v in (overrides or {}).items() if k in POLICY_KEYS}}
    if requested_hp.get("width_size") is None and inferred is not None and inferred["depth"] == 0:
        requested_hp["width_size"] = POLICY_DEFAULTS["width_size"]  # irrelevant at depth 0
    candidates = [env_id] if env_id else ([file_env] if file_env else _candidate_envs(inferred or {}))
    if not candidates:
        return report.fail(
            "unknown-structure",
            f"no manifest, and no supported environment has observation shape {inferred['observation_shape']} "
            f"with {inferred['num_actions']} actions: pass --env",
        )

    report.hyperparameters = {**POLICY_DEFAULTS, **requested_hp}
    report.inferred = manifest is None and env_id is None
    matches: list[tuple[str, str, Any]] = []
    build_errors: list[str] = []
    for candidate in candidates:
        try:
            skeleton = build_skeleton(candidate, requested_hp, manifest.get("env_params") if manifest and candidate == file_env else None)
        except ValueError as e:  # EnvError or a non-Discrete action space
            build_errors.append(f"{candidate}: {e}")
            continue
        kind = match_fingerprint(stored, skeleton)
        if kind is not None:
            matches.append((candidate, kind, skeleton))

    if not matches:
        report.env_id = candidates[0] if len(candidates) == 1 else None
        if build_errors and len(build_errors) == len(candidates):
            return report.fail("fingerprint-mismatch" if env_id else "unknown-structure", *build_errors)
        if manifest is not None and not overrides and not env_id:
            # The manifest's own description does not rebuild the stored structure: it lies.
            diffs = _differences({**(inferred or {})}, _structure_of(file_env, requested_hp)) if file_env else []
            return report.fail(
                "corrupt",
                "the manifest does not describe the file: building from its hyperparameters gives another fingerprint",
                *[d.replace("requested", "manifest") for d in diffs],
            )
        want = _structure_of(candidates[0], requested_hp) if len(candidates) == 1 else dict(requested_hp)
        if file_side is None:
            file_side = _structure_of(file_env, file_hp) if file_env else {**file_hp}
        diffs = _differences(file_side, want)
        if inferred is not None and manifest is not None:
            diffs = diffs or _differences(inferred, want)
        return report.fail(
            "fingerprint-mismatch",
            *(diffs or ["the structure you asked for differs from the file's (same sizes, other classes or activations)"]),
        )

    if len(matches) > 1 and manifest is None:
        by_bounds = [m for m in matches if _bounds_match(data, records, m[2], m[0])]
        matches = by_bounds or matches
        if len(matches) > 1:
            report.problems.append(
                f"the structure fits {', '.join(m[0] for m in matches)}; assuming {matches[0][0]} (pass --env to choose)"
            )
    report.env_id, report.fingerprint_kind, skeleton = matches[0]
    want = expected_leaves(skeleton)
    if len(records) != len(want):
        extra = len(records) - len(want)
        what = f"{extra} extra records after the policy's {len(want)}" if extra > 0 else f"{-extra} records missing"
        return report.fail("corrupt" if extra > 0 else "truncated", what)
    for rec, (leaf, shape, dtype) in zip(records, want):
        if rec.shape != shape or rec.dtype != dtype:
            return report.fail("corrupt", f"record {leaf} is {rec.shape} {rec.dtype}, the structure needs {shape} {dtype}")
    if manifest is None:
        report.problems.append("no manifest: array bytes cannot be checked against a digest (structure and sizes verified)")
    else:
        entry, note = pick_by_digest(fitting, sha256_from(data, FINGERPRINT_BYTES), current)
        if entry is None:
            return report.fail("corrupt", *digest_problems(data, current))
        report.manifest = entry
        if note:
            report.problems.append(note)
    return report


def _read_manifest(path: Path, report: Report) -> dict | None:
    manifest, status, problems = read_manifest(path)
    if status is not None:
        report.fail(status, *problems)
    elif manifest is not None:
        report.manifest = manifest
    return manifest


def load_checkpoint(path: str | Path, *, env_id: str | None = None, overrides: dict | None = None) -> tuple[Any, Report]:
    """Verify, then load. The file is read once; the bytes verified are the bytes loaded.

    Args:
        path: The ``.eqx`` file (``.eqx`` appended when missing).
        env_id: The environment to build for (default: the manifest's or inferred).
        overrides: Policy hyperparameters (default: the manifest's or read off the records).

    Returns:
        ``(policy, report)`` with ``report.ok``.

    Raises:
        CheckpointError: for any status but ok; ``err.report`` explains.
    """
    path = checkpoint_arg(path)
    try:
        f = open_regular(path)
    except OSError as e:
        raise CheckpointError(unreadable(Report(path=str(path)), path, e)) from None
    with f:
        view = FileView(f)
        report = verify(path, env_id=env_id, overrides=overrides, data=view)
        if not report.ok:
            raise CheckpointError(report)
        data = view.read_all()  # its size is now the one the verified structure declares
    if report.manifest is not None and digest_problems(data, report.manifest):
        raise CheckpointError(report.fail("corrupt", "the file changed while it was being loaded"))
    return decode_policy(data, report), report


def decode_policy(data: bytes, report: Report) -> Any:
    """The policy in ``data``, which :func:`verify` has passed (``report.ok``), in any layout."""
    import equinox as eqx

    env_params = report.manifest.get("env_params") if report.manifest and report.env_id == report.manifest.get("env_id") else None
    skeleton = build_skeleton(report.env_id, report.hyperparameters or {}, env_params)
    if report.fingerprint_kind == "lerax-0.0.5":
        from lerax_tui.core import lerax05

        return lerax05.decode(data, skeleton, lerax05.lead_of(data))
    return eqx.tree_deserialise_leaves(io.BytesIO(memoryview(data)[FINGERPRINT_BYTES:]), skeleton)


def checkpoint_arg(path: str | Path) -> Path:
    """The file a command-line CHECKPOINT names: the path itself when something is there (a folder
    is then reported as a folder), else the path with ``.eqx`` appended when that exists."""
    path = Path(path)
    if os.path.lexists(path) or path.suffix == ".eqx":
        return path
    with_suffix = eqx_path(path)
    return with_suffix if os.path.lexists(with_suffix) else path
