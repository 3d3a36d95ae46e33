"""Training configuration: every hyperparameter, its range, its group, and per-family presets.

Pure Python (no JAX import), so the CLI and the TUI form can read and validate it instantly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from lerax_tui.core.env_catalogue import family

GROUPS = ("Policy", "DQN", "Exploration", "Run")


class ConfigError(ValueError):
    """An invalid hyperparameter. The message names the field, the value and what is allowed."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.field = name


def _f(default: Any, group: str, help: str, *, lo=None, hi=None, choices=None, lo_open=False):
    """A dataclass field with its form metadata (group, help text, allowed range)."""
    return field(
        default=default,
        metadata={"group": group, "help": help, "lo": lo, "hi": hi, "choices": choices, "lo_open": lo_open},
    )


@dataclass(frozen=True)
class DQNConfig:
    """Every hyperparameter of a DQN run on one environment.

    All step counts (``total_timesteps``, ``learning_starts``, ``train_frequency``,
    ``target_update_interval``, ``checkpoint_interval``) are counted in environment steps summed over
    the vectorised environments of one seed. Warm-up steps count towards ``total_timesteps``.
    """

    epsilon: float = _f(0.05, "Policy", "epsilon stored in the saved policy (its own epsilon-greedy)", lo=0.0, hi=1.0)
    width_size: int = _f(64, "Policy", "width of each hidden layer of the Q-network", lo=1, hi=4096)
    depth: int = _f(2, "Policy", "number of hidden layers of the Q-network", lo=0, hi=16)
    total_timesteps: int = _f(50_000, "DQN", "environment steps per seed, warm-up included", lo=1, hi=10**10)
    num_envs: int = _f(8, "DQN", "parallel environments per seed", lo=1, hi=4096)
    buffer_size: int = _f(50_000, "DQN", "replay buffer capacity (transitions)", lo=1, hi=10**8)
    batch_size: int = _f(64, "DQN", "transitions per gradient step", lo=1, hi=65536)
    learning_rate: float = _f(1e-3, "DQN", "Adam step size", lo=0.0, hi=1.0, lo_open=True)
    lr_schedule: Literal["constant", "linear"] = _f(
        "constant",
        "DQN",
        "learning rate over the run: constant, or linear decay to 0 at total_timesteps",
        choices=("constant", "linear"),
    )
    gamma: float = _f(0.99, "DQN", "discount factor", lo=0.0, hi=1.0)
    n_step: int = _f(1, "DQN", "rewards summed before bootstrapping (1 = one-step TD)", lo=1, hi=64)
    learning_starts: int = _f(1_000, "DQN", "environment steps collected before the first update", lo=0, hi=10**10)
    train_frequency: int = _f(8, "DQN", "environment steps between rounds of gradient steps", lo=1, hi=10**8)
    gradient_steps: int = _f(1, "DQN", "gradient steps per round", lo=1, hi=1024)
    target_update_interval: int = _f(500, "DQN", "environment steps between target updates", lo=1, hi=10**10)
    tau: float = _f(
        1.0,
        "DQN",
        "fraction of the online net mixed into the target per update (1 = hard copy)",
        lo=0.0,
        hi=1.0,
        lo_open=True,
    )
    max_grad_norm: float = _f(10.0, "DQN", "global-norm gradient clip (0 = no clipping)", lo=0.0, hi=1e6)
    double_dqn: bool = _f(True, "DQN", "online net picks the next action, target net values it")
    loss: Literal["huber", "mse"] = _f("huber", "DQN", "TD loss", choices=("huber", "mse"))
    epsilon_start: float = _f(1.0, "Exploration", "epsilon at step 0", lo=0.0, hi=1.0)
    epsilon_end: float = _f(0.05, "Exploration", "epsilon after the decay", lo=0.0, hi=1.0)
    exploration_fraction: float = _f(
        0.2, "Exploration", "fraction of the run over which epsilon decays linearly", lo=0.0, hi=1.0
    )
    seed: int = _f(0, "Run", "PRNG seed of seed 0 (seed k uses seed + k)", lo=0, hi=2**31 - 1)
    num_seeds: int = _f(1, "Run", "independent seeds trained side by side (vmapped)", lo=1, hi=1024)
    checkpoint_interval: int = _f(
        0, "Run", "environment steps between periodic checkpoints (0 = final only)", lo=0, hi=10**10
    )
    eval_episodes: int = _f(
        10,
        "Run",
        "greedy episodes per evaluation: at the end, and every eval_interval (0 = no evaluation at all)",
        lo=0,
        hi=100_000,
    )
    eval_interval: int = _f(
        0,
        "Run",
        "environment steps between greedy evaluations while training; each seed's best policy is kept as best.eqx (0, or eval_episodes 0 = none). Presets evaluate 10 times per run: it follows total_timesteps unless you set it",
        lo=0,
        hi=10**10,
    )

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> DQNConfig:
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DQNConfig:
        """Build from a dict (e.g. config.json), rejecting unknown keys."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(unknown[0], f"unknown hyperparameter (known: {', '.join(sorted(names))})")
        return cls(**{k: coerce(k, v) for k, v in data.items()})

    @property
    def policy_kwargs(self) -> dict[str, Any]:
        """The MLPQPolicy constructor arguments this config implies."""
        return {"epsilon": self.epsilon, "width_size": self.width_size, "depth": self.depth}


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DQNConfig))


def field_info(name: str) -> dataclasses.Field:
    for f in fields(DQNConfig):
        if f.name == name:
            return f
    raise ConfigError(name, f"unknown hyperparameter (known: {', '.join(FIELD_NAMES)})")


def describe_range(name: str) -> str:
    """A short human description of the allowed values, e.g. ``(0, 1]`` or ``huber|mse``."""
    f = field_info(name)
    m = f.metadata
    if m["choices"]:
        return "|".join(m["choices"])
    if f.type in ("bool", bool):
        return "true|false"
    lo, hi = m["lo"], m["hi"]
    left = "(" if m["lo_open"] else "["
    return f"{left}{_fmt(lo)}, {_fmt(hi)}]"


def _fmt(x: Any) -> str:
    if isinstance(x, int) and abs(x) >= 10**6:
        return f"{x:.0e}".replace("e+0", "e").replace("e+", "e")
    return str(x)


def coerce(name: str, value: Any) -> Any:
    """Turn ``value`` (a string from the CLI/form, or JSON value) into the field's type.

    Raises:
        ConfigError: naming the field when the value cannot be read as that type.
    """
    f = field_info(name)
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    text = value.strip() if isinstance(value, str) else value
    try:
        if kind == "bool":
            if isinstance(text, bool):
                return text
            if isinstance(text, str) and text.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(text, str) and text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            if isinstance(text, bool):
                raise ValueError
            if isinstance(text, float):
                if not text.is_integer():
                    raise ValueError
                return int(text)
            if isinstance(text, str):
                try:  # exact for any length of digits; 1e5 and 50_000 go through float below
                    return int(text)
                except ValueError:
                    pass
                number = float(text.replace("_", ""))  # accept 1e5 and 50_000
                if not math.isfinite(number) or not number.is_integer():
                    raise ValueError
                return int(number)
            return int(text)
        if kind == "float":
            if isinstance(text, bool):
                raise ValueError
            return float(text)
        return text  # Literal choices: checked by validate
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "int": "a whole number", "float": "a number"}.get(kind, kind)
        raise ConfigError(name, f"{value!r} is not {expected} (allowed {describe_range(name)})") from None


def validate(config: DQNConfig) -> None:
    """Check every field against its range and the cross-field rules.

    Raises:
        ConfigError: the first problem, naming the field, the value and the allowed range.
    """
    found = problems({f.name: getattr(config, f.name) for f in fields(config)})
    if found:
        raise found[0]


def problems(values: dict[str, Any]) -> list[ConfigError]:
    """Every problem of typed field ``values`` at once (the form shows them all): each field's type and
    range, then the cross-field rules between fields that are themselves valid. Missing names are skipped."""
    found: list[ConfigError] = []
    for f in fields(DQNConfig):
        if f.name in values:
            try:
                check_value(f, values[f.name])
            except ConfigError as error:
                found.append(error)
    bad = {error.field for error in found}

    def ok(*names: str) -> bool:
        return all(name in values and name not in bad for name in names)

    if ok("batch_size", "buffer_size") and values["batch_size"] > values["buffer_size"]:
        found.append(
            ConfigError("batch_size", f"{values['batch_size']} is larger than buffer_size {values['buffer_size']}")
        )
    if ok("epsilon_end", "epsilon_start") and values["epsilon_end"] > values["epsilon_start"]:
        found.append(
            ConfigError("epsilon_end", f"{values['epsilon_end']} is above epsilon_start {values['epsilon_start']}")
        )
    return found


def check_value(f: dataclasses.Field, value: Any) -> None:
    """One field's type and range (no cross-field rule).

    Raises:
        ConfigError: naming the field, the value (shortened) and the allowed range.
    """
    m = f.metadata
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:36] + "..."
    if m["choices"]:
        if value not in m["choices"]:
            raise ConfigError(f.name, f"{shown} is not one of {describe_range(f.name)}")
        return
    if f.type in ("bool", bool):
        if not isinstance(value, bool):
            raise ConfigError(f.name, f"{shown} is not true or false")
        return
    if f.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f.name, f"{shown} is not a whole number (allowed {describe_range(f.name)})")
    if f.type in ("float", float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f.name, f"{shown} is not a number (allowed {describe_range(f.name)})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f.name, f"{shown} is not finite (allowed {describe_range(f.name)})")
    lo, hi = m["lo"], m["hi"]
    too_low = value <= lo if m["lo_open"] else value < lo
    if too_low or value > hi:
        raise ConfigError(f.name, f"{shown} is out of range (allowed {describe_range(f.name)})")


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``["learning_rate=3e-4", "width_size=128"]`` into typed values, each in its range.

    Raises:
        ConfigError: for a pair without ``=``, an unknown name, an unreadable value or one out of
            its range.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(pair, "expected KEY=VALUE (e.g. --set learning_rate=3e-4)")
        key, _, raw = pair.partition("=")
        key = key.strip()
        if not key:
            raise ConfigError(
                pair, "expected KEY=VALUE with a hyperparameter name before = (e.g. --set learning_rate=3e-4)"
            )
        out[key] = coerce(key, raw)
        check_value(field_info(key), out[key])  # ranges now: inspect uses a value without building a config
    return out


# --- presets ----------------------------------------------------------------------------------

# The evidence for each preset (sweeps, seed counts, timings) is in bench/RESULTS.md.
_FAMILY_PRESETS: dict[str, dict[str, Any]] = {
    "classic": {},
    "cartpole": {
        "train_frequency": 4,
        "learning_rate": 2.3e-3,
        "lr_schedule": "linear",
        "width_size": 128,
        "batch_size": 128,
        "target_update_interval": 8,
        "tau": 0.05,
        "loss": "mse",
        "exploration_fraction": 0.1,
        "epsilon_end": 0.04,
        "gamma": 0.995,
    },
    "acrobot": {
        "total_timesteps": 100_000,
        "train_frequency": 4,
        "learning_rate": 6.3e-4,
        "batch_size": 128,
        "target_update_interval": 250,
        "exploration_fraction": 0.12,
        "epsilon_end": 0.1,
        "width_size": 128,
    },
    "mountaincar": {
        "total_timesteps": 200_000,
        "num_envs": 1,
        "buffer_size": 10_000,
        "batch_size": 128,
        "gamma": 0.98,
        "learning_rate": 4e-3,
        "learning_starts": 1_000,
        "train_frequency": 16,
        "gradient_steps": 8,
        "target_update_interval": 600,
        "exploration_fraction": 0.2,
        "epsilon_end": 0.07,
        "width_size": 256,
        "double_dqn": False,
    },
    "minatar": {
        "total_timesteps": 500_000,
        "width_size": 256,
        "buffer_size": 100_000,
        "learning_starts": 5_000,
        "exploration_fraction": 0.1,
        "learning_rate": 3e-4,
        "batch_size": 64,
        "target_update_interval": 1_000,
    },
    "bsuite": {"total_timesteps": 20_000, "learning_starts": 500},
    "misc": {"total_timesteps": 100_000},
}


# Per-id changes on top of the family preset.
_ENV_PRESETS: dict[str, dict[str, Any]] = {
    "Pong-misc": {"buffer_size": 10_000},  # 30x40x3 float32 observations: 50k transitions would be 1.4 GB a seed
}


# Every preset evaluates its policies this many times per run (eval_interval) and keeps the best.
EVALUATIONS_PER_RUN = 10


def _evaluation_interval(total_timesteps: int) -> int:
    return max(1, total_timesteps // EVALUATIONS_PER_RUN)


# Fields every preset derives from total_timesteps: they follow it (in the form, and with ``train --steps``
# or ``--set total_timesteps=``) unless set explicitly.
DERIVED_FROM_STEPS: dict[str, Callable[[int], int]] = {"eval_interval": _evaluation_interval}

# Fields a family's preset scales with its run's length: the preset's value at its own total_timesteps,
# times total / that total (rounded, at least 1), so a run k times as long keeps as many of them per run
# (e.g. ``"cartpole": ("train_frequency", "target_update_interval")``: as many gradient steps and target
# updates per run at any length). They follow total_timesteps like eval_interval does, unless set
# explicitly; at the preset's own length they are the preset's values. Evidence: bench/RESULTS.md.
_FAMILY_SCALED: dict[str, tuple[str, ...]] = {"cartpole": ("train_frequency", "target_update_interval")}


def may_follow_steps() -> set[str]:
    """Every field that follows total_timesteps in some preset (the form gives each an *auto* mark)."""
    return {*DERIVED_FROM_STEPS, *(name for names in _FAMILY_SCALED.values() for name in names)}


def _scaled(value: int, at_total: int) -> Callable[[int], int]:
    def rule(total: int) -> int:
        return max(1, round(value * total / at_total))

    return rule


def step_rules(env_id: str) -> dict[str, Callable[[int], int]]:
    """The fields ``env_id``'s preset derives from total_timesteps, each with its rule (total -> value)."""
    rules = dict(DERIVED_FROM_STEPS)
    scaled = _FAMILY_SCALED.get(family(env_id), ())
    if scaled:
        values = _preset_values(env_id)
        total = values.get("total_timesteps", DQNConfig.total_timesteps)
        for name in scaled:
            rules[name] = _scaled(values.get(name, field_info(name).default), total)
    return rules


