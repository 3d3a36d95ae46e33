"""One collective per chunk for the distributed runners (``dist_runner.py``, ``dist_sweep.py``).

A chunk's report leaves every process as one small message, gathered once: the episodes that ended
on this process's devices (their positions in the report and their returns and lengths, not the whole
``(iterations, seeds, envs)`` arrays, which are mostly empty), its share of the per-seed fields, and
what the host asks for the next chunk (stop, checkpoint) with the chunk's seconds. Every process
rebuilds the whole report from the messages, to the byte what one process fetches, and reads the
same answers from them: a stop or checkpoint asked on any process before its message left applies
to every process at the next chunk (one asked later, a chunk after); the next chunk's length follows
from the slowest process's seconds, so every process computes the same one without asking.

Measured on the 2-core testbed (``bench/distributed.py``): the former report gather (the whole
arrays through an XLA all-gather) and the separate agreement before each chunk took ~25 ms a chunk;
one message of a few KB takes a few ms.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from lerax_tui.train import schedule

if TYPE_CHECKING:
    from lerax_tui.train.distributed import Cluster
    from lerax_tui.train.dqn import ChunkOutput

DIST_CHUNK_S = 1.0
"""Distributed chunks aim at least at this many seconds: each boundary waits for the slowest process
and exchanges a message, so fewer boundaries cost less; a stop still lands within two chunks."""
_DONE, _EPISODE_VALUES = "episode_done", ("episode_return", "episode_length")
_HEADER = np.dtype([("n", "<i8"), ("stop", "<i8"), ("checkpoint", "<i8"), ("dt", "<f8")])
_START_CAPACITY = 1 << 15


class ChunkExchange:
    """The per-chunk agreement and report of one process (every process calls the same methods in
    the same order): :meth:`agree` before a chunk, :meth:`report` after it."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.capacity = _START_CAPACITY
        """Message bytes one gather carries; grows (on every process alike) when a message is longer."""
        self.dt = 0.0
        """The last chunk's seconds on the slowest process (the same on every process)."""
        self._answers: tuple[bool, bool] | None = None
        self._n = 0
        self._clock = time.perf_counter()

    def agree(self, stop: bool, checkpoint: bool, n: int) -> tuple[bool, bool, int]:
        """Whether to stop, whether to write checkpoints, and the next chunk's iterations.

        After a :meth:`report` the answers are the ones its messages carried and ``n`` is the
        caller's (computed from shared numbers only: :meth:`next_chunk`); otherwise (the first
        chunk, a new sweep program) the processes ask each other, with process 0's ``n``."""
        if self._answers is None:
            asked = self.cluster.stack(np.array([stop, checkpoint, n], np.int64), "agreeing on the next chunk")
            stop, checkpoint, n = bool(asked[:, 0].any()), bool(asked[:, 1].any()), int(asked[0, 2])
        else:
            (stop, checkpoint), self._answers = self._answers, None
        self._n = n
        self.restart_clock()
        return stop, checkpoint, n

    def restart_clock(self) -> None:
        """The next chunk starts now (after checkpoints written between :meth:`agree` and it)."""
        self._clock = time.perf_counter()

    def next_chunk(self, n: int, max_iterations: int, target_s: float) -> int:
        """The next chunk's iterations after ``n``: from the shared seconds :attr:`dt`."""
        return schedule.next_chunk_iterations(n, self.dt, max_iterations, max(target_s, DIST_CHUNK_S))

    def report(self, out: ChunkOutput, stop: bool, checkpoint: bool) -> ChunkOutput:
        """The chunk's whole report as host numpy arrays, from one gather; ``stop`` and
        ``checkpoint``: what this process asks for the next chunk."""
        fields = [f.name for f in dataclasses.fields(out)]
        arrays = {name: getattr(out, name) for name in fields}
        spread = [name for name in fields if _spread(arrays[name])]
        masked = [name for name in _EPISODE_VALUES if name in spread] if _DONE in spread else []
        parts = []
        for name in spread:
            if name in masked:  # sent with the done mask: only where an episode ended
                continue
            where, values = _owned(arrays[name], only_true=name == _DONE)
            parts += [_count(where), where.astype("<i8").view(np.uint8)]
            if name == _DONE:
                parts += [_values_at(arrays[other], where).view(np.uint8) for other in masked]
            else:
                parts.append(values.view(np.uint8))
        whole = {name: _local(x) for name, x in arrays.items() if name not in spread}
        head = _header(self._n, stop, checkpoint, time.perf_counter() - self._clock)  # the chunk is done here
        messages = self._gather(np.concatenate([head, *parts]))

        for name in spread:
            whole[name] = np.zeros(arrays[name].shape, arrays[name].dtype)
        heads = []
        for message in messages:
            heads.append(np.frombuffer(message[: _HEADER.itemsize].tobytes(), _HEADER)[0])
            at = _HEADER.itemsize
            for name in spread:
                if name in masked:
                    continue
                count = int(np.frombuffer(message[at : at + 8].tobytes(), "<i8")[0])
                where = np.frombuffer(message[at + 8 : at + 8 + 8 * count].tobytes(), "<i8")
                at += 8 + 8 * count
                if name == _DONE:
                    whole[_DONE].reshape(-1)[where] = True
                for target in masked if name == _DONE else [name]:
                    dtype = whole[target].dtype
                    size = count * dtype.itemsize
                    whole[target].reshape(-1)[where] = np.frombuffer(message[at : at + size].tobytes(), dtype)
                    at += size
        ran = {int(h["n"]) for h in heads}
        if len(ran) != 1:
            raise RuntimeError(f"the processes ran chunks of different lengths {sorted(ran)}: a bug, please report it")
        self.dt = max(float(h["dt"]) for h in heads)
        self._answers = (any(bool(h["stop"]) for h in heads), any(bool(h["checkpoint"]) for h in heads))
        fields_whole: dict[str, Any] = {name: whole[name] for name in fields}
        return type(out)(**fields_whole)  # numpy leaves, as jax.device_get gives

    def _gather(self, message: np.ndarray) -> list[np.ndarray]:
        """Every process's ``message`` (bytes), in process order: one gather of :attr:`capacity`
        bytes each, and a second one only when a message did not fit (then the capacity grows)."""
        sizes_and_data = np.zeros(8 + self.capacity, np.uint8)
        sizes_and_data[:8] = np.array([len(message)], "<i8").view(np.uint8)
        if len(message) <= self.capacity:
            sizes_and_data[8 : 8 + len(message)] = message
        got = np.asarray(self.cluster.stack(sizes_and_data, "the chunk's report"))
        sizes = [int(np.frombuffer(row[:8].tobytes(), "<i8")[0]) for row in got]
        if max(sizes) > self.capacity:
            self.capacity = 1 << (max(sizes) - 1).bit_length()
            padded = np.zeros(self.capacity, np.uint8)
            padded[: len(message)] = message
            got = np.asarray(self.cluster.stack(padded, "the chunk's report"))
            return [row[:size] for row, size in zip(got, sizes, strict=True)]
        return [row[8 : 8 + size] for row, size in zip(got, sizes, strict=True)]


