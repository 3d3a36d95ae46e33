"""``lerax-tui sweep --configs FILE``: an explicit list of configurations instead of (or times) a grid.

The file is JSON: a list of objects, each the overrides of one configuration on the base (the preset
and ``--set``), for example::

    [{"learning_rate": 2.3e-3, "width_size": 128},
     {"learning_rate": 1e-3, "gamma": 0.99},
     {}]

(``{}`` is the base itself). A value is a JSON number, bool or string, read like ``--set``'s
(``"1e-3"`` works too) and range-checked. A key one entry names and another does not gets the base's
value there (or, for a field the preset derives from total_timesteps, the value its own total
derives), so every configuration states every listed key. This is how a handful of hand-picked
configurations (a random search's winners, to validate on fresh seeds) run as one sweep.

Pure Python (no JAX): every problem is one :class:`~lerax_tui.train.config.ConfigError` line that
names the file and the entry, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lerax_tui.core.safe_io import describe_os_error, load_json
from lerax_tui.train.config import ConfigError

MAX_LIST_BYTES = 4 * 2**20
"""The largest --configs file read (4096 configurations of every field fit in well under 1 MiB)."""


def _kind(x: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a bool", type(None): "null"}.get(
        type(x), "a number"
    )


def parse_config_list(raw: Any, source: str = "--configs") -> list[dict[str, Any]]:
    """Decoded JSON as checked per-configuration overrides (typed and range-checked values).

    Raises:
        ConfigError: naming ``source`` and the entry: not a list, an empty list, too many entries, an
            entry that is not an object, an unknown or unsweepable key, an unreadable or out-of-range
            value (an entry that repeats another is refused by ``build_spec``, once the base fills it).
    """
    from lerax_tui.train.sweep_spec import MAX_CONFIGS, check_sweep_value

    if not isinstance(raw, list):
        raise ConfigError(source, f"holds {_kind(raw)}, expected a list of objects (one per configuration)")
    if not raw:
        raise ConfigError(source, "is an empty list: give one configuration or more")
    if len(raw) > MAX_CONFIGS:
        raise ConfigError(source, f"lists {len(raw):,} configurations; a sweep takes at most {MAX_CONFIGS:,}")
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ConfigError(source, f"entry {i} is {_kind(entry)}, expected an object of KEY: VALUE")
        overrides = {}
        for key, value in entry.items():
            try:
                overrides[key] = check_sweep_value(key, value)
            except ConfigError as e:
                raise ConfigError(source, f"entry {i}: {e}") from None
        out.append(overrides)
    return out


def listed_keys(listed: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key some entry names, in the order keys first appear."""
    return list(dict.fromkeys(k for entry in listed for k in entry))


def with_listed_total(overrides: dict[str, Any], keys: Sequence[str], base: Any) -> dict[str, Any]:
    """A listed configuration that names no total_timesteps where another does runs the base's
    (stated, so what follows it is derived like its neighbours')."""
    if "total_timesteps" in keys and "total_timesteps" not in overrides:
        return {"total_timesteps": base.total_timesteps, **overrides}
    return overrides


def fill_listed(overrides: dict[str, Any], keys: Sequence[str], base: Any) -> dict[str, Any]:
    """Every listed key first (the base's value where this configuration names none and nothing
    derived it), then the rest."""
    head = {k: overrides[k] if k in overrides else getattr(base, k) for k in keys}
    return {**head, **{k: v for k, v in overrides.items() if k not in head}}


def check_distinct(overrides: Sequence[dict[str, Any]], per_entry: int) -> None:
    """Refuse a ``--configs`` list with a configuration twice (a grid alone cannot repeat one).

    Raises:
        ConfigError: naming the two entries.
    """
    seen: dict[str, int] = {}
    for i, o in enumerate(overrides):
        first = seen.setdefault(repr(o), i)
        if first != i:
            raise ConfigError(
                "--configs", f"entry {i // per_entry} is the same configuration as entry {first // per_entry}"
            )


def read_config_list(path: str | Path) -> list[dict[str, Any]]:
    """``--configs FILE``: read (size-capped, regular files only) and :func:`parse_config_list`.

    Raises:
        ConfigError: an unreadable file (missing, a folder or FIFO, too large, not UTF-8 JSON) or
            any problem :func:`parse_config_list` finds.
    """
    source = f"--configs {path}"
    try:
        raw = load_json(path, max_bytes=MAX_LIST_BYTES)
    except OSError as e:
        raise ConfigError("--configs", describe_os_error(path, e)) from None
    except ValueError as e:  # not UTF-8, not JSON, nested too deep
        raise ConfigError(source, f"is not a JSON list of configurations ({str(e)[:120]})") from None
    return parse_config_list(raw, source)
