"""The hyperparameter form, built from ``DQNConfig``'s field metadata (group, help, range)."""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from lerax_tui.train.config import (
    GROUPS,
    ConfigError,
    DQNConfig,
    check_value,
    coerce,
    derived_fields,
    describe_range,
    field_info,
    may_follow_steps,
    problems,
    step_rules,
)
from lerax_tui.train.memory import engine_problems
from lerax_tui.train.sweep_spec import SweepSpec
from lerax_tui.tui.sweep_form import derived_text, is_sweep_text, parse_form_field, read_form, stand_in, swept_label


def _kind(f: Field[Any]) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FieldRow(Vertical):
    """One hyperparameter: name and allowed range, its editor, and an error line when invalid."""

    def __init__(self, f: Field[Any]) -> None:
        super().__init__(classes="field-row", id=f"row-{f.name}")
        self.field = f
        self.tooltip = f.metadata["help"]
        self._error: str | None = None
        self._sweep: str | None = None

    @property
    def name_(self) -> str:
        return self.field.name

    def compose(self) -> ComposeResult:
        f = self.field
        with Horizontal(classes="field-head"):
            yield Label(f.name, classes="field-name")
            if f.name in may_follow_steps():  # shown while it follows total_timesteps (the row's -follows)
                yield Label("auto ", classes="field-follows")
            yield Label(describe_range(f.name), classes="field-range")
        if f.metadata["choices"]:
            yield Select([(c, c) for c in f.metadata["choices"]], allow_blank=False, compact=True, id=f"field-{f.name}")
        elif _kind(f) == "bool":
            yield Checkbox("enabled", compact=True, id=f"field-{f.name}")
        else:
            yield Input(compact=True, id=f"field-{f.name}", select_on_focus=False)
        yield Static("", classes="field-sweep")
        yield Static("", classes="field-error")

    @property
    def editor(self) -> Widget:
        return self.query_one(f"#field-{self.field.name}")

    def raw_value(self) -> Any:
        editor = self.editor
        if isinstance(editor, Select):
            return editor.value
        if isinstance(editor, Checkbox):
            return editor.value
        return editor.value  # type: ignore[attr-defined]

    def set_value(self, value: Any) -> None:
        editor = self.editor
        with editor.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            if isinstance(editor, Input):
                editor.value = _text(value)
            else:
                editor.value = value  # type: ignore[attr-defined]

    def set_sweep(self, label: str | None) -> None:
        """Mark the field as swept (``label`` says how: ``sweep: 3 values``) or as a plain value."""
        if label == self._sweep:  # called for every row on every keystroke: only a change redraws
            return
        self._sweep = label
        self.set_class(bool(label), "-swept")
        self.query_one(".field-sweep", Static).update(label or "")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A class, not :focus-within: Textual restyles the row's own style on focus, not its label's.
        self.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")

    def set_error(self, message: str | None) -> None:
        if message == self._error:  # every keystroke validates every row: only a change redraws
            return
        self._error = message
        self.set_class(bool(message), "-invalid")
        self.query_one(".field-error", Static).update(message or "")