def _header(n: int, stop: bool, checkpoint: bool, dt: float) -> np.ndarray:
    return np.array([(n, stop, checkpoint, dt)], _HEADER).view(np.uint8)


def _count(where: np.ndarray) -> np.ndarray:
    return np.array([len(where)], "<i8").view(np.uint8)


def _local(x: Any) -> np.ndarray:
    """``x`` read here: whole on this process (a replicated global array: its first local copy)."""
    import jax

    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(x.addressable_data(0))
    return np.asarray(x)


def _spread(x: Any) -> bool:
    """Whether ``x`` is a global array whose parts lie on several processes (else: read it here)."""
    import jax

    return isinstance(x, jax.Array) and not x.is_fully_addressable and not x.sharding.is_fully_replicated


def _key(index: tuple, shape: tuple) -> tuple:
    return tuple(s.indices(n)[:2] for s, n in zip(index, shape, strict=True))


def _owned(x: Any, *, only_true: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The flat positions (and values) of ``x`` this process sends: those of each block of ``x``
    that the lowest-numbered device holding it has here (so every position comes from one process);
    with ``only_true``, only the positions where ``x`` is true (a done mask)."""
    shape = x.shape
    owner: dict[tuple, Any] = {}
    for device, index in x.sharding.devices_indices_map(shape).items():
        key = _key(index, shape)
        if key not in owner or device.id < owner[key].id:
            owner[key] = device
    where, values = [], []
    for shard in x.addressable_shards:
        key = _key(shard.index, shape)
        if owner[key] != shard.device:
            continue
        block = np.asarray(shard.data)
        local = np.flatnonzero(block) if only_true else np.arange(block.size)
        coords = np.unravel_index(local, block.shape)
        where.append(np.ravel_multi_index(tuple(c + lo for c, (lo, _) in zip(coords, key, strict=True)), shape))
        values.append(block.reshape(-1)[local])
    if not where:
        return np.zeros((0,), np.int64), np.zeros((0,), x.dtype)
    return np.concatenate(where).astype(np.int64), np.ascontiguousarray(np.concatenate(values))


def _values_at(x: Any, where: np.ndarray) -> np.ndarray:
    """``x`` at the flat positions ``where`` (every one held on this process's devices)."""
    shape, out = x.shape, np.zeros(len(where), x.dtype)
    coords = np.unravel_index(where, shape)
    left = np.ones(len(where), bool)
    for shard in x.addressable_shards:
        if not left.any():
            break
        key = _key(shard.index, shape)
        inside = left.copy()
        for c, (lo, hi) in zip(coords, key, strict=True):
            inside &= (c >= lo) & (c < hi)
        if inside.any():
            block = np.asarray(shard.data)
            out[inside] = block[tuple(c[inside] - lo for c, (lo, _) in zip(coords, key, strict=True))]
            left &= ~inside
    if left.any():
        raise RuntimeError("a chunk report's arrays are laid out differently on the devices: a bug, please report it")
    return out
