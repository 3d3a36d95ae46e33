"""What the machine is doing for this process: CPU use, resident memory, and each accelerator's
memory in use and limit as JAX reports it. Standard library only (``/proc``, ``os.times``); JAX is
asked only once something else has imported it (the first run), never imported here.

No Textual here: the app's system pane calls :meth:`SystemSampler.sample` from a thread worker.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeviceMemory:
    """One accelerator: its name and, where the backend reports them, bytes in use and the limit."""

    name: str
    in_use: int | None = None
    limit: int | None = None

    @property
    def reported(self) -> bool:
        return self.in_use is not None


@dataclass(frozen=True)
class SystemSample:
    """Attributes:
    cpu_percent: This process's CPU time over the last interval, as a percentage of one core
        (several busy threads read above 100); None on the first sample.
    rss_bytes: Resident memory now (peak resident memory where ``/proc`` is missing).
    rss_is_peak: ``rss_bytes`` is the peak, not the current value.
    devices: One entry per local device; None while JAX is not loaded.
    device_error: Why the devices could not be asked, if they could not.
    """

    cpu_percent: float | None
    rss_bytes: int | None
    rss_is_peak: bool = False
    devices: list[DeviceMemory] | None = None
    device_error: str | None = None
    cpu_count: int = field(default_factory=lambda: os.cpu_count() or 1)


def read_rss() -> tuple[int | None, bool]:
    """``(bytes, is_peak)``: current resident memory from ``/proc/self/statm``, else the peak."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"), False
    except (OSError, ValueError, IndexError):
        pass
    try:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (OSError, ValueError):
        return None, False
    return int(peak) * (1 if sys.platform == "darwin" else 1024), True


def device_memory(jax: Any = None) -> list[DeviceMemory] | None:
    """Each local device's memory from ``device.memory_stats()`` (absent on CPU: not reported);
    None while JAX has not been imported by anything."""
    jax = jax if jax is not None else sys.modules.get("jax")
    if jax is None:
        return None
    out = []
    for device in jax.local_devices():
        name = f"{device.platform}:{device.id}"
        try:
            stats = device.memory_stats()
        except Exception:  # a backend without the query (CPU raises or returns None)
            stats = None
        if not stats:
            out.append(DeviceMemory(name))
            continue
        in_use, limit = stats.get("bytes_in_use"), stats.get("bytes_limit")
        out.append(DeviceMemory(name, int(in_use) if in_use is not None else None, int(limit) if limit else None))
    return out


class SystemSampler:
    """CPU % between calls, resident memory and device memory, one sample per call.

    Args:
        clock: Wall clock (seconds).
        cpu_times: Seconds of CPU this process used (user + system, all threads).
        devices: The device query (tests pass a fake).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        cpu_times: Callable[[], float] | None = None,
        devices: Callable[[], list[DeviceMemory] | None] = device_memory,
    ) -> None:
        self.clock = clock
        self.cpu_times = cpu_times or (lambda: sum(os.times()[:2]))
        self.devices = devices
        self._last: tuple[float, float] | None = None

    def sample(self) -> SystemSample:
        now, cpu = self.clock(), self.cpu_times()
        percent = None
        if self._last is not None and now > self._last[0]:
            percent = 100.0 * (cpu - self._last[1]) / (now - self._last[0])
        self._last = (now, cpu)
        rss, peak = read_rss()
        try:
            devices, error = self.devices(), None
        except Exception as e:  # the pane says so instead of going blank
            devices, error = None, f"{type(e).__name__}: {e}"
        return SystemSample(percent, rss, peak, devices, error)


def format_bytes(value: int | None) -> str:
    """1.2 GiB, 350 MiB (binary units, as memory limits are)."""
    if value is None:
        return "–"
    for size, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"


def describe(sample: SystemSample) -> list[str]:
    """The pane's lines: process first, then one part per device."""
    cpu = "–" if sample.cpu_percent is None else f"{sample.cpu_percent:.0f}%"
    rss = format_bytes(sample.rss_bytes) + (" peak" if sample.rss_is_peak else "")
    process = f"CPU {cpu} (of {sample.cpu_count * 100}%)  RSS {rss}"
    if sample.device_error:
        return [process, f"cannot ask JAX ({sample.device_error})"]
    if sample.devices is None:
        return [process, "JAX not loaded yet (it starts with the first run)"]
    parts = []
    silent = [d.name for d in sample.devices if not d.reported]
    if silent:  # one note for all of them (a CPU backend can have many host devices)
        platforms = sorted({name.split(":")[0] for name in silent})
        which = silent[0] if len(silent) == 1 else f"{len(silent)} {'/'.join(platforms)} devices"
        why = "the CPU backend has none" if platforms == ["cpu"] else "not reported by the backend"
        parts.append(f"{which}: no memory stats ({why})")
    for d in sample.devices:
        if not d.reported:
            continue
        if d.limit:
            parts.append(
                f"{d.name} {format_bytes(d.in_use)} / {format_bytes(d.limit)} ({100 * (d.in_use or 0) / d.limit:.0f}%)"
            )
        else:
            parts.append(f"{d.name} {format_bytes(d.in_use)} in use")
    return [process, "  ".join(parts) or "none"]
