"""How far a sweep can beat separate runs: the engine's compute per agent step, sweep against plain.

    python bench/sweep_roofline.py                          # the CartPole-v1 preset (128x128, batch 128)
    python bench/sweep_roofline.py --set width_size=64 --set batch_size=64 --set lr_schedule=constant

``bench/sweep.py`` times whole commands. A sweep saves what separate runs repeat (start-up, compile,
evaluation programs), and it vmaps 36 agents where a ``train --seeds 4`` vmaps 4; it cannot do the
agents' arithmetic for less. This bench measures that arithmetic, in one process, alternating:

- the steady-state cost of one agent's env step (gradient steps included, after ``learning_starts``)
  in a plain 4-seed program (one device, as ``train`` runs it) and in the 9-configuration sweep
  program of ``bench/sweep.py`` (3 learning rates x 3 gammas x 4 seeds; its agents split over one
  host device per core, as ``lerax-tui sweep`` splits them), compile and evaluation excluded;
- the FLOP rate the gradient steps reach (counted from the network's shape: the forward passes of
  the online net on the batch and on the next observations (double DQN) and of the target net, and
  the backward pass as twice a forward), against the rate of a bare batched matmul of the hidden
  layer's shape (on one device, and split like the sweep): how close the engine is to what XLA's
  matmuls do on this machine;
- the sweep's compute time for a whole ``bench/sweep.py`` run (36 agents x ``--steps``): no sweep
  can take less, so ``that / separate wall time`` (the separate side of ``bench/sweep.py``) is the
  lowest ratio that bench can report on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sweep import GAMMAS, LEARNING_RATES  # bench/sweep.py's grid (bench/ is sys.path[0] as a script)


def gradient_flops(config, obs_dim: int, actions: int) -> float:
    """FLOPs of one gradient step: 2 multiply-adds per weight per sample, forward passes of the online
    net (batch), the target net (next observations) and, with double DQN, the online net again (next
    observations); the backward pass counted as two forward passes."""
    dims = [obs_dim, *[config.width_size] * config.depth, actions]
    macs = config.batch_size * sum(a * b for a, b in zip(dims, dims[1:], strict=False))
    forwards = 2 + (1 if config.double_dqn else 0) + 2
    return 2.0 * macs * forwards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed hyperparameters")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=1000, help="iterations timed per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50_000, help="steps per agent of the bench/sweep.py run")
    parser.add_argument(
        "--devices", type=int, default=None, help="host devices the sweep program is split over (default: as the CLI)"
    )
    args = parser.parse_args()
    agents = len(LEARNING_RATES) * len(GAMMAS) * args.seeds
    if args.devices:
        flag = f"--xla_force_host_platform_device_count={args.devices}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}"
    else:
        from lerax_tui.train.host_devices import spread_agents

        spread_agents([agents])  # lerax-tui sweep's rule

    import jax
    import jax.numpy as jnp

    from lerax_tui.core import make_env
    from lerax_tui.train import dqn
    from lerax_tui.train.config import parse_overrides, preset
    from lerax_tui.train.sweep_engine import init_program, program_config, program_hyper

    env = make_env("CartPole-v1")
    base = preset("CartPole-v1").replace(**parse_overrides(args.set), eval_episodes=0, num_seeds=args.seeds)
    configs = [base.replace(learning_rate=float(lr), gamma=float(g)) for lr in LEARNING_RATES for g in GAMMAS]
    obs_dim = int(env.observation_space.shape[0])
    actions = int(env.action_space.n)
    print(
        f"CartPole-v1, width {base.width_size} x depth {base.depth}, batch {base.batch_size}, num_envs "
        f"{base.num_envs}, train_frequency {base.train_frequency}, gradient_steps {base.gradient_steps}, "
        f"double_dqn {base.double_dqn}; {args.iterations} iterations timed, {args.repeats} alternating repeats; "
        f"sweep program on {len(jax.local_devices())} host device(s), plain on one",
        flush=True,
    )

    def program(label: str, members: list) -> dict:
        hyper = program_hyper(members) if len(members) > 1 else None
        config = program_config(members)
        # the sweep's agents split over the host devices as `lerax-tui sweep` splits them; a plain
        # program on one device, as `train` runs it
        state = dqn.shard_seeds(init_program(env, members)) if hyper is not None else dqn.init_state(env, config)
        chunk = dqn.make_chunk_fn(env, config, args.iterations, state, hyper)
        chunk.compile(state)
        warm = -(-config.learning_starts // config.num_envs) + 1  # past the warm-up: every iteration learns
        state, _ = chunk(state, warm)
        jax.block_until_ready(state)
        return {"label": label, "config": config, "chunk": chunk, "state": state, "times": []}

    sides = [program(f"plain program ({args.seeds} seeds)", configs[:1]), program("sweep program", configs)]
    for _ in range(args.repeats):
        for side in sides:
            t0 = time.perf_counter()
            side["state"], _ = side["chunk"](side["state"], args.iterations)
            jax.block_until_ready(side["state"])
            side["times"].append(time.perf_counter() - t0)

    per_step = {}
    for side in sides:
        config = side["config"]
        seconds = statistics.median(side["times"])
        agent_steps = config.num_seeds * args.iterations * config.num_envs
        grads = agent_steps / config.train_frequency * config.gradient_steps
        gflops = grads * gradient_flops(config, obs_dim, actions) / seconds / 1e9
        per_step[side["label"]] = seconds / agent_steps
        print(
            f"{side['label']:>24}: {config.num_seeds:3d} agents, {seconds / agent_steps * 1e6:6.2f} us per agent step "
            f"({agent_steps / seconds:9,.0f} agent steps/s), gradient steps at {gflops:5.1f} GFLOP/s",
            flush=True,
        )
    plain, sweep = per_step.values()
    print(f"per-agent-step cost, sweep / plain: {sweep / plain:.3f}")

    w, b = base.width_size, base.batch_size
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    split = NamedSharding(Mesh(jax.local_devices(), ("agents",)), PartitionSpec("agents"))
    for n, where in ((args.seeds, None), (agents, None), (agents, split)):
        if where is not None and len(jax.local_devices()) < 2:
            continue
        x, m = jnp.ones((n, b, w)), jnp.ones((n, w, w))
        if where is not None:
            x, m = jax.device_put(x, where), jax.device_put(m, where)
        loop = jax.jit(
            lambda x, m: jax.lax.fori_loop(0, 100, lambda _, x: jnp.tanh(jnp.einsum("abi,aij->abj", x, m) * 1e-3), x)
        )
        loop(x, m).block_until_ready()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            loop(x, m).block_until_ready()
            times.append(time.perf_counter() - t0)
        rate = 100 * 2 * n * b * w * w / statistics.median(times) / 1e9
        on = "one device" if where is None else f"{len(jax.local_devices())} devices"
        print(f"bare batched matmul, {n} x [{b} x {w}] @ [{w} x {w}] on {on}: {rate:5.1f} GFLOP/s")

    learning = max(0, args.steps - base.learning_starts)  # the warm-up's steps cost less: left out, a lower bound
    floor = agents * learning * sweep
    print(
        f"compute of a bench/sweep.py run ({agents} agents x {learning:,} learning steps) at the sweep's rate: "
        f"{floor:.1f} s; "
        f"no sweep takes less, so bench/sweep.py's ratio is at least {floor:.1f} s / its separate side's wall time"
    )


if __name__ == "__main__":
    main()
