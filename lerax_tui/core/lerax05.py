"""Checkpoints in the layout of lerax 0.0.5 (the release on PyPI): read, verify and write them.

lerax 0.0.5's ``serialize`` is plain ``equinox.tree_serialise_leaves``: no fingerprint, so the file
starts with a ``.npy`` record. ``Discrete.n`` and each ``Box`` dimension are ordinary fields there,
so they are records of their own, before the bounds::

    action_space.n          0-d integer   (int32; int64 when the policy was never through a jit)
    observation_space.shape one 0-d integer per dimension, same dtype
    observation_space.low   float32, the observation shape
    observation_space.high  float32, the observation shape
    epsilon                 0-d float32 (float64 likewise)
    q_network.layers[i]     weight, bias (float32) for each layer

With no fingerprint, nothing in the file says what it is: :func:`verify_v005` checks the structure
record by record (headers, plus the few 0-d integers and epsilon, which are read) against the
``MLPQPolicy`` we would build, infers the environment from the sizes and bounds as for lerax's
manifest-less files, and refuses anything else with the reason.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lerax_tui.core.checkpoint import (
    MANIFEST_FORMAT,
    POLICY_DEFAULTS,
    POLICY_KEYS,
    manifest_path,
)
from lerax_tui.core.fingerprint import (
    Record,
    RecordError,
    expected_leaves,
    scan_records,
)
from lerax_tui.core.report import Report, Status

LAYOUT = "lerax-0.0.5"
NPY_MAGIC = b"\x93NUMPY"
NOTE = "no fingerprint (lerax 0.0.5 layout): structure checked record by record; array bytes cannot be checked against a digest"
_INTS = ("int32", "int64")
_FLOATS = ("float32", "float64")
_MANIFEST_PEEK_BYTES = 1 << 22  # a manifest is a few kB; a bigger NAME.json is not ours


def is_unfingerprinted(data: bytes) -> bool:
    """Does ``data`` start with a ``.npy`` record instead of a 32-byte fingerprint (lerax 0.0.5)?

    A sha256 digest starts with these 6 bytes once in 2**48 files.
    """
    return data[: len(NPY_MAGIC)] == NPY_MAGIC  # bytes or a safe_io.FileView (reads 6 bytes)


@dataclass(frozen=True)
class Layout:
    """What the records of a lerax 0.0.5 ``MLPQPolicy`` file say, before any env is chosen.

    Attributes:
        lead: Integer records before the bounds (``n`` and one per observation dimension).
        num_actions: The stored ``action_space.n``.
        observation_shape: The stored Box shape.
        epsilon: The stored epsilon (as lerax 0.0.5 reads it: the float32 value as a Python float).
        width_size: Hidden width read off the weight shapes (None at depth 0).
        depth: Hidden layers.
    """

    lead: int
    num_actions: int
    observation_shape: tuple[int, ...]
    epsilon: float
    width_size: int | None
    depth: int

    def inferred(self) -> dict[str, Any]:
        """The same keys as ``structure.infer_from_records``."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "width_size": self.width_size,
            "depth": self.depth,
        }


