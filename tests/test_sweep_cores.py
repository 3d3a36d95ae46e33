"""`lerax-tui sweep` splits a CPU into one host device per core before JAX starts, so that
``shard_seeds`` spreads a program's agents over the cores; it never overrides a layout already
chosen (an ``XLA_FLAGS`` device count, a running backend) and splits only what divides evenly.
No JAX compile here: the function only sets an environment variable."""

from __future__ import annotations

import pytest

from lerax_tui.train import host_devices, sweep_cli
from lerax_tui.train.config import preset
from lerax_tui.train.sweep_spec import build_spec

FLAG = "--xla_force_host_platform_device_count"


@pytest.fixture
def fresh(monkeypatch):
    """As in a fresh `lerax-tui sweep` process: no XLA_FLAGS, no backend yet. (setenv first, so that
    monkeypatch restores the variable however spread_over_cores sets it: a leaked device count would
    give every later test in the process two devices.)"""
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(host_devices, "_backend_started", lambda modules: False)
    return monkeypatch


def _spec(seeds: int, **grid):
    return build_spec(preset("CartPole-v1"), grid, seeds=seeds)


def test_the_bench_sweep_gets_one_device_per_core(fresh):
    import os

    spec = _spec(4, learning_rate=[1e-3, 2.3e-3, 5e-3], gamma=[0.99, 0.995, 0.999])  # one program, 36 agents
    assert sweep_cli.spread_over_cores(spec, cores=2) == 2
    assert os.environ["XLA_FLAGS"] == f"{FLAG}=2"


def test_the_count_divides_every_program(fresh):
    import os

    assert sweep_cli.spread_over_cores(_spec(4, gamma=[0.9, 0.99, 0.999]), cores=16) == 12  # 12 agents: all of them
    fresh.delenv("XLA_FLAGS")
    assert sweep_cli.spread_over_cores(_spec(3, gamma=[0.9, 0.99]), cores=4) == 3  # 6 agents, 4 cores: 3 divides
    fresh.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    # two programs (width_size is a shape key), each 2 configurations x 1 seed
    spec = build_spec(preset("CartPole-v1"), {"width_size": [32, 64], "gamma": [0.9, 0.99]}, seeds=1)
    assert len(spec.programs()) == 2 and sweep_cli.spread_over_cores(spec, cores=2) == 2  # 2 and 2 agents
    fresh.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    spec = build_spec(preset("CartPole-v1"), {"width_size": [32, 64, 128], "gamma": [0.9]}, seeds=3)
    assert sweep_cli.spread_over_cores(spec, cores=2) == 0  # 3 agents a program, 2 cores
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    assert sweep_cli.spread_over_cores(_spec(4, gamma=[0.9, 0.99]), cores=1) == 0


def test_a_chosen_layout_is_left_alone(fresh):
    import os

    spec = _spec(4, gamma=[0.9, 0.99])
    fresh.setenv("XLA_FLAGS", f"{FLAG}=1")
    assert sweep_cli.spread_over_cores(spec, cores=2) == 0 and os.environ["XLA_FLAGS"] == f"{FLAG}=1"
    fresh.delenv("XLA_FLAGS")
    fresh.setattr(host_devices, "_backend_started", lambda modules: True)  # the app, a test: JAX already running
    assert sweep_cli.spread_over_cores(spec, cores=2) == 0 and "XLA_FLAGS" not in os.environ


def test_the_environment_is_restored():
    import os

    assert "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", "")


def test_backend_started_reads_jax_bridge_state():
    class Bridge:
        _backends = {"cpu": object()}

    assert host_devices._backend_started({"jax._src.xla_bridge": Bridge()})
    assert not host_devices._backend_started({})
    Bridge._backends = {}
    assert not host_devices._backend_started({"jax._src.xla_bridge": Bridge()})


def test_train_seeds_spread_where_the_cores_divide_them(fresh):
    import os

    assert host_devices.spread_agents([4], cores=2) == 2 and os.environ["XLA_FLAGS"] == f"{FLAG}=2"
    fresh.delenv("XLA_FLAGS")
    assert host_devices.spread_agents([10], cores=16) == 10
    fresh.delenv("XLA_FLAGS")
    assert host_devices.spread_agents([3], cores=2) == 0 and "XLA_FLAGS" not in os.environ
    assert host_devices.spread_agents([1], cores=8) == 0 and "XLA_FLAGS" not in os.environ
