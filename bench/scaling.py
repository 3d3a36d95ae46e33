"""Our engine against a fused reference DQN, and env steps/s against buffer size and env count.

    .venv/bin/python bench/scaling.py                  # the four configurations and the table
    .venv/bin/python bench/scaling.py --steps 20000 --table-steps 10000 --repeats 3

Part 1 runs CartPole-v1 at four configurations (PureJaxRL's, rejax's, 1 env with one update per env
step and a 50k buffer, and lerax's own ``DQN`` defaults), each with our engine (chunked the way the
runner chunks it) and with a *fused reference*: the minimal DQN written below, the whole run in one
``jit`` (gymnax env, ring-buffer arrays, one ``lax.scan`` over iterations), same hyperparameters,
same network shape and batched matmuls. Part 2 is our engine at lerax's defaults for one seed with
``buffer_size`` 1k-1M and ``num_envs`` 1, 8, 64 (one gradient step per 4 env steps throughout).

Every configuration is compiled once; the timed runs then alternate between the systems (and the
table's cells), and the medians are quoted. Env steps/s exclude compilation.
"""

from __future__ import annotations

import argparse
import statistics
import time

from throughput import (  # bench/ is sys.path[0] when run as a script
    OURS_AT_PUREJAXRL,
    OURS_AT_REJAX,
    PUREJAXRL_FIGURE,
)

# lerax's own DQN defaults (ANCHORS.md): SB3-like, 1 env, 1M buffer, one update every 4 env steps.
LERAX_DEFAULTS = dict(
    num_envs=1,
    buffer_size=1_000_000,
    batch_size=32,
    learning_starts=100,
    train_frequency=4,
    gradient_steps=1,
    target_update_interval=10_000,
    tau=1.0,
    learning_rate=1e-4,
    max_grad_norm=10.0,
    double_dqn=True,
    loss="mse",
    gamma=0.99,
    epsilon_start=1.0,
    epsilon_end=0.05,
    exploration_fraction=0.1,
    width_size=64,
    depth=2,
)
# The single-env case: one update per env step, 50k buffer (otherwise our defaults).
ONE_ENV = dict(num_envs=1, train_frequency=1, buffer_size=50_000, batch_size=64)
CONFIGS = {
    "PureJaxRL": OURS_AT_PUREJAXRL,
    "rejax": OURS_AT_REJAX,
    "1 env, 1 update/step, 50k": ONE_ENV,
    "lerax DQN defaults": LERAX_DEFAULTS,
}


def make_config(overrides: dict, steps: int):
    from lerax_tui.train.config import DQNConfig

    return DQNConfig(total_timesteps=steps, eval_episodes=0, **overrides)


class Ours:
    """Our engine, compiled once; :meth:`run` times one fresh run from ``init_state``."""

    def __init__(self, config):
        from lerax_tui.core import make_env
        from lerax_tui.train import dqn
        from lerax_tui.train.runner import max_chunk_iterations

        self.dqn, self.config, self.env = dqn, config, make_env("CartPole-v1")
        self.max_iterations = max_chunk_iterations(config)
        state = dqn.init_state(self.env, config)
        t0 = time.perf_counter()
        self.chunk = dqn.make_chunk_fn(self.env, config, self.max_iterations, state)
        self.chunk.compile(state)
        self.compile_s = time.perf_counter() - t0

    def run(self, seed: int) -> float:
        import jax

        dqn, config = self.dqn, self.config.replace(seed=seed)
        state = jax.block_until_ready(dqn.init_state(self.env, config))
        iterations = config.total_timesteps // config.num_envs
        t0 = time.perf_counter()
        done = 0
        while done < iterations:
            n = min(self.max_iterations, iterations - done)
            state, out = self.chunk(state, n)
            dqn.completed_episodes(jax.device_get(out))  # what the runner does with every chunk
            done += n
        return iterations * config.num_envs / (time.perf_counter() - t0)


