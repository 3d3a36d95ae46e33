"""``--distributed`` for the headless commands: join the cluster before JAX starts, check the seed
count against the global device count, and end the process the way a cluster needs."""

from __future__ import annotations

import argparse
import os
import sys

from lerax_tui.exit_codes import EXIT_OK
from lerax_tui.train.distributed import Cluster, ClusterError, initialize, parse_spec, seed_count_problem

_CLUSTER_OPTIONS = ("coordinator", "num_processes", "process_id", "peer_timeout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--distributed`` options of ``train`` (and ``sweep``)."""
    group = parser.add_argument_group("several processes (README 'Scaling out')")
    group.add_argument(
        "--distributed",
        action="store_true",
        help="one run over every device of several processes (jax.distributed); every process runs the same command",
    )
    group.add_argument("--coordinator", default=None, metavar="HOST:PORT", help="process 0's address")
    group.add_argument("--num-processes", default=None, metavar="N", help="how many processes")
    group.add_argument("--process-id", default=None, metavar="I", help="this process's index, 0 to N-1")
    group.add_argument(
        "--peer-timeout", type=float, default=None, metavar="S", help="seconds to wait for the other processes (300)"
    )


def join(args: argparse.Namespace) -> Cluster | None:
    """Join the cluster when ``--distributed`` was given (before anything imports JAX's backends).

    Raises:
        ClusterError: Bad options, or no cluster could be formed.
    """
    if not getattr(args, "distributed", False):
        given = [f"--{name.replace('_', '-')}" for name in _CLUSTER_OPTIONS if getattr(args, name, None) is not None]
        if given:
            raise ClusterError(f"{', '.join(given)} only apply with --distributed")
        return None
    spec = parse_spec(args.coordinator, args.num_processes, args.process_id, peer_timeout=args.peer_timeout)
    return initialize(spec)


def check_seeds(cluster: Cluster | None, num_seeds: int) -> None:
    """Raises ValueError when ``num_seeds`` does not divide over every process's devices."""
    if cluster is None:
        return
    import jax

    problem = seed_count_problem(num_seeds, jax.device_count(), cluster.count)
    if problem:
        raise ValueError(problem)


def finish(cluster: Cluster | None, code: int) -> int:
    """Leave the cluster: together after a run every process finished or stopped (0, 128 + N), at
    once otherwise (``jax.distributed``'s shutdown would wait for a lost peer, then abort)."""
    if cluster is None:
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if code == EXIT_OK or code > 128:
        import jax

        try:
            jax.distributed.shutdown()
            return code
        except Exception:
            pass
    os._exit(code)
