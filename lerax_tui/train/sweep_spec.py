"""What a hyperparameter sweep asks for: grids, sampled ranges and seeds, checked before anything runs.

Pure Python (no JAX at import): the app's form calls :func:`parse_field` and :func:`build_spec`
while the user types, and the CLI refuses a bad sweep before it makes a folder.

- ``--grid KEY=V1,V2,...`` (form text ``"1e-3, 3e-3, 1e-2"``): a list of values for one
  hyperparameter, each read and range-checked like ``--set`` (:func:`~lerax_tui.train.config.coerce`,
  :func:`~lerax_tui.train.config.check_value`).
- ``--sample KEY=LO:HI[:log]`` (form text ``"1e-4:1e-2:log"``) with ``--samples N``: N random
  values, uniform or log-uniform, ints rounded, drawn from a generator seeded by the base config's
  ``seed`` (the same command draws the same configurations).
- The configurations are the cartesian product of the grids, times the N samples (each grid point
  meets the same N draws); every configuration runs ``seeds`` seeds (0..K-1 of its ``seed``, the
  same for every configuration, so they meet the same initial weights and episodes).

Keys split by what a change costs the engine (:data:`TRACED_KEYS` vs :data:`SHAPE_KEYS`): a traced
key becomes a per-agent value inside one compiled program; a shape key (an array shape or the
program's loop structure) needs a program of its own, and the programs run one after another.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lerax_tui.train.config import FIELD_NAMES, ConfigError, DQNConfig, check_value, coerce, field_info
from lerax_tui.train.memory import transition_bytes
from lerax_tui.train.sweep_list import check_distinct, fill_listed, listed_keys, with_listed_total

ENGINE_KEYS: tuple[str, ...] = (
    "learning_rate",
    "lr_schedule",
    "gamma",
    "tau",
    "epsilon_start",
    "epsilon_end",
    "exploration_fraction",
    "max_grad_norm",
    "loss",
    "double_dqn",
    "learning_starts",
    "train_frequency",
    "target_update_interval",
)
"""The keys the compiled iteration reads that may be traced per agent (``hyper.Hyper``)."""

TRACED_KEYS: frozenset[str] = frozenset(ENGINE_KEYS) | {
    "epsilon",
    "eval_episodes",
    "eval_interval",
    "checkpoint_interval",
}
"""Keys that change no array shape: agents that differ only in these share one compiled program
(the host-side ones - evaluation and checkpoint settings, the saved epsilon - never enter it)."""

NOT_SWEPT: dict[str, str] = {
    "seed": "the seeds of a sweep are --seeds K (seed..seed+K-1 for every configuration)",
    "num_seeds": "give the seeds per configuration with --seeds K",
}
"""Keys a sweep cannot vary, and why."""

SHAPE_KEYS: frozenset[str] = frozenset(set(FIELD_NAMES) - TRACED_KEYS - set(NOT_SWEPT))
"""Keys that need a program of their own: width_size, depth, batch_size, buffer_size, num_envs,
n_step, gradient_steps (the update loop's structure) and total_timesteps (the run's length)."""

MAX_CONFIGS = 4096
"""The most configurations one sweep may have (a typo like ten 10-value grids is refused, not built)."""
MAX_AGENTS = 65536
"""The most agents (configurations x seeds) one sweep may have."""
SAMPLE_DIGITS = 4
"""Sampled floats are rounded to this many significant digits (readable folder legends, same draws)."""


@dataclass(frozen=True)
class SampleRange:
    """``LO:HI[:log]``: values drawn uniformly (or log-uniformly) between ``lo`` and ``hi``."""

    lo: float | int
    hi: float | int
    log: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "log": self.log}

    def __str__(self) -> str:
        return f"{self.lo}:{self.hi}" + (":log" if self.log else "")


FieldValues = list[Any] | SampleRange
"""What one field's text asks for: a list of values (a grid; one value is a plain setting) or a range."""


def _kind(key: str) -> str:
    f = field_info(key)
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _check_sweepable(key: str) -> None:
    field_info(key)  # unknown key: ConfigError naming the known ones
    if key in NOT_SWEPT:
        raise ConfigError(key, f"cannot be swept: {NOT_SWEPT[key]}")


def _value(key: str, text: str) -> Any:
    value = coerce(key, text)
    check_value(field_info(key), value)
    return value


def check_sweep_value(key: str, value: Any) -> Any:
    """One value of a sweepable ``key`` (a JSON value or text, read like ``--set``), typed and range-checked.

    Raises:
        ConfigError: an unknown or unsweepable key, an unreadable or out-of-range value.
    """
    _check_sweepable(key)
    return _value(key, value)


