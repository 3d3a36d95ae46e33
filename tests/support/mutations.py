"""Mutations of checkpoint files, shared by the fuzz test and ``bench/fuzz_checkpoints.py``.

Each mutation returns new (eqx bytes, manifest text) and the set of statuses a correct verifier may
give. "ok" is only acceptable when the mutation left the bytes a policy is loaded from unchanged.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

Mutation = Callable[[bytes, str | None, random.Random], tuple[bytes, str | None, set[str]]]
BAD = {"corrupt", "truncated", "not-a-checkpoint", "fingerprint-mismatch", "unknown-structure"}


def truncate(data, manifest, rng):
    cut = rng.randrange(0, len(data))
    return data[:cut], manifest, {"truncated", "not-a-checkpoint", "corrupt"}


def flip_byte(data, manifest, rng):
    i = rng.randrange(0, len(data))
    out = bytearray(data)
    out[i] ^= rng.randrange(1, 256)
    if manifest is None and (i >= 32 or data.startswith(b"\x93NUMPY")):
        # Without a digest a flipped array byte is undetectable; a flipped fingerprint byte is not.
        # A lerax 0.0.5 file has no fingerprint: its first bytes are a record header, where a flip
        # can keep the meaning ('<i4' -> '=i4' is the same int32 on this machine).
        return bytes(out), manifest, BAD | {"ok"}
    return bytes(out), manifest, BAD


def insert_bytes(data, manifest, rng):
    i = rng.randrange(0, len(data) + 1)
    blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    return data[:i] + blob + data[i:], manifest, BAD


def append_garbage(data, manifest, rng):
    blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 256)))
    return data + blob, manifest, BAD


def delete_span(data, manifest, rng):
    i = rng.randrange(0, len(data))
    j = min(len(data), i + rng.randrange(1, 128))
    return data[:i] + data[j:], manifest, BAD


def edit_header(data, manifest, rng):
    """Change a shape or dtype inside one .npy header (the text after a magic string)."""
    starts = [i for i in range(len(data)) if data.startswith(b"\x93NUMPY", i)]
    if not starts:
        return flip_byte(data, manifest, rng)
    s = rng.choice(starts)
    header_end = data.index(b"\n", s)
    text = data[s:header_end]
    for old, new in (
        (b"<f4", b"<f8"),
        (b"<f4", b"<i4"),
        (b"(64,", b"(65,"),
        (b"(4,)", b"(5,)"),
        (b"'fortran_order': False", b"'fortran_order': True "),
    ):
        if old in text:
            text = text.replace(old, new, 1)
            break
    else:
        text = text[:-3] + b"}}}"
    return data[:s] + text + data[header_end:], manifest, BAD


def edit_manifest(data, manifest, rng):
    if manifest is None:
        return append_garbage(data, manifest, rng)
    m = json.loads(manifest)
    choice = rng.randrange(5)
    if choice == 0:
        m["hyperparameters"]["width_size"] += rng.choice([-1, 1, 64])
    elif choice == 1:
        m["hyperparameters"]["depth"] += 1
    elif choice == 2:
        m["payload_bytes"] += rng.choice([-1, 1])
    elif choice == 3:
        m["payload_sha256"] = "0" * 64
    else:
        return data, manifest[: rng.randrange(len(manifest))], BAD  # broken JSON
    return data, json.dumps(m), BAD


MUTATIONS: dict[str, Mutation] = {
    "truncate": truncate,
    "flip_byte": flip_byte,
    "insert_bytes": insert_bytes,
    "append_garbage": append_garbage,
    "delete_span": delete_span,
    "edit_header": edit_header,
    "edit_manifest": edit_manifest,
}
