"""One JAX host device per CPU core, chosen before JAX starts (``lerax-tui train`` and ``sweep``).

Pure Python: it only sets ``XLA_FLAGS``, so the command lines call it before anything imports a
backend; ``shard_seeds`` then splits the agents over the devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def spread_agents(agent_counts: Sequence[int], cores: int | None = None) -> int:
    """Split this process's CPU into host devices, one per core, before JAX starts: ``shard_seeds``
    then spreads a program's agents over them, each device a thread of its own. One XLA CPU device
    runs these small batched matmuls at about one core's rate: the 36 agents of ``bench/sweep.py``
    ran at ~28k env steps/s on 1.4 of 2 cores, and at ~61k on 1.9 with two devices; a ``train
    --seeds 4`` of the CartPole preset trains 1.6x faster on two (``bench/RESULTS.md``). The count is
    the largest divisor of every program's agents (``agent_counts``) that the cores allow (1:
    nothing to spread).

    Only for the command line's own process (``lerax-tui sweep`` and ``train``; not ``cli.main([...])``
    in a caller's process, whose other work would inherit the devices). Leaves ``XLA_FLAGS`` alone
    where it already sets the host device count (``--xla_force_host_platform_device_count=1`` keeps
    one device), where JAX's backend is already running, and on a cluster (its layout is the
    cluster's). Only CPU devices change: an accelerator's devices stay what they are. Returns the
    count set (0: left alone)."""
    import os
    import sys
    from math import gcd

    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags or _backend_started(sys.modules):
        return 0
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    agents = 0
    for count in agent_counts:
        agents = gcd(agents, count)
    count = max((d for d in range(1, max(cores, 1) + 1) if agents % d == 0), default=1)
    if count < 2:
        return 0
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
    return count


def _backend_started(modules: Any) -> bool:
    xb = modules.get("jax._src.xla_bridge")
    return bool(xb is not None and getattr(xb, "_backends", None))