def parse_values(key: str, text: str) -> list[Any]:
    """``"1e-3, 3e-3, 1e-2"`` as typed, range-checked values of ``key`` (a grid).

    Raises:
        ConfigError: an unknown or unsweepable key, an empty list or item, an unreadable or
            out-of-range value, or a value given twice.
    """
    _check_sweepable(key)
    items = [item.strip() for item in text.split(",")]
    if not text.strip():
        raise ConfigError(key, "empty list: give one value or more, separated by commas (e.g. 1e-3,3e-3)")
    if any(not item for item in items):
        raise ConfigError(key, f"{text.strip()!r} has an empty item: separate values by single commas")
    values: list[Any] = []
    for item in items:
        value = _value(key, item)
        if value in values:
            raise ConfigError(key, f"{value!r} is listed twice")
        values.append(value)
    return values


def parse_range(key: str, text: str) -> SampleRange:
    """``"LO:HI"`` or ``"LO:HI:log"`` for a numeric ``key`` (each end range-checked).

    Raises:
        ConfigError: an unknown or unsweepable key, a key that is not a number (a choice, a bool),
            unreadable or out-of-range ends, ``LO > HI``, or ``log`` with ``LO <= 0``.
    """
    _check_sweepable(key)
    kind = _kind(key)
    if kind not in ("int", "float"):
        raise ConfigError(key, "is not a number: sample it with a list instead (--grid KEY=A,B)")
    parts = [p.strip() for p in text.split(":")]
    log = len(parts) == 3 and parts[2].lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise ConfigError(key, f"{text.strip()!r} is not a range: write LO:HI or LO:HI:log (e.g. 1e-4:1e-2:log)")
    lo, hi = _value(key, parts[0]), _value(key, parts[1])
    if lo > hi:
        raise ConfigError(key, f"range {lo}:{hi} has its low end above its high end")
    if log and lo <= 0:
        raise ConfigError(key, f"log range {lo}:{hi} needs a low end above 0")
    return SampleRange(lo, hi, log)


def parse_field(key: str, text: str) -> FieldValues:
    """One form field's text: a range when it holds ``:``, otherwise a list (one value or more).

    Raises:
        ConfigError: as :func:`parse_values` and :func:`parse_range`.
    """
    return parse_range(key, text) if ":" in text else parse_values(key, text)


def _split_pair(pair: str, option: str, example: str) -> tuple[str, str]:
    if "=" not in pair:
        raise ConfigError(option, f"{pair!r} is not KEY=VALUES (e.g. {option} {example})")
    key, _, text = pair.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(option, f"{pair!r} has no hyperparameter name before = (e.g. {option} {example})")
    return key, text


def parse_grid_args(pairs: Sequence[str]) -> dict[str, list[Any]]:
    """``--grid KEY=V1,V2,...`` arguments, in order (a key given twice is refused)."""
    out: dict[str, list[Any]] = {}
    for pair in pairs:
        key, text = _split_pair(pair, "--grid", "learning_rate=1e-3,3e-3")
        if key in out:
            raise ConfigError(key, "is given to --grid twice: list all its values in one --grid")
        out[key] = parse_values(key, text)
    return out


def parse_sample_args(pairs: Sequence[str]) -> dict[str, SampleRange]:
    """``--sample KEY=LO:HI[:log]`` arguments, in order (a key given twice is refused)."""
    out: dict[str, SampleRange] = {}
    for pair in pairs:
        key, text = _split_pair(pair, "--sample", "learning_rate=1e-4:1e-2:log")
        if key in out:
            raise ConfigError(key, "is given to --sample twice")
        out[key] = parse_range(key, text)
    return out


def _round_sample(key: str, r: SampleRange, x: float) -> Any:
    if _kind(key) == "int":
        return int(min(max(round(x), r.lo), r.hi))
    if x != 0:
        x = round(x, SAMPLE_DIGITS - 1 - math.floor(math.log10(abs(x))))
    return float(min(max(x, r.lo), r.hi))


def draw_samples(sample: Mapping[str, SampleRange], samples: int, seed: int) -> list[dict[str, Any]]:
    """``samples`` draws of every sampled key (a generator seeded by ``seed``: stable across runs)."""
    rng = random.Random(seed)
    out = []
    for _ in range(samples):
        draw = {}
        for key, r in sample.items():
            u = rng.random()
            x = math.exp(math.log(r.lo) + u * (math.log(r.hi) - math.log(r.lo))) if r.log else r.lo + u * (r.hi - r.lo)
            draw[key] = _round_sample(key, r, x)
        out.append(draw)
    return out


