"""The form's text read as a sweep: a field holding ``1e-3, 3e-3, 1e-2`` is a grid, one holding
``1e-4:1e-2:log`` a sampled range; everything else is a plain value.

No Textual here (the form widget calls it on every keystroke; tests call it directly). The parsing
and every check are :mod:`lerax_tui.train.sweep_spec`'s: this module only splits the form's values
into plain and swept ones, picks the value each swept field stands at for the base configuration's
own checks, and reads the form-only suffix ``:N`` (how many configurations a range draws).

``LO:HI[:log][:N]``: a range draws ``N`` configurations (default :data:`DEFAULT_SAMPLES`); every
sampled field is drawn together, so two ranges giving different ``N`` are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lerax_tui.train.config import ConfigError, DQNConfig
from lerax_tui.train.sweep_spec import FieldValues, SampleRange, SweepSpec, build_spec, parse_range, parse_values

DEFAULT_SAMPLES = 8
"""Configurations a form range draws when its text gives no ``:N``."""


def is_sweep_text(raw: Any) -> bool:
    """Whether a form value asks for more than one value (a list or a range)."""
    return isinstance(raw, str) and ("," in raw or ":" in raw)


def _split_samples(key: str, text: str) -> tuple[str, int | None]:
    """``"1e-4:1e-2:log:16"`` -> (``"1e-4:1e-2:log"``, 16): the form-only draw count."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) >= 3 and parts[-1].isdigit():
        count = int(parts[-1])
        if count < 1:
            raise ConfigError(key, f"{text.strip()!r} draws {count} configurations: give :N with N >= 1")
        return ":".join(parts[:-1]), count
    return text, None


def parse_form_field(key: str, text: str) -> tuple[FieldValues, int | None]:
    """One swept field's text: its values (a list, or a range) and the range's ``:N`` if given.

    Raises:
        ConfigError: naming ``key`` (an unknown or unsweepable key, a bad value, a bad range).
    """
    if ":" not in text:
        return parse_values(key, text), None
    range_text, count = _split_samples(key, text)
    return parse_range(key, range_text), count


def stand_in(values: FieldValues) -> Any:
    """The value a swept field takes in the base configuration (its first value, a range's low end)."""
    return values.lo if isinstance(values, SampleRange) else values[0]


def derived_text(values: FieldValues, rule: Callable[[int], Any]) -> str:
    """What a field that follows total_timesteps runs with when total_timesteps is swept: one value
    per length, in the lengths' order (``5000, 50000``), or a range's ends (``2000:40000:log``; each
    draw gets its own in between). The form shows it in the field's row, marked *auto*."""
    if isinstance(values, SampleRange):
        return f"{rule(int(values.lo))}:{rule(int(values.hi))}" + (":log" if values.log else "")
    return ", ".join(str(rule(int(v))) for v in values)


@dataclass
class FormSweep:
    """What the form's swept fields ask for.

    Attributes:
        swept: Field name -> a list (grid) or a :class:`SampleRange`, in the form's order.
        errors: One problem per field whose text cannot be read as a list or a range.
        samples: Configurations the ranges draw (None without ranges).
    """

    swept: dict[str, FieldValues] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    samples: int | None = None

    @property
    def active(self) -> bool:
        """Whether the form asks for a sweep at all (some field holds a list or a range)."""
        return bool(self.swept) or bool(self.errors)

    def stand_ins(self) -> dict[str, Any]:
        """Swept field -> the value the base configuration is checked with."""
        return {key: stand_in(values) for key, values in self.swept.items()}

    def spec(self, base: DQNConfig, follow: Mapping[str, Callable[[int], Any]] | None = None) -> SweepSpec:
        """The checked sweep over ``base`` (the form's plain values with the stand-ins); ``follow``:
        the fields that follow total_timesteps (not set by hand), each configuration's own when it is swept.

        Raises:
            ConfigError: a configuration breaking a cross-field rule, too many configurations or
                agents (named with the field or option, as :func:`build_spec` says).
        """
        grid = {k: v for k, v in self.swept.items() if not isinstance(v, SampleRange)}
        sample = {k: v for k, v in self.swept.items() if isinstance(v, SampleRange)}
        samples = (self.samples or DEFAULT_SAMPLES) if sample else None
        try:
            return build_spec(base, grid, sample, samples, seeds=base.num_seeds, follow=follow)
        except ConfigError as error:
            raise self.on_field(error) from None

    def on_field(self, error: ConfigError) -> ConfigError:
        """``error`` named after a form field: the CLI's options (``--grid``, ``--samples``,
        ``--seeds``) become the first swept field, or ``num_seeds``."""
        if not error.field.startswith("--"):
            return error
        name = "num_seeds" if error.field == "--seeds" or not self.swept else next(iter(self.swept))
        return ConfigError(name, "sweep: " + str(error)[len(error.field) + 2 :])


def read_form(raw_values: Mapping[str, Any]) -> tuple[dict[str, Any], FormSweep]:
    """Split the form's raw values into plain ones (to coerce as usual) and a :class:`FormSweep`.

    A field that holds a list or a range is parsed here (its error recorded, never raised); its plain
    value becomes its stand-in so the form's own checks still see a whole configuration.
    """
    plain: dict[str, Any] = {}
    sweep = FormSweep()
    counts: dict[str, int] = {}
    for key, raw in raw_values.items():
        if not is_sweep_text(raw):
            plain[key] = raw
            continue
        try:
            values, count = parse_form_field(key, raw)
        except ConfigError as error:
            sweep.errors.append(error)
            continue
        if isinstance(values, list) and len(values) == 1:
            plain[key] = values[0]  # "64," is one value: not a sweep
            continue
        sweep.swept[key] = values
        plain[key] = stand_in(values)
        if count is not None:
            counts[key] = count
    if len(set(counts.values())) > 1:
        first, *rest = counts
        sweep.errors.append(
            ConfigError(
                rest[0],
                f"draws {counts[rest[0]]} configurations but {first} draws {counts[first]}: ranges are drawn "
                "together, give them one count (or :N on one of them)",
            )
        )
    elif counts:
        sweep.samples = next(iter(counts.values()))
    return plain, sweep


def swept_label(values: FieldValues, samples: int | None) -> str:
    """``sweep: 3 values`` / ``sweep: 8 draws, log`` - what a swept field's row says."""
    if isinstance(values, SampleRange):
        n = samples or DEFAULT_SAMPLES
        return f"sweep: {n} draws{', log' if values.log else ''} in [{values.lo:g}, {values.hi:g}]"
    return f"sweep: {len(values)} values"


def status_text(spec: SweepSpec) -> str:
    """The status line before F5: ``sweep: 9 configurations x 4 seeds = 36 agents``."""
    return f"sweep: {spec.summary()}"
