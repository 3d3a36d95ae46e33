"""Structural fingerprints and a safe reader of the leaf records that follow them.

Two fingerprints exist:

* ``lerax-tui`` (ours): sha256 over a canonical, versioned text that *we* define — the class of
  every module, every static field's value, and every leaf's path, kind, shape and dtype. It never
  uses ``repr`` of JAX or Equinox internals, memory addresses or anything process-specific.
* ``lerax`` (legacy, read-only compatibility): sha256 of ``repr(jax.tree.structure(tree))``, which
  is what lerax itself writes.

The records after the fingerprint are NumPy ``.npy`` records (``equinox.tree_serialise_leaves``).
``scan_records`` walks their headers without reading array data and without unpickling.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lerax_tui.core.safe_io import FileView

FINGERPRINT_BYTES = 32
_MAGIC = b"\x93NUMPY"
# NumPy refuses .npy headers over 10,000 bytes (``max_header_size``): a header never needs more.
_HEADER_WINDOW = 12 + 10_000
STRUCTURE_VERSION = "lerax-tui-structure/1"


# --- canonical structure description -------------------------------------------------------------


def _canonical_static(value: Any) -> str:
    """A stable text for a static field's value (hyperparameters are ints, bools, strs, tuples)."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_canonical_static(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if callable(value):
        return f"fn:{getattr(value, '__name__', type(value).__name__)}"
    # Anything else static (e.g. a gymnax env object): its type name only, never its repr.
    return f"obj:{type(value).__name__}"


def _is_array(x: Any) -> bool:
    import jax

    return isinstance(x, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))


def _array_dtype(x: Any) -> str:
    import jax

    dtype = x.dtype
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return "prng_key"
    return np.dtype(dtype).name


# Static fields of foreign modules that are hyperparameters. Anything else static inside Equinox's
# modules is an implementation detail (e.g. MLP.scan, added in 0.13) and must not change our
# fingerprint when Equinox changes; array leaves are always described in full.
_FOREIGN_HYPERPARAMETERS = {
    ("equinox.nn", "MLP"): ("in_size", "out_size", "width_size", "depth", "use_bias", "use_final_bias"),
    ("equinox.nn", "Linear"): ("in_features", "out_features", "use_bias"),
}


def _described_statics(module: Any) -> tuple[str, ...] | None:
    """Which static fields of ``module`` are structure: all of ours (None), a fixed list for known
    Equinox layers, none for other foreign modules."""
    cls = type(module)
    if cls.__module__.startswith("lerax_tui"):
        return None
    for (_mod, name), keep in _FOREIGN_HYPERPARAMETERS.items():
        if cls.__name__ == name and cls.__module__.startswith("equinox"):
            return keep
    return ()


def describe_structure(tree: Any) -> list[str]:
    """The canonical description our fingerprint hashes: one line per node.

    Args:
        tree: A pytree (typically an Equinox module, real or built with ``filter_eval_shape``).

    Returns:
        Lines such as ``.q_network.layers[0].weight: array (64, 4) float32``.
    """
    import equinox as eqx

    lines = [STRUCTURE_VERSION]

    def walk(node: Any, path: str) -> None:
        where = path or "<root>"
        if isinstance(node, eqx.Module):
            lines.append(f"{where}: module {type(node).__name__}")
            hyper = _described_statics(node)
            for f in dataclasses.fields(node):
                value = getattr(node, f.name, None)
                if f.metadata.get("static", False):
                    if hyper is None or f.name in hyper:
                        lines.append(f"{path}.{f.name}: static {_canonical_static(value)}")
                else:
                    walk(value, f"{path}.{f.name}")
        elif _is_array(node):
            lines.append(f"{where}: array {tuple(int(s) for s in node.shape)} {_array_dtype(node)}")
        elif isinstance(node, bool):
            lines.append(f"{where}: pybool")
        elif isinstance(node, (int, float, complex)):
            # Python scalars are leaves (epsilon): their kind is structure, their value is data.
            lines.append(f"{where}: py{type(node).__name__}")
        elif node is None:
            lines.append(f"{where}: none")
        elif isinstance(node, tuple) and hasattr(node, "_fields"):  # NamedTuple (optax states)
            lines.append(f"{where}: namedtuple {type(node).__name__} {len(node)}")
            for name, child in zip(node._fields, node):
                walk(child, f"{path}.{name}")
        elif isinstance(node, (tuple, list)):
            lines.append(f"{where}: {type(node).__name__} {len(node)}")
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")
        elif isinstance(node, dict):
            lines.append(f"{where}: dict {len(node)}")
            for k in sorted(node, key=str):
                walk(node[k], f"{path}[{k!r}]")
        elif callable(node):
            lines.append(f"{where}: fn {getattr(node, '__name__', type(node).__name__)}")
        elif dataclasses.is_dataclass(node):  # e.g. flax struct dataclasses (gymnax EnvParams)
            lines.append(f"{where}: dataclass {type(node).__name__}")
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name), f"{path}.{f.name}")
        else:
            lines.append(f"{where}: leaf {type(node).__name__}")

    walk(tree, "")
    return lines