def _describe(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the base configuration"


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: the base configuration, one override dict per configuration, the seeds.

    Attributes:
        base: The configuration every one starts from (``num_seeds`` is ``seeds``).
        overrides: Per configuration, the swept keys' values (same keys, in swept order), then the
            fields that follow a swept total_timesteps (``build_spec``'s ``follow``).
        seeds: Seeds per configuration.
        swept: What was asked, key by key: a list (grid) or a :class:`SampleRange` (sample).
        samples: ``--samples N``, or None without sampled keys.
    """

    base: DQNConfig
    overrides: tuple[dict[str, Any], ...]
    seeds: int
    swept: dict[str, FieldValues] = field(default_factory=dict)
    samples: int | None = None

    @property
    def num_configs(self) -> int:
        return len(self.overrides)

    @property
    def num_agents(self) -> int:
        """Configurations x seeds: the agents trained."""
        return self.num_configs * self.seeds

    @property
    def swept_keys(self) -> tuple[str, ...]:
        return tuple(self.swept)

    @property
    def traced_keys(self) -> tuple[str, ...]:
        """Swept keys that vary inside one compiled program."""
        return tuple(k for k in self.swept if k in TRACED_KEYS)

    @property
    def shape_keys(self) -> tuple[str, ...]:
        """Swept keys that need a program per distinct value."""
        return tuple(k for k in self.swept if k not in TRACED_KEYS)

    @property
    def varying_keys(self) -> tuple[str, ...]:
        """Swept keys whose value differs between configurations (a one-value grid does not)."""
        return tuple(k for k in self.swept if len({repr(o[k]) for o in self.overrides}) > 1)

    def config(self, index: int) -> DQNConfig:
        """Configuration ``index``'s full config (validated)."""
        return self.base.replace(**self.overrides[index])

    def configs(self) -> list[DQNConfig]:
        return [self.config(i) for i in range(self.num_configs)]

    def programs(self) -> list[list[int]]:
        """Configuration indices grouped by their shape keys' values: one compiled program each,
        in order of first appearance."""
        groups: dict[tuple, list[int]] = {}
        for i, o in enumerate(self.overrides):
            groups.setdefault(tuple(repr(o[k]) for k in self.shape_keys), []).append(i)
        return list(groups.values())

    def summary(self) -> str:
        """``9 configurations x 4 seeds = 36 agents`` (plus the programs when several)."""
        n, k = self.num_configs, self.seeds
        text = f"{n} configuration{'s' if n != 1 else ''} x {k} seed{'s' if k != 1 else ''} = {self.num_agents} agent{'s' if self.num_agents != 1 else ''}"
        programs = len(self.programs())
        return text + (f" in {programs} programs" if programs > 1 else "")

    def program_bytes(self, observation_shape: tuple[int, ...] | None) -> int:
        """Replay-buffer bytes of the largest program (the programs run one after another)."""
        per = transition_bytes(observation_shape)
        return max(sum(self.config(i).buffer_size for i in group) * self.seeds * per for group in self.programs())

    def check_memory(
        self, observation_shape: tuple[int, ...] | None, available: int | None, processes: int = 1
    ) -> None:
        """Refuse a sweep whose largest program's replay buffers would not fit in ``available``
        bytes (None: unknown, nothing checked), the same 80% rule as a train run. With ``processes``
        > 1 (``--distributed``) each host holds its share of the agents and ``available`` is one host's.

        Raises:
            ConfigError: naming the agents, the bytes needed and what fits.
        """
        if available is None:
            return
        processes = max(processes, 1)
        need = -(-self.program_bytes(observation_shape) // processes)
        if need <= 0.8 * available:
            return
        group = max(self.programs(), key=lambda g: sum(self.config(i).buffer_size for i in g))
        agents = len(group) * self.seeds
        per_agent = need * processes // agents
        fits = int(0.8 * available) // per_agent * processes
        host = "" if processes == 1 else f" per process ({processes} processes)"
        raise ConfigError(
            "--seeds",
            f"{agents} agents ({len(group)} configuration(s) x {self.seeds} seed(s)) in one program need "
            f"{need / 2**30:.1f} GiB of replay buffer{host} but only {available / 2**30:.1f} GiB is available "
            f"(about {fits} such agents fit: fewer seeds, fewer values, or a smaller buffer_size)",
        )


def _derive(overrides: dict[str, Any], follow: Mapping[str, Callable[[int], Any]]) -> dict[str, Any]:
    """A configuration's overrides, plus what follows its own total_timesteps when that is swept."""
    total = overrides.get("total_timesteps")
    if total is None:
        return overrides
    return {**overrides, **{k: rule(total) for k, rule in follow.items() if k not in overrides}}


def build_spec(
    base: DQNConfig,
    grid: Mapping[str, Sequence[Any]] | None = None,
    sample: Mapping[str, SampleRange] | None = None,
    samples: int | None = None,
    seeds: int = 1,
    follow: Mapping[str, Callable[[int], Any]] | None = None,
    listed: Sequence[Mapping[str, Any]] | None = None,
) -> SweepSpec:
    """Check a sweep and list its configurations (``listed`` ones, times the grid product, times
    ``samples`` draws).

    Args:
        base: The configuration the swept keys override (``--set`` and the preset already in it).
        grid: Key -> values (from :func:`parse_values` / :func:`parse_grid_args`).
        sample: Key -> range (from :func:`parse_range` / :func:`parse_sample_args`).
        samples: Draws of the sampled keys (required with ``sample``, refused without).
        seeds: Seeds per configuration.
        listed: Per-configuration overrides from ``--configs FILE`` (``sweep_list``; checked
            values): each entry meets every grid point and draw.
        follow: The fields that follow total_timesteps (``config.following_rules``: derived by the
            preset, not set explicitly). When total_timesteps is swept, each configuration gets
            each such field's value for its own total (one not swept itself), in its overrides.

    Raises:
        ConfigError: one problem, naming the key or option: an empty list, a key both gridded and
            sampled, ``--samples`` missing or without ``--sample``, too many configurations or agents,
            or a configuration that breaks a cross-field rule (named with its values).
    """
    grid_lists: dict[str, list[Any]] = {k: list(v) for k, v in (grid or {}).items()}
    grid = grid_lists
    sample = dict(sample or {})
    for key, values in grid.items():
        _check_sweepable(key)
        if not values:
            raise ConfigError(key, "empty list: give one value or more")
        for v in values:
            check_value(field_info(key), v)
    for key in sample:
        _check_sweepable(key)
        if key in grid:
            raise ConfigError(key, "is both in --grid and --sample: give it one of them")
    entries = [dict(e) for e in listed] if listed is not None else [{}]
    if not entries:
        raise ConfigError("--configs", "is an empty list: give one configuration or more")
    keys = listed_keys(entries)
    for key in keys:
        if key in grid or key in sample:
            raise ConfigError(
                key, f"is both in --configs and --{'grid' if key in grid else 'sample'}: give it one of them"
            )
    if sample and samples is None:
        raise ConfigError("--samples", "--sample needs --samples N (how many configurations to draw)")
    if samples is not None and not sample:
        raise ConfigError("--samples", "--samples needs at least one --sample KEY=LO:HI[:log]")
    if samples is not None and not 1 <= samples <= MAX_CONFIGS:
        raise ConfigError("--samples", f"{samples} is out of range (allowed [1, {MAX_CONFIGS}])")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 1024:
        raise ConfigError("--seeds", f"{seeds!r} is out of range (allowed [1, 1024])")
    num_configs = len(entries) * math.prod(len(v) for v in grid.values()) * (samples or 1)
    if num_configs > MAX_CONFIGS:
        raise ConfigError("--grid", f"{num_configs:,} configurations is more than a sweep takes ({MAX_CONFIGS:,})")
    if num_configs * seeds > MAX_AGENTS:
        raise ConfigError("--seeds", f"{num_configs * seeds:,} agents is more than a sweep takes ({MAX_AGENTS:,})")
    base = base.replace(num_seeds=seeds)
    draws = draw_samples(sample, samples, base.seed) if samples else [{}]
    overrides = tuple(
        fill_listed(
            _derive(with_listed_total({**entry, **dict(zip(grid, point)), **draw}, keys, base), follow or {}),
            keys,
            base,
        )
        for entry in entries
        for point in itertools.product(*grid.values())
        for draw in draws
    )
    check_distinct(overrides, len(overrides) // len(entries))
    for i, o in enumerate(overrides):
        try:
            base.replace(**o)
        except ConfigError as e:
            raise ConfigError(e.field, f"{str(e)[len(e.field) + 2 :]} (configuration {i}: {_describe(o)})") from None
    listed_values = {k: list({repr(o[k]): o[k] for o in overrides}.values()) for k in keys}
    swept: dict[str, FieldValues] = {**listed_values, **grid_lists, **sample}
    return SweepSpec(base=base, overrides=overrides, seeds=seeds, swept=swept, samples=samples)