class Fused:
    """The reference: a minimal DQN, the whole run in one jit. Same hyperparameters as ``config``:
    linear epsilon decay, ring buffer with uniform sampling, ``gradient_steps`` every
    ``train_frequency`` env steps after ``learning_starts``, hard or Polyak target updates, Adam after
    a global-norm clip, Huber or squared loss, double or vanilla target, bootstrapping through
    truncation from the pre-reset observation."""

    def __init__(self, config, hidden: tuple[int, ...] | None = None):
        import equinox as eqx
        import gymnax
        import jax
        import jax.numpy as jnp
        import optax

        c = config
        # hidden layer widths: (width_size,) * depth as ours, or any list (PureJaxRL's 120-84)
        hidden = tuple(hidden) if hidden is not None else (c.width_size,) * c.depth
        env, params = gymnax.make("CartPole-v1")
        E, N, B = c.num_envs, c.buffer_size, c.batch_size
        iterations = c.total_timesteps // E
        clip = optax.clip_by_global_norm(c.max_grad_norm) if c.max_grad_norm > 0 else optax.identity()
        opt = optax.chain(clip, optax.adam(c.learning_rate))
        obs_dim, n_actions = 4, 2
        decay = c.exploration_fraction * c.total_timesteps
        # At most one update per iteration: a cond; otherwise a loop over a traced count.
        max_updates = -(-E // c.train_frequency) * c.gradient_steps

        def q(net, x):
            for i, layer in enumerate(net.layers):
                x = x @ layer.weight.T + layer.bias
                if i < len(net.layers) - 1:
                    x = jax.nn.relu(x)
            return x

        class Net(eqx.Module):
            layers: tuple

            def __init__(self, key):
                sizes = (obs_dim, *hidden, n_actions)
                keys = jax.random.split(key, len(sizes) - 1)
                self.layers = tuple(eqx.nn.Linear(i, o, key=k) for i, o, k in zip(sizes[:-1], sizes[1:], keys))

        def init(key):
            k_net, k_env, k_run = jax.random.split(key, 3)
            net = Net(k_net)
            obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_env, E), params)
            buf = dict(
                obs=jnp.zeros((N, obs_dim)),
                action=jnp.zeros((N,), jnp.int32),
                reward=jnp.zeros((N,)),
                next_obs=jnp.zeros((N, obs_dim)),
                terminated=jnp.zeros((N,), bool),
            )
            net = eqx.filter(net, eqx.is_array)
            opt_state = opt.init(net)
            return (net, net, opt_state, buf, jnp.int32(0), jnp.int32(0), env_state, obs, jnp.int32(0), k_run)

        static = eqx.filter(Net(jax.random.key(0)), eqx.is_array, inverse=True)

        def loss_fn(net, target, batch):
            online, target = eqx.combine(net, static), eqx.combine(target, static)
            next_q = q(target, batch["next_obs"])
            if c.double_dqn:
                frozen = eqx.combine(jax.lax.stop_gradient(net), static)
                a = jnp.argmax(q(frozen, batch["next_obs"]), axis=1)
                v = jnp.take_along_axis(next_q, a[:, None], axis=1)[:, 0]
            else:
                v = jnp.max(next_q, axis=1)
            y = jax.lax.stop_gradient(batch["reward"] + c.gamma * (1.0 - batch["terminated"]) * v)
            pred = jnp.take_along_axis(q(online, batch["obs"]), batch["action"][:, None], axis=1)[:, 0]
            return jnp.mean(optax.huber_loss(pred, y)) if c.loss == "huber" else jnp.mean(jnp.square(pred - y))

        def learn(net, opt_state, target, buf, size, key):
            index = jax.random.randint(key, (B,), 0, size)
            batch = jax.tree.map(lambda x: x[index], buf)
            grads = jax.grad(loss_fn)(net, target, batch)
            updates, opt_state = opt.update(grads, opt_state, net)
            return optax.apply_updates(net, updates), opt_state

        def iteration(carry, _):
            net, target, opt_state, buf, pos, size, env_state, obs, step, key = carry
            key, k_eps, k_rand, k_step, k_learn = jax.random.split(key, 5)
            eps = (
                c.epsilon_end
                if decay <= 0
                else c.epsilon_start + jnp.clip(step / decay, 0, 1) * (c.epsilon_end - c.epsilon_start)
            )
            greedy = jnp.argmax(q(eqx.combine(net, static), obs), axis=1)
            explore = jax.random.uniform(k_eps, (E,)) < eps
            action = jnp.where(explore, jax.random.randint(k_rand, (E,), 0, n_actions), greedy)
            next_obs, env_state, reward, terminated, _, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_step, E), env_state, action, params
            )
            index = (pos + jnp.arange(E)) % N
            new = dict(obs=obs, action=action, reward=reward, next_obs=info["final_observation"], terminated=terminated)
            buf = jax.tree.map(lambda b, x: b.at[index].set(x.astype(b.dtype)), buf, new)
            pos, size, after = (pos + E) % N, jnp.minimum(size + E, N), step + E
            n = jnp.where(
                after >= c.learning_starts,
                (after // c.train_frequency - step // c.train_frequency) * c.gradient_steps,
                0,
            )
            if max_updates == 1:
                net, opt_state = jax.lax.cond(
                    n > 0, lambda: learn(net, opt_state, target, buf, size, k_learn), lambda: (net, opt_state)
                )
            else:

                def body(i, nk):
                    return learn(*nk, target, buf, size, jax.random.fold_in(k_learn, i))

                net, opt_state = jax.lax.fori_loop(0, n, body, (net, opt_state))
            do_target = after // c.target_update_interval > step // c.target_update_interval
            mixed = jax.tree.map(lambda o, t: c.tau * o + (1 - c.tau) * t, net, target) if c.tau < 1 else net
            target = jax.lax.cond(do_target, lambda: mixed, lambda: target)
            return (net, target, opt_state, buf, pos, size, env_state, next_obs, after, key), None

        def run(key):
            carry, _ = jax.lax.scan(iteration, init(key), None, length=iterations)
            return carry[0]

        t0 = time.perf_counter()
        self.compiled = jax.jit(run).lower(jax.random.key(0)).compile()
        self.compile_s = time.perf_counter() - t0
        self.steps = iterations * E

    def run(self, seed: int) -> float:
        import jax

        t0 = time.perf_counter()
        jax.block_until_ready(self.compiled(jax.random.key(seed)))
        return self.steps / (time.perf_counter() - t0)


def breakdown(name: str, steps: int, repeats: int) -> int:
    """Microseconds per iteration of ours and fused, acting only and with learning, alternating."""
    full = make_config(CONFIGS[name], steps)
    act_only = full.replace(learning_starts=steps + 1)
    systems = {
        "ours, act only": Ours(act_only),
        "fused, act only": Fused(act_only),
        "ours, full": Ours(full),
        "fused, full": Fused(full),
    }
    sps: dict[str, list[float]] = {k: [] for k in systems}
    for r in range(repeats):
        for k in list(systems) if r % 2 == 0 else list(reversed(systems)):
            sps[k].append(systems[k].run(r))
        print(f"run {r}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in sps.items()), flush=True)
    E = full.num_envs
    us = {k: 1e6 * E / statistics.median(v) for k, v in sps.items()}
    print(f"\n## {name}: microseconds per iteration ({E} env steps), median of {repeats} alternating runs")
    print("| system | acting only | full | learning (full - acting) |")
    print("|---|---|---|---|")
    for who in ("ours", "fused"):
        a, f = us[f"{who}, act only"], us[f"{who}, full"]
        print(f"| {who} | {a:.1f} | {f:.1f} | {f - a:.1f} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=50_000, help="env steps per run at the four configurations")
    p.add_argument("--table-steps", type=int, default=20_000, help="env steps per run in the buffer x envs table")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", choices=("configs", "table"), help="run one part only")
    p.add_argument(
        "--breakdown",
        choices=tuple(CONFIGS),
        help="instead: one configuration with and without learning (learning_starts past the run), "
        "ours and fused, to split an iteration's cost into acting and learning",
    )
    args = p.parse_args(argv)
    if args.breakdown:
        return breakdown(args.breakdown, args.steps, args.repeats)

    if args.only != "table":
        systems = {}
        for name, overrides in CONFIGS.items():
            config = make_config(overrides, args.steps)
            systems[name] = (Ours(config), Fused(config))
            print(
                f"compiled {name}: ours {systems[name][0].compile_s:.1f} s, fused {systems[name][1].compile_s:.1f} s",
                flush=True,
            )
        sps = {(name, who): [] for name in CONFIGS for who in ("ours", "fused")}
        for r in range(args.repeats):
            for name, (ours, fused) in systems.items():
                for who, system in (
                    (("ours", ours), ("fused", fused)) if r % 2 == 0 else (("fused", fused), ("ours", ours))
                ):
                    sps[(name, who)].append(system.run(r))
                print(
                    f"run {r} {name}: ours {sps[(name, 'ours')][-1]:,.0f}, fused {sps[(name, 'fused')][-1]:,.0f} env steps/s",
                    flush=True,
                )
        del systems
        print(
            f"\n## ours vs fused reference, CartPole-v1, {args.steps:,} env steps per run, median of {args.repeats} alternating runs"
        )
        print("| configuration | ours env steps/s | fused env steps/s | ours / fused (target >= 0.9) |")
        print("|---|---|---|---|")
        for name in CONFIGS:
            o, f = statistics.median(sps[(name, "ours")]), statistics.median(sps[(name, "fused")])
            print(f"| {name} | {o:,.0f} | {f:,.0f} | {o / f:.2f} |")
        o = statistics.median(sps[("PureJaxRL", "ours")])
        lo, hi = PUREJAXRL_FIGURE
        print(f"\nours @ PureJaxRL: {o / hi:.2f}-{o / lo:.2f}x PureJaxRL's own {lo:,}-{hi:,} (ANCHORS; target >= 1.0x)")

    if args.only != "configs":
        buffers, envs = (1_000, 10_000, 100_000, 1_000_000), (1, 8, 64)
        cells = {}
        for e in envs:
            for b in buffers:
                cells[(e, b)] = Ours(make_config({**LERAX_DEFAULTS, "num_envs": e, "buffer_size": b}, args.table_steps))
            print(f"compiled the {e}-env row", flush=True)
        table = {k: [] for k in cells}
        for r in range(args.repeats):
            for k, cell in cells.items():
                table[k].append(cell.run(r))
        print(
            f"\n## our env steps/s at lerax's DQN defaults, one seed, {args.table_steps:,} env steps per run, "
            f"median of {args.repeats} alternating runs"
        )
        print("| num_envs | " + " | ".join(f"buffer {b:,}" for b in buffers) + " | 1M / 10k (target >= 0.8) |")
        print("|---|" + "---|" * (len(buffers) + 1))
        for e in envs:
            med = [statistics.median(table[(e, b)]) for b in buffers]
            print(f"| {e} | " + " | ".join(f"{m:,.0f}" for m in med) + f" | {med[-1] / med[1]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