class ConfigForm(VerticalScroll, can_focus=False):
    """Every field of ``DQNConfig`` grouped as Policy, DQN, Exploration, Run."""

    HELP = """\
## Hyperparameters

Every field of the DQN configuration, grouped. The allowed range is shown at the right of each
name; every invalid value is named in red under its field (the engine's limits too: the 32-bit step
counter, replay buffers that must fit in memory) and blocks **{key:train.toggle}** until it is fixed.
`eval_interval` follows `total_timesteps` (10 evaluations per run) while marked *auto*, until you set it;
so does any field the environment's preset scales with the run's length (it is marked *auto* too).
When `total_timesteps` is swept, an *auto* field shows one value per length, in the same order
(`5000, 50000`): each configuration runs with its own length's.
**{key:form.reset}** resets every field to the selected environment's preset.
The form is locked while a run is going. Hover (or focus) a field for what it means.

**Sweeps.** A text field that holds a list (`1e-3, 3e-3, 1e-2`) or a range (`1e-4:1e-2:log`, drawing
8 configurations; `1e-4:1e-2:log:16` draws 16) is swept: the form trains every combination of the
lists (times the draws of the ranges), each with `num_seeds` seeds, and the status line says how many
agents that is before **F5** starts the sweep.
"""

    class Changed(Message):
        """The form's validity changed or a value was edited."""

        def __init__(self, error: ConfigError | None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, config: DQNConfig, *, env_id: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preset = config
        self.rules = step_rules(env_id)  # the fields this env's preset derives from total_timesteps
        self._initial = config
        self.error: ConfigError | None = None
        self.errors: list[ConfigError] = []
        self.observation_shape: tuple[int, ...] | None = None
        self.memory_available: int | None = None
        self._loaded: dict[str, Any] = {}
        self._explicit: set[str] = set()  # derived fields the user set (they no longer follow total_timesteps)
        # Following fields that show one value per swept length ("5000, 50000"): the value each stands at
        # in the base configuration (the first length's; build_spec's follow gives each configuration its own).
        self._per_length: dict[str, Any] = {}
        self.sweep: SweepSpec | None = None

    def compose(self) -> ComposeResult:
        all_fields = fields(DQNConfig)
        for group in GROUPS:
            yield Static(group, classes="group-title")
            for f in all_fields:
                if f.metadata["group"] == group:
                    yield FieldRow(f)

    def on_mount(self) -> None:
        self.load(self._initial)

    @property
    def rows(self) -> dict[str, FieldRow]:
        return {row.field.name: row for row in self.query(FieldRow)}

    def load(self, config: DQNConfig, *, preset: DQNConfig | None = None, env_id: str | None = None) -> None:
        """Show ``config``'s values; ``preset`` becomes what reset-to-preset returns to, ``env_id`` the env
        whose preset's rules say which fields follow total_timesteps."""
        if preset is not None:
            self.preset = preset
        if env_id is not None:
            self.rules = step_rules(env_id)
        with self.app.batch_update():
            for name, row in self.rows.items():
                row.set_value(getattr(config, name))
        self._loaded = {name: row.raw_value() for name, row in self.rows.items()}
        self._explicit = set(self.rules) - derived_fields(config, self.rules)
        self._per_length = {}
        self._show_following()
        self.validate()

    def reset_to_preset(self) -> None:
        self.load(self.preset)

    def edited_fields(self) -> list[str]:
        """The fields whose value differs from what was last loaded (what switching environment would lose)."""
        edited = []
        for name, row in self.rows.items():
            loaded, now = self._loaded.get(name), row.raw_value()
            if now == loaded or (name in self.rules and name not in self._explicit):
                continue  # unchanged, or following total_timesteps (the user edited that one)
            try:
                if coerce(name, now) == coerce(name, loaded):  # 50_000 and 50000 are the same value
                    continue
            except ConfigError:
                pass
            edited.append(name)
        return edited

    def set_engine_context(self, observation_shape: tuple[int, ...] | None, memory_available: int | None) -> None:
        """What the engine's checks need: the env's observation shape and the memory for the replay buffers
        (None: unknown, that check is skipped)."""
        if (observation_shape, memory_available) != (self.observation_shape, self.memory_available):
            self.observation_shape, self.memory_available = observation_shape, memory_available
            self.validate()

    def validate(self) -> DQNConfig | None:
        """Show every problem inline at once (each field's first); the config when all is well.

        The engine's own checks (the 32-bit step counter, replay buffers that fit in memory) run here too,
        so they show while typing rather than after F5.
        """
        rows = self.rows
        values: dict[str, Any] = {}
        raw = {name: row.raw_value() for name, row in rows.items()}
        for name, stand in self._per_length.items():  # a following field's per-length values: no sweep of its own
            if name not in self._explicit:
                raw[name] = stand
        plain, sweep = read_form(raw)
        found: list[ConfigError] = list(sweep.errors)
        for name, row in rows.items():
            row.set_sweep(swept_label(sweep.swept[name], sweep.samples) if name in sweep.swept else None)
            if name not in plain:  # a list or range that cannot be read: its error is in found
                continue
            try:
                values[name] = coerce(name, plain[name])
            except ConfigError as error:
                found.append(error)
        found += problems(values)
        config = None
        self.sweep = None
        if not found:
            config = DQNConfig(**values)  # a sweep's fields stand at their first value here
            # A sweep's replay buffers are checked all together (its largest program), not the base's alone.
            found = engine_problems(self.observation_shape, config, None if sweep.swept else self.memory_available)
            if not found and sweep.swept:
                try:
                    follow = {n: r for n, r in self.rules.items() if n not in self._explicit}
                    self.sweep = sweep.spec(config, follow=follow)
                    self.sweep.check_memory(self.observation_shape, self.memory_available)
                except ConfigError as error:  # a cross-field rule of one configuration, too many agents
                    found, self.sweep = [sweep.on_field(error)], None
            if found:
                config = None
        first_per_field: dict[str, ConfigError] = {}
        for problem in found:
            first_per_field.setdefault(problem.field, problem)
        for name, row in rows.items():
            shown = first_per_field.get(name)
            row.set_error(str(shown) if shown else None)
        self.errors = list(first_per_field.values())
        self.error = self.errors[0] if self.errors else None
        self.post_message(self.Changed(self.error))
        return config

    def config(self) -> DQNConfig:
        """The validated config.

        Raises:
            ConfigError: the first problem (every one is shown inline, the first one's field focused).
        """
        config = self.validate()
        if config is None:
            assert self.error is not None
            self.rows[self.error.field].editor.focus()
            raise self.error
        return config

    def _follow_total_timesteps(self) -> None:
        """total_timesteps changed: the fields derived from it (eval_interval, ...) follow unless set by hand."""
        raw = self.rows["total_timesteps"].raw_value()
        try:
            if is_sweep_text(raw):  # a swept length: each configuration gets its own (build_spec's follow)
                lengths = parse_form_field("total_timesteps", raw)[0]
                swept = not isinstance(lengths, list) or len(lengths) > 1
                total = stand_in(lengths)
            else:
                lengths, swept = [], False
                total = coerce("total_timesteps", raw)
                check_value(field_info("total_timesteps"), total)
        except ConfigError:
            return  # half typed: follow once it is a valid number again
        self._per_length = {}
        for name, rule in self.rules.items():
            if name in self._explicit:
                continue
            if swept:  # what each length runs with, in the lengths' order ("5000, 50000")
                self.rows[name].set_value(derived_text(lengths, rule))
                self._per_length[name] = rule(total)
            else:
                self.rows[name].set_value(rule(total))

    def _show_following(self) -> None:
        for name, row in self.rows.items():
            row.set_class(name in self.rules and name not in self._explicit, "-follows")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        event.stop()
        name = (event.control.id or "").removeprefix("field-") if event.control is not None else ""
        if name == "total_timesteps":
            self._follow_total_timesteps()
        elif name in self.rules:
            self._explicit.add(name)
            self._show_following()
        self.validate()
