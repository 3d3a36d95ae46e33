"""Several processes, one run: ``jax.distributed`` set up from the command line, and the few
collectives the distributed runner needs (README "Scaling out").

Every process runs the same command. Process 0 owns the run folder (its lock, config.json,
metrics.jsonl, resume.eqx); every process trains and checkpoints the seeds on its devices. Each
collective goes through :meth:`Cluster.collective`, which turns a lost peer into :class:`PeerLost`
(one clear message) and, with a watchdog thread, ends a process whose collective waits longer than
``peer_timeout`` seconds (a peer that hangs or vanishes without closing its connections).

Argument checks (:func:`parse_spec`) are pure Python: JAX is imported by :func:`initialize` only.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

ENV_COORDINATOR = "LERAX_TUI_COORDINATOR"
ENV_NUM_PROCESSES = "LERAX_TUI_NUM_PROCESSES"
ENV_PROCESS_ID = "LERAX_TUI_PROCESS_ID"
DEFAULT_PEER_TIMEOUT_S = 300.0
INIT_TIMEOUT_S = 300
_BROADCAST_BYTES = 1 << 14

T = TypeVar("T")


class ClusterError(ValueError):
    """Bad distributed arguments, or the processes could not form a cluster (exit status 2)."""


class PeerLost(RuntimeError):
    """Another process died or stopped answering: this one stops too (exit status 1)."""


@dataclass(frozen=True)
class ClusterSpec:
    """How to join the cluster: all three values, or none (``jax.distributed`` auto-detects
    SLURM, Open MPI and TPU pods).

    Attributes:
        coordinator: ``HOST:PORT`` of process 0's coordination service.
        num_processes: How many processes run the command.
        process_id: This process's index (0 is the coordinator).
        peer_timeout: Seconds a collective may wait for the other processes.
    """

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    peer_timeout: float = DEFAULT_PEER_TIMEOUT_S


def parse_spec(
    coordinator: str | None,
    num_processes: int | str | None,
    process_id: int | str | None,
    *,
    peer_timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClusterSpec:
    """The cluster from the options, falling back on ``LERAX_TUI_*`` environment variables.

    Raises:
        ClusterError: Some of the three values given but not all, or one out of range.
    """
    env = os.environ if environ is None else environ
    coordinator = coordinator if coordinator is not None else env.get(ENV_COORDINATOR) or None
    raw_n = num_processes if num_processes is not None else env.get(ENV_NUM_PROCESSES) or None
    raw_i = process_id if process_id is not None else env.get(ENV_PROCESS_ID) or None
    timeout = DEFAULT_PEER_TIMEOUT_S if peer_timeout is None else float(peer_timeout)
    if not timeout > 0:
        raise ClusterError(f"--peer-timeout {peer_timeout}: give a positive number of seconds")
    given = [v is not None for v in (coordinator, raw_n, raw_i)]
    if not any(given):
        return ClusterSpec(peer_timeout=timeout)
    if not all(given):
        missing = [
            name for name, ok in zip(("--coordinator", "--num-processes", "--process-id"), given, strict=True) if not ok
        ]
        raise ClusterError(
            f"--distributed needs --coordinator, --num-processes and --process-id together (or none of them, "
            f"to auto-detect the cluster): {', '.join(missing)} missing "
            f"(or set {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID})"
        )
    n, i = _int("--num-processes", raw_n), _int("--process-id", raw_i)
    if n < 1:
        raise ClusterError(f"--num-processes {n}: give at least 1")
    if not 0 <= i < n:
        raise ClusterError(f"--process-id {i}: give 0 to {n - 1} for {n} processes")
    assert coordinator is not None
    host, _, port = coordinator.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--coordinator {coordinator!r}: give HOST:PORT (e.g. node01:12345)")
    return ClusterSpec(coordinator, n, i, timeout)


def _int(name: str, value: int | str | None) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ClusterError(f"{name} {value!r}: give a whole number") from None


def seed_count_problem(num_seeds: int, num_devices: int, num_processes: int) -> str | None:
    """Why ``num_seeds`` cannot be spread evenly over the devices (naming counts that can), or None."""
    if num_seeds % num_devices == 0:
        return None
    fits = ", ".join(str(num_devices * k) for k in range(1, 5))
    return (
        f"--seeds {num_seeds} does not divide evenly over {num_devices} devices "
        f"({num_processes} process{'es' if num_processes != 1 else ''}): use a multiple of {num_devices} "
        f"({fits}, ...)"
    )


class Cluster:
    """This process's place in the cluster and the collectives the runner uses.

    Create it with :func:`initialize`. Every method that talks to the other processes must be
    called by every process in the same order.
    """

    def __init__(self, spec: ClusterSpec):
        import jax
        import numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        self.spec = spec
        self.index = jax.process_index()
        self.count = jax.process_count()
        self.mesh = Mesh(np.array(jax.devices()), ("seeds",))
        """Every device of every process on one ``seeds`` axis, in process order."""
        # one program gathers a whole pytree of global arrays (not one per leaf)
        self._replicate = jax.jit(lambda *xs: xs, out_shardings=NamedSharding(self.mesh, PartitionSpec()))
        self._waiting: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._watchdog = threading.Thread(target=self._watch, name="lerax-tui-peer-watchdog", daemon=True)
        self._watchdog.start()

    @property
    def lead(self) -> bool:
        """Whether this is process 0, which writes the run's shared files."""
        return self.index == 0

    def collective(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a collective); a failure in it is a lost peer.

        Raises:
            PeerLost: The collective failed (a peer closed its connections: died or was killed).
        """
        with self._lock:
            self._waiting = (what, time.monotonic())
        try:
            return fn()
        except PeerLost:
            raise
        except Exception as e:
            raise PeerLost(
                f"process {self.index} of {self.count}: lost the other processes during {what} "
                f"({_short(e)}); stopping - another process died or was killed, see its log"
            ) from None
        finally:
            with self._lock:
                self._waiting = None

    def _watch(self) -> None:
        timeout = self.spec.peer_timeout
        while True:
            time.sleep(min(1.0, timeout / 4))
            with self._lock:
                waiting = self._waiting
            if waiting is not None and time.monotonic() - waiting[1] > timeout:
                abandon(
                    f"process {self.index} of {self.count}: no word from the other processes for {timeout:g} s "
                    f"during {waiting[0]} (--peer-timeout): stopping - one of them hangs or its host went away; "
                    "every checkpoint on disk is complete"
                )

    def gather(self, tree: Any, what: str) -> Any:
        """``tree`` with every array whole on the host (numpy): global arrays of the mesh
        gathered, host-local arrays concatenated along axis 0 in process order."""
        import jax
        import numpy as np
        from jax.experimental import multihost_utils

        leaves, treedef = jax.tree.flatten(tree)
        spread = [i for i, x in enumerate(leaves) if isinstance(x, jax.Array) and not x.is_fully_addressable]

        def run() -> Any:
            out = list(leaves)
            if spread:
                whole = self._replicate(*(leaves[i] for i in spread))
                for i, x in zip(spread, whole, strict=True):
                    out[i] = np.asarray(x.addressable_data(0))
            for i, x in enumerate(leaves):
                if i not in spread:
                    out[i] = multihost_utils.process_allgather(x, tiled=True)
            return jax.tree.unflatten(treedef, out)

        return self.collective(what, run)

    def stack(self, values: Any, what: str) -> Any:
        """Host-local arrays stacked on a new leading process axis (``[count, ...]``)."""
        from jax.experimental import multihost_utils

        return self.collective(what, lambda: multihost_utils.process_allgather(values, tiled=False))

    def broadcast_json(self, value: Any, what: str) -> Any:
        """Process 0's JSON-able ``value``, on every process (others pass anything)."""
        import numpy as np
        from jax.experimental import multihost_utils

        data = json.dumps(value).encode() if self.lead else b""
        if len(data) > _BROADCAST_BYTES:
            data = json.dumps({"error": "message too long to broadcast", "kind": "usage"}).encode()
        buf = np.zeros(_BROADCAST_BYTES, np.uint8)
        buf[: len(data)] = np.frombuffer(data, np.uint8)
        out = self.collective(what, lambda: multihost_utils.broadcast_one_to_all(buf))
        return json.loads(bytes(np.asarray(out)).rstrip(b"\0").decode())

    def barrier(self, what: str) -> None:
        from jax.experimental import multihost_utils

        self.collective(what, lambda: multihost_utils.sync_global_devices(what))


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    for marker in ("Connection reset by peer", "Connection closed by peer", "Broken pipe", "heartbeat"):
        if marker.lower() in text.lower():
            return marker.lower()
    return f"{type(e).__name__}: {text[:160]}"


def initialize(spec: ClusterSpec) -> Cluster:
    """Join the cluster (``jax.distributed.initialize``) before anything else touches JAX.

    Raises:
        ClusterError: The processes could not form a cluster (unreachable coordinator, timeout).
    """
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes talk over TCP
    heartbeat = max(10, int(spec.peer_timeout * 2))  # our watchdog speaks first, with a clear message
    try:
        jax.distributed.initialize(
            coordinator_address=spec.coordinator,
            num_processes=spec.num_processes,
            process_id=spec.process_id,
            initialization_timeout=INIT_TIMEOUT_S,
            heartbeat_timeout_seconds=heartbeat,
        )
    except Exception as e:
        where = f" at {spec.coordinator}" if spec.coordinator else " (auto-detected)"
        raise ClusterError(
            f"--distributed: could not join the cluster{where}: {_short(e)} - check that every process runs "
            "with the same --coordinator and --num-processes and a distinct --process-id"
        ) from None
    return Cluster(spec)


def abandon(message: str, code: int = 1) -> None:
    """Print ``message`` and end this process at once, without ``jax.distributed``'s shutdown
    barrier (which waits for the lost peer, then aborts)."""
    try:
        print(f"lerax-tui: error: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
