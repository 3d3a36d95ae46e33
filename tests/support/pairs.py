"""Checkpoint-shaped payloads for the pair-writing tests (also imported by their killed child process)."""

from __future__ import annotations

import hashlib


def payload(version: int) -> tuple[bytes, dict]:
    """Checkpoint-shaped bytes (32-byte fingerprint + payload) and the manifest entry for them."""
    fingerprint = hashlib.sha256(b"structure").digest()
    body = bytes([version % 251]) * (1000 + version)
    entry = {
        "format": "lerax-tui-checkpoint",
        "kind": "train-state",
        "fingerprint": fingerprint.hex(),
        "payload_bytes": len(body),
        "payload_sha256": hashlib.sha256(body).hexdigest(),
        "step": version * 100,
    }
    return fingerprint + body, entry