def lerax_tui_fingerprint(tree: Any) -> bytes:
    """Our 32-byte fingerprint: sha256 of :func:`describe_structure` joined by newlines."""
    return hashlib.sha256("\n".join(describe_structure(tree)).encode("utf-8")).digest()


def lerax_fingerprint(tree: Any) -> bytes:
    """lerax's own 32-byte fingerprint: sha256 of ``repr(jax.tree.structure(tree))``."""
    import jax

    return hashlib.sha256(repr(jax.tree.structure(tree)).encode("utf-8")).digest()


def match_fingerprint(stored: bytes, skeleton: Any) -> str | None:
    """Which fingerprint of ``skeleton`` ``stored`` equals: ``"lerax-tui"``, ``"lerax"`` or None."""
    if stored == lerax_tui_fingerprint(skeleton):
        return "lerax-tui"
    if stored == lerax_fingerprint(skeleton):
        return "lerax"
    return None


# --- leaf records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One ``.npy`` record: where it starts, its header, and where its data ends."""

    offset: int
    shape: tuple[int, ...]
    dtype: str
    data_offset: int
    end: int


class RecordError(ValueError):
    """The bytes after the fingerprint are not a well-formed sequence of records."""

    def __init__(self, message: str, *, truncated: bool = False, offset: int = 0):
        super().__init__(message)
        self.truncated = truncated
        self.offset = offset


def scan_records(data: bytes | FileView, start: int = FINGERPRINT_BYTES, limit: int | None = None) -> list[Record]:
    """Walk ``.npy`` record headers from ``start`` to the end of ``data`` (or ``limit`` records).

    Headers are parsed with NumPy's own safe header reader (``ast.literal_eval``); array bytes are
    skipped, never decoded; object dtypes (which would need pickle) are refused.

    Raises:
        RecordError: with ``truncated=True`` when the data ends inside a record, else for a bad
            magic string, a malformed header or an object dtype.
    """
    from numpy.lib import format as npy

    records: list[Record] = []
    pos = start
    size = len(data)
    while pos < size and (limit is None or len(records) < limit):
        # Only a header's worth is sliced out: ``data`` may be a FileView over a huge file.
        window = data[pos : pos + _HEADER_WINDOW]
        buf = io.BytesIO(window)
        head = window[: len(_MAGIC)]
        if not _MAGIC.startswith(head):  # a short head that begins like a record is a truncation
            raise RecordError(f"record {len(records)} at byte {pos}: not a NumPy record (bad magic)", offset=pos)
        if size - pos < 10:
            raise RecordError(
                f"record {len(records)} at byte {pos}: only {size - pos} bytes left", truncated=True, offset=pos
            )
        try:
            version = npy.read_magic(buf)
        except ValueError:
            raise RecordError(
                f"record {len(records)} at byte {pos}: not a NumPy record (bad magic)", offset=pos
            ) from None
        try:
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(buf)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(buf)
            else:
                raise RecordError(
                    f"record {len(records)} at byte {pos}: unsupported .npy version {version}", offset=pos
                )
        except RecordError:
            raise
        except Exception as e:  # header shorter than announced, or not a valid literal
            truncated = buf.tell() >= len(window) and pos + len(window) >= size
            raise RecordError(
                f"record {len(records)} at byte {pos}: unreadable header ({e})", truncated=truncated, offset=pos
            ) from None
        if dtype.hasobject:
            raise RecordError(
                f"record {len(records)} at byte {pos}: object dtype refused (would need pickle)", offset=pos
            )
        if fortran:
            raise RecordError(
                f"record {len(records)} at byte {pos}: Fortran-order record (never written by us or lerax)", offset=pos
            )
        data_offset = pos + buf.tell()
        end = data_offset + math.prod(shape) * dtype.itemsize
        if end > size:
            raise RecordError(
                f"record {len(records)} at byte {pos}: needs {end - data_offset} data bytes, only {size - data_offset} left",
                truncated=True,
                offset=pos,
            )
        records.append(Record(pos, tuple(int(s) for s in shape), dtype.name, data_offset, end))
        pos = end
    return records


def expected_leaves(skeleton: Any) -> list[tuple[str, tuple[int, ...], str]]:
    """(path, shape, dtype) of each leaf ``equinox.tree_serialise_leaves`` writes, in order."""
    import jax

    out = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(skeleton)[0]:
        name = jax.tree_util.keystr(path).lstrip(".")
        if _is_array(leaf):
            out.append((name, tuple(int(s) for s in leaf.shape), np.dtype(leaf.dtype).name))
        elif isinstance(leaf, bool):
            out.append((name, (), "bool"))
        elif isinstance(leaf, int):
            out.append((name, (), "int64"))
        elif isinstance(leaf, float):
            out.append((name, (), "float64"))
        elif isinstance(leaf, complex):
            out.append((name, (), "complex128"))
    return out