class LayoutProblem(ValueError):
    """The records are not a lerax 0.0.5 ``MLPQPolicy``; ``status`` is verify's word for why."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status = status


def _scalar(data: bytes, record: Record) -> Any:
    """A 0-d record's value (NumPy's own reader: byte order honoured, never pickle)."""
    return np.load(io.BytesIO(data[record.offset : record.end]), allow_pickle=False).item()


def read_layout(data: bytes, records: list[Record]) -> Layout:
    """Read a lerax 0.0.5 ``MLPQPolicy``'s structure off its records (only the 0-d ones are read).

    Raises:
        LayoutProblem: ``unknown-structure`` when the records are laid out otherwise,
            ``truncated`` when a valid start ends early, ``corrupt`` when the stored sizes contradict
            the array shapes.
    """

    def unknown(why: str) -> LayoutProblem:
        return LayoutProblem(
            Status.UNKNOWN_STRUCTURE, f"no fingerprint, and the records are not a lerax 0.0.5 MLPQPolicy: {why}"
        )

    lead = 0
    while lead < len(records) and records[lead].shape == () and records[lead].dtype in _INTS:
        lead += 1
    if lead == 0:
        first = records[0]
        raise unknown(f"record 0 is {first.shape} {first.dtype}; one starts with action_space.n, a 0-d integer")
    if len(records) < lead + 3:
        raise LayoutProblem(
            Status.TRUNCATED,
            f"{len(records)} records end before the Box bounds and epsilon that follow the {lead} integer records",
        )
    low, high, eps = records[lead : lead + 3]
    if low.dtype not in _FLOATS or high.dtype != low.dtype or high.shape != low.shape:
        raise unknown(
            f"records {lead} and {lead + 1} ({low.shape} {low.dtype}, {high.shape} {high.dtype}) are not a Box's low and high"
        )
    if eps.shape != () or eps.dtype not in _FLOATS:
        raise unknown(f"record {lead + 2} ({eps.shape} {eps.dtype}) is not a 0-d float epsilon")
    n = _scalar(data, records[0])
    dims = tuple(_scalar(data, r) for r in records[1:lead])
    if dims != low.shape:
        raise LayoutProblem(Status.CORRUPT, f"the stored Box shape {dims} differs from the bounds' shape {low.shape}")
    if n < 1:
        raise LayoutProblem(Status.CORRUPT, f"the stored action_space.n is {n}: it must be at least 1")
    layers = records[lead + 3 :]
    in_size = math.prod(low.shape)
    for i in range(0, len(layers), 2):
        w = layers[i]
        if len(w.shape) != 2 or w.shape[1] != in_size:
            raise unknown(
                f"record {lead + 3 + i} is {w.shape} {w.dtype}, not the weight of a layer taking {in_size} inputs"
            )
        if i + 1 == len(layers):
            raise LayoutProblem(Status.TRUNCATED, f"the file ends after layer {i // 2}'s weight, before its bias")
        b = layers[i + 1]
        if b.shape != (w.shape[0],):
            raise unknown(
                f"record {lead + 4 + i} is {b.shape} {b.dtype}, not the bias ({w.shape[0]},) of the layer before"
            )
        in_size = w.shape[0]
    if not layers:
        raise LayoutProblem(Status.TRUNCATED, "the file ends after epsilon: no q-network layers")
    if in_size != n:
        if len(layers) > 2 and in_size == layers[0].shape[0]:  # ends on a hidden layer: cut short
            raise LayoutProblem(
                Status.TRUNCATED,
                f"the last layer has {in_size} outputs (a hidden width) and the action space {n} actions: layers are missing at the end",
            )
        raise LayoutProblem(
            Status.CORRUPT, f"the last layer has {in_size} outputs but the stored action space has {n} actions"
        )
    depth = len(layers) // 2 - 1
    return Layout(
        lead=lead,
        num_actions=int(n),
        observation_shape=tuple(int(d) for d in dims),
        epsilon=float(_scalar(data, eps)),
        width_size=layers[0].shape[0] if depth > 0 else None,
        depth=depth,
    )


def fits(records: list[Record], layout: Layout, skeleton: Any) -> str | None:
    """None when the records after the integers are ``skeleton``'s leaves, else the first difference.

    Epsilon may be float32 or float64 (both occur in files lerax 0.0.5 writes); every other record
    must have the skeleton's exact shape and dtype.
    """
    want = expected_leaves(skeleton)
    got = records[layout.lead :]
    if (
        skeleton.action_space.n != layout.num_actions
        or tuple(skeleton.observation_space.shape) != layout.observation_shape
    ):
        return f"the file is for {layout.observation_shape} observations and {layout.num_actions} actions"
    if len(got) != len(want):
        return f"{len(got)} records after the integers, the structure needs {len(want)}"
    for rec, (leaf, shape, dtype) in zip(got, want):
        if leaf == "epsilon":
            continue
        if rec.shape != shape or rec.dtype != dtype:
            return f"record {leaf} is {rec.shape} {rec.dtype}, the structure needs {shape} {dtype}"
    return None


def _our_manifest_beside(path: Path) -> Path | None:
    """``NAME.json`` when it is a lerax-tui manifest (a user's own JSON beside the file is not ours)."""
    from lerax_tui.core.safe_io import load_json

    mpath = manifest_path(path)
    try:
        manifest = load_json(mpath, max_bytes=_MANIFEST_PEEK_BYTES)  # bounded: a FIFO or deep JSON is not ours
    except (OSError, ValueError):
        return None
    return mpath if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def verify_v005(path: Path, data: Any, report: Report, *, env_id: str | None, overrides: dict | None) -> Report:
    """``verify`` for a file without a fingerprint: fills ``report``."""
    from lerax_tui.core import structure as v

    mpath = _our_manifest_beside(path)
    if mpath is not None:
        return report.fail(
            Status.CORRUPT,
            f"{mpath.name} beside it is a lerax-tui manifest, but the file has no fingerprint (lerax 0.0.5 layout): "
            f"the manifest describes another file. Move {mpath.name} away to read this one as a lerax 0.0.5 checkpoint",
        )
    try:
        records = scan_records(data, start=0)
    except RecordError as e:
        return report.fail(Status.TRUNCATED if e.truncated else Status.CORRUPT, str(e))
    try:
        layout = read_layout(data, records)
    except LayoutProblem as e:
        return report.fail(e.status, str(e))
    from lerax_tui.core.schema import policy_hyperparameter_problem

    for name in ("width_size", "depth"):  # headers declaring a network wider than we build: never read
        problem = getattr(layout, name) is not None and policy_hyperparameter_problem(name, getattr(layout, name))
        if problem:
            return report.fail(
                Status.UNKNOWN_STRUCTURE, f"the record headers declare {problem}: not a policy this app builds"
            )
    inferred = layout.inferred()
    requested_hp: dict[str, Any] = {"width_size": layout.width_size, "depth": layout.depth}
    requested_hp.update({k: v for k, v in (overrides or {}).items() if k in POLICY_KEYS and k != "epsilon"})
    if requested_hp["width_size"] is None:
        requested_hp["width_size"] = POLICY_DEFAULTS["width_size"]  # irrelevant at depth 0
    requested_hp["epsilon"] = layout.epsilon  # the stored epsilon wins, as in lerax
    candidates = [env_id] if env_id else v.candidate_envs(inferred)
    report.hyperparameters = dict(requested_hp)
    report.inferred = env_id is None
    if not candidates:
        return report.fail(
            Status.UNKNOWN_STRUCTURE,
            f"no supported environment has observation shape {inferred['observation_shape']} "
            f"with {inferred['num_actions']} actions: pass --env",
        )
    matches, why_not = [], []
    for candidate in candidates:
        try:
            skeleton = v.build_skeleton(candidate, requested_hp)
        except ValueError as e:  # EnvError or a non-Discrete action space
            why_not.append(f"{candidate}: {e}")
            continue
        difference = fits(records, layout, skeleton)
        if difference is None:
            matches.append((candidate, skeleton))
        else:
            why_not.append(difference)
    if not matches:
        report.env_id = candidates[0] if len(candidates) == 1 else None
        want = v.structure_of(candidates[0], requested_hp) if len(candidates) == 1 else dict(requested_hp)
        diffs = v.differences({**inferred, "env_id": None}, want)
        status = Status.FINGERPRINT_MISMATCH if env_id or overrides else Status.UNKNOWN_STRUCTURE
        return report.fail(status, *(diffs or why_not[:1] or ["the records fit no MLPQPolicy we can build"]))
    if len(matches) > 1:
        by_bounds = [m for m in matches if v.bounds_match(data, records[layout.lead :], m[1], m[0])]
        matches = by_bounds or matches
        if len(matches) > 1:
            report.problems.append(
                f"the structure fits {', '.join(m[0] for m in matches)}; assuming {matches[0][0]} (pass --env to choose)"
            )
    report.env_id = matches[0][0]
    report.fingerprint_kind = LAYOUT
    report.problems.append(NOTE)
    return report


def decode(data: bytes, skeleton: Any, lead: int) -> Any:
    """Load a verified lerax 0.0.5 file into ``skeleton`` (our ``MLPQPolicy``).

    The integer records are read and dropped (``n`` and the Box shape are structure here); epsilon
    becomes a Python float, as lerax 0.0.5's own ``deserialize`` makes it.
    """
    import equinox as eqx

    _, policy = eqx.tree_deserialise_leaves(io.BytesIO(data), ((0,) * lead, skeleton))
    return policy


def lead_of(data: bytes) -> int:
    """The number of leading integer records of a verified lerax 0.0.5 file."""
    records = scan_records(data, start=0)
    return read_layout(data, records).lead


def encode(policy: Any) -> bytes:
    """The bytes lerax 0.0.5 writes for ``policy``: int32 ``n`` and Box dimensions, float32 epsilon.

    Re-encoding a policy read from a lerax 0.0.5 file that used these dtypes gives the file's bytes.

    Raises:
        ValueError: when the observation space is not a Box (lerax 0.0.5 would store other fields).
    """
    import equinox as eqx

    from lerax_tui.core.spaces import Box

    if not isinstance(policy.observation_space, Box):
        raise ValueError(
            f"the lerax 0.0.5 layout is written for Box observations, not {type(policy.observation_space).__name__}"
        )
    ints = tuple(np.int32(v) for v in (policy.action_space.n, *policy.observation_space.shape))
    body = eqx.tree_at(lambda p: p.epsilon, policy, np.float32(float(policy.epsilon)))
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, (ints, body))
    return buf.getvalue()