def derived_fields(config: DQNConfig, rules: Mapping[str, Callable[[int], int]]) -> set[str]:
    """The fields of ``config`` that still hold what ``rules`` (:func:`step_rules`) derive from its
    total_timesteps (so they may follow it)."""
    return {name for name, rule in rules.items() if getattr(config, name) == rule(config.total_timesteps)}


def with_total_timesteps(
    config: DQNConfig, total_timesteps: int, *, env_id: str, explicit: Iterable[str] = ()
) -> DQNConfig:
    """``config`` (for ``env_id``) run for ``total_timesteps``, the fields its preset derives from the
    length following unless named in ``explicit`` or already set to something other than what its old
    total derives.

    Raises:
        ConfigError: when the result is invalid.
    """
    changes = {name: rule(total_timesteps) for name, rule in following_rules(config, env_id, explicit).items()}
    return config.replace(total_timesteps=total_timesteps, **changes)


def following_rules(config: DQNConfig, env_id: str, explicit: Iterable[str] = ()) -> dict[str, Callable[[int], int]]:
    """The rules (:func:`step_rules`) of ``config``'s fields that follow its total_timesteps: those
    that still hold what its total derives and are not named in ``explicit``."""
    rules = step_rules(env_id)
    return {name: rules[name] for name in sorted(derived_fields(config, rules) - set(explicit))}


def _preset_values(env_id: str) -> dict[str, Any]:
    return {**_FAMILY_PRESETS[family(env_id)], **_ENV_PRESETS.get(env_id, {})}


def preset(env_id: str) -> DQNConfig:
    """The default configuration for ``env_id``'s family (evidence: ``bench/RESULTS.md``),
    evaluating :data:`EVALUATIONS_PER_RUN` times over its run to keep each seed's best policy."""
    values = _preset_values(env_id)
    total = values.get("total_timesteps", DQNConfig.total_timesteps)
    values.setdefault("eval_interval", _evaluation_interval(total))
    return DQNConfig(**values)
