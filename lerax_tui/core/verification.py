"""``verify``: what a checkpoint file is, whether it is intact, and whether it matches what you
would build — decided before any array is read — plus ``load_checkpoint`` that only loads on "ok".

Statuses (:class:`~lerax_tui.core.report.Status`, README "Checkpoint files"): ok, fingerprint-mismatch,
corrupt, truncated, not-a-checkpoint, missing, unknown-structure. The verdict is reached in steps, one
function each (:func:`_verify_fingerprinted` lists them); a step that refuses the file sets the
report's status and raises :class:`_Refused`, which ends the walk.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, NoReturn

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
from lerax_tui.core.fingerprint import (
    FINGERPRINT_BYTES,
    Record,
    RecordError,
    expected_leaves,
    match_fingerprint,
    scan_records,
)
from lerax_tui.core.manifest import Manifest
from lerax_tui.core.report import Report, Status, describe_kind, unreadable  # noqa: F401 (re-exported)
from lerax_tui.core.safe_io import FileView, open_regular, sha256_from
from lerax_tui.core.schema import policy_hyperparameter_problem, read_manifest
from lerax_tui.core.structure import (
    bounds_match,
    build_skeleton,
    candidate_envs,
    differences,
    infer_from_records,
    structure_of,
)


def verify(
    path: str | Path,
    *,
    env_id: str | None = None,
    overrides: dict | None = None,
    data: bytes | FileView | None = None,
) -> Report:
    """Check a checkpoint before loading anything from it.

    Args:
        path: The ``.eqx`` file.
        env_id: The environment you mean to build for (default: the manifest's, or inferred).
        overrides: Policy hyperparameters you mean to build with (``width_size``, ``depth``,
            ``epsilon``); other keys are ignored. Default: the manifest's, or read off the records.
        data: The file's bytes (or a :class:`FileView` of it), when the caller already opened it.

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


class _Refused(Exception):
    """A step of the verification refused the file (the report already says why)."""


def _refuse(report: Report, status: Status, *problems: str) -> NoReturn:
    report.fail(status, *problems)
    raise _Refused


def _verify(path: Path, report: Report, data: Any, env_id: str | None, overrides: dict | None) -> Report:
    """:func:`verify` on ``data``: ``bytes``, or a :class:`FileView` read only where looked at."""
    report.file_bytes = len(data)
    if not data:
        return report.fail(Status.NOT_A_CHECKPOINT, "empty file (0 bytes)")
    from lerax_tui.core import lerax05

    if lerax05.is_unfingerprinted(data):  # lerax 0.0.5 writes no fingerprint: records from byte 0
        return lerax05.verify_v005(path, data, report, env_id=env_id, overrides=overrides)
    try:
        _verify_fingerprinted(path, report, data, env_id, overrides)
    except _Refused:
        pass
    return report


def _verify_fingerprinted(path: Path, report: Report, data: Any, env_id: str | None, overrides: dict | None) -> None:
    """Our layout and lerax's: a 32-byte fingerprint, then Equinox leaf records. The payload is
    hashed last, once its size is the one its records and the structure declare."""
    if len(data) < FINGERPRINT_BYTES:
        _refuse(report, Status.TRUNCATED, f"{len(data)} bytes: shorter than the {FINGERPRINT_BYTES}-byte fingerprint")
    stored = data[:FINGERPRINT_BYTES]
    report.fingerprint = stored.hex()
    manifest, current, fitting = _manifest_entry(path, report, data)
    records = _records(report, data)
    inferred = infer_from_records(records)
    if inferred is not None and manifest is None:
        _refuse_oversized(report, inferred)
    file_hp, file_env, file_side = _what_the_file_is(report, manifest, inferred, records)
    requested_hp = {
        **{k: v for k, v in file_hp.items() if v is not None},
        **{k: v for k, v in (overrides or {}).items() if k in POLICY_KEYS},
    }
    if requested_hp.get("width_size") is None and inferred is not None and inferred["depth"] == 0:
        requested_hp["width_size"] = POLICY_DEFAULTS["width_size"]  # irrelevant at depth 0
    candidates = [env_id] if env_id else ([file_env] if file_env else (candidate_envs(inferred) if inferred else []))
    if not candidates:
        if inferred is None:  # a manifest without env_id over records that are not a policy's
            _refuse(
                report,
                Status.UNKNOWN_STRUCTURE,
                f"the manifest names no environment and the {len(records)} records do not have an MLPQPolicy's layout: pass --env",
            )
        _refuse(
            report,
            Status.UNKNOWN_STRUCTURE,
            f"no manifest, and no supported environment has observation shape {inferred['observation_shape']} "
            f"with {inferred['num_actions']} actions: pass --env",
        )
    report.hyperparameters = {**POLICY_DEFAULTS, **requested_hp}
    report.inferred = manifest is None and env_id is None
    env_params = manifest.env_params if manifest else None
    matches, build_errors = _matching(candidates, requested_hp, stored, file_env, env_params)
    if not matches:
        report.env_id = candidates[0] if len(candidates) == 1 else None
        if build_errors and len(build_errors) == len(candidates):
            _refuse(report, Status.FINGERPRINT_MISMATCH if env_id else Status.UNKNOWN_STRUCTURE, *build_errors)
        _refuse_mismatch(
            report,
            manifest,
            inferred,
            file_env,
            file_hp,
            file_side,
            candidates,
            requested_hp,
            asked=bool(overrides or env_id),
        )
    skeleton = _choose(report, matches, manifest, data, records)
    _check_records(report, records, skeleton)
    _check_payload(report, data, manifest, fitting, current)


def _manifest_entry(path: Path, report: Report, data: Any) -> tuple[Manifest | None, dict | None, list]:
    """The manifest entry that fits the file's size and fingerprint: ``(entry, own entry, fitting)``.

    A write stopped between the manifest and the .eqx leaves a "previous" entry that may describe the
    file on disk (``lerax_tui.core.pairs``). Entries are matched by size and fingerprint here, by
    digest last (:func:`_check_payload`), once the structure has bounded what hashing costs.
    """
    manifest, status, problems = read_manifest(path)
    if status is not None:
        _refuse(report, Status(status), *problems)
    if manifest is None:
        return None, None, []
    current = own_entry(manifest)
    fitting = fitting_entries(data, manifest)
    report.manifest = Manifest.of(fitting[0][0] if fitting else current)
    if not fitting:
        problems = size_problems(data, current)
        if problems:
            _refuse(report, Status.TRUNCATED if problems[0].startswith("truncated") else Status.CORRUPT, *problems)
    return report.manifest, current, fitting


def _records(report: Report, data: Any) -> list[Record]:
    """The record headers: cheap, and they tell truncation from garbage even without a manifest."""
    try:
        records = scan_records(data)
    except RecordError as e:
        if e.truncated:
            _refuse(report, Status.TRUNCATED, str(e))
        if e.offset == FINGERPRINT_BYTES:
            _refuse(report, Status.NOT_A_CHECKPOINT, f"no Equinox leaf records after the fingerprint ({e})")
        _refuse(report, Status.CORRUPT, str(e))
    if not records:
        _refuse(report, Status.TRUNCATED, "the fingerprint is there but no leaf records follow it")
    return records


def _refuse_oversized(report: Report, inferred: dict) -> None:
    """Headers declaring e.g. a 10**6-wide layer: never built, never read."""
    for name in ("width_size", "depth"):
        problem = inferred[name] is not None and policy_hyperparameter_problem(name, inferred[name])
        if problem:
            _refuse(
                report, Status.UNKNOWN_STRUCTURE, f"the record headers declare {problem}: not a policy this app builds"
            )


def _what_the_file_is(
    report: Report, manifest: Manifest | None, inferred: dict | None, records: list[Record]
) -> tuple[dict, str | None, dict | None]:
    """``(hyperparameters, env_id, structure)`` the file declares: its manifest's, else read off the
    headers. The structure of a manifest's file is built only on a mismatch (it needs the catalogue)."""
    if manifest is not None:
        return {k: manifest.hyperparameters.get(k) for k in POLICY_KEYS}, manifest.env_id, None
    if inferred is not None:
        return {"width_size": inferred["width_size"], "depth": inferred["depth"], "epsilon": None}, None, {**inferred}
    _refuse(
        report,
        Status.UNKNOWN_STRUCTURE,
        f"no manifest, and the {len(records)} records do not have an MLPQPolicy's layout (low, high, epsilon, weight/bias pairs)",
    )


def _matching(
    candidates: list[str], requested_hp: dict, stored: bytes, file_env: str | None, env_params: dict | None
) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """The candidates whose skeleton has the stored fingerprint, as ``(env_id, kind, skeleton)``, and
    why each candidate that could not be built could not."""
    matches: list[tuple[str, str, Any]] = []
    build_errors: list[str] = []
    for candidate in candidates:
        try:
            skeleton = build_skeleton(candidate, requested_hp, env_params if candidate == file_env else None)
        except ValueError as e:  # EnvError or a non-Discrete action space
            build_errors.append(f"{candidate}: {e}")
            continue
        kind = match_fingerprint(stored, skeleton)
        if kind is not None:
            matches.append((candidate, kind, skeleton))
    return matches, build_errors


def _refuse_mismatch(
    report: Report,
    manifest: dict | None,
    inferred: dict | None,
    file_env: str | None,
    file_hp: dict,
    file_side: dict | None,
    candidates: list[str],
    requested_hp: dict,
    *,
    asked: bool,
) -> NoReturn:
    """No candidate has the stored fingerprint: say which structural keys differ."""
    if manifest is not None and not asked:
        # The manifest's own description does not rebuild the stored structure: it lies.
        diffs = differences({**(inferred or {})}, structure_of(file_env, requested_hp)) if file_env else []
        _refuse(
            report,
            Status.CORRUPT,
            "the manifest does not describe the file: building from its hyperparameters gives another fingerprint",
            *[d.replace("requested", "manifest") for d in diffs],
        )
    want = structure_of(candidates[0], requested_hp) if len(candidates) == 1 else dict(requested_hp)
    if file_side is None:
        file_side = structure_of(file_env, file_hp) if file_env else {**file_hp}
    diffs = differences(file_side, want)
    if inferred is not None and manifest is not None:
        diffs = diffs or differences(inferred, want)
    _refuse(
        report,
        Status.FINGERPRINT_MISMATCH,
        *(diffs or ["the structure you asked for differs from the file's (same sizes, other classes or activations)"]),
    )


def _choose(
    report: Report, matches: list[tuple[str, str, Any]], manifest: dict | None, data: Any, records: list[Record]
) -> Any:
    """The matching env (without a manifest, several envs may share a structure: their Box bounds
    decide, else the first is assumed and the report says so). Returns its skeleton."""
    if len(matches) > 1 and manifest is None:
        by_bounds = [m for m in matches if bounds_match(data, records, m[2], m[0])]
        matches = by_bounds or matches
        if len(matches) > 1:
            report.problems.append(
                f"the structure fits {', '.join(m[0] for m in matches)}; assuming {matches[0][0]} (pass --env to choose)"
            )
    report.env_id, report.fingerprint_kind, skeleton = matches[0]
    return skeleton


def _check_records(report: Report, records: list[Record], skeleton: Any) -> None:
    """Every record has the shape and dtype the structure needs, and there are as many."""
    want = expected_leaves(skeleton)
    if len(records) != len(want):
        extra = len(records) - len(want)
        what = f"{extra} extra records after the policy's {len(want)}" if extra > 0 else f"{-extra} records missing"
        _refuse(report, Status.CORRUPT if extra > 0 else Status.TRUNCATED, what)
    for rec, (leaf, shape, dtype) in zip(records, want):
        if rec.shape != shape or rec.dtype != dtype:
            _refuse(
                report, Status.CORRUPT, f"record {leaf} is {rec.shape} {rec.dtype}, the structure needs {shape} {dtype}"
            )


def _check_payload(report: Report, data: Any, manifest: dict | None, fitting: list, current: dict | None) -> None:
    """The payload's digest against the manifest entries that fit (its size is bounded by now)."""
    if manifest is None or current is None:
        report.problems.append(
            "no manifest: array bytes cannot be checked against a digest (structure and sizes verified)"
        )
        return
    entry, note = pick_by_digest(fitting, sha256_from(data, FINGERPRINT_BYTES), current)
    if entry is None:
        _refuse(report, Status.CORRUPT, *digest_problems(data, current))
    report.manifest = Manifest.of(entry)
    if note:
        report.problems.append(note)


def load_checkpoint(
    path: str | Path, *, env_id: str | None = None, overrides: dict | None = None
) -> tuple[Any, Report]:
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
        raise CheckpointError(report.fail(Status.CORRUPT, "the file changed while it was being loaded"))
    return decode_policy(data, report), report


def decode_policy(data: bytes, report: Report) -> Any:
    """The policy in ``data``, which :func:`verify` has passed (``report.ok``), in any layout."""
    import equinox as eqx

    assert report.env_id is not None, "decode_policy needs a report that verify passed"
    env_params = report.manifest.env_params_for(report.env_id) if report.manifest else None
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
