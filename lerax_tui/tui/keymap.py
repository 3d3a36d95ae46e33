"""The user's keymap file: binding id -> keys, applied with ``App.set_keymap``.

``~/.config/lerax-tui/keymap.toml`` (or ``$XDG_CONFIG_HOME/lerax-tui/keymap.toml``; a ``.json`` file
works too), overridden by ``$LERAX_TUI_KEYMAP``. Either a flat table or a ``[keymap]`` table::

    [keymap]
    "train.toggle" = "f9"
    "app.quit" = "ctrl+x,ctrl+q"
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.dom import DOMNode

from lerax_tui.core.safe_io import loads_json, read_text

ENV_VAR = "LERAX_TUI_KEYMAP"


def default_keymap_path() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    toml_path = base / "lerax-tui" / "keymap.toml"
    json_path = base / "lerax-tui" / "keymap.json"
    return json_path if json_path.exists() and not toml_path.exists() else toml_path


@functools.cache
def _import_tui_modules() -> None:
    """Import every module of ``lerax_tui.tui``, so a screen imported lazily (on first use) still has its
    bindings known when the keymap is read. None of them imports JAX at module level."""
    import lerax_tui.tui as tui

    for module in pkgutil.walk_packages(tui.__path__, tui.__name__ + "."):
        importlib.import_module(module.name)


def _declarations() -> list[tuple[type[DOMNode], list[Binding]]]:
    """Each widget, screen or app class with the bindings (with an id) it declares itself."""
    _import_tui_modules()
    found: list[tuple[type[DOMNode], list[Binding]]] = []
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        bindings = [b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id]
        if bindings:
            found.append((cls, bindings))
    return found


def declared_bindings() -> dict[str, Binding]:
    """Every binding id declared by the app's widget, screen and app classes, with its default binding
    (the first declaration where several classes share an id, such as ``dialog.cancel``)."""
    found: dict[str, Binding] = {}
    for _, bindings in _declarations():
        for binding in bindings:
            found.setdefault(binding.id or "", binding)
    return found


def clashes(keymap: dict[str, str]) -> list[str]:
    """Keys the user's ``keymap`` gives to two actions of the same screen or widget (Textual would keep
    one of them silently): one line each, naming both ids."""
    lines = []
    for cls, bindings in _declarations():
        owners: dict[str, list[str]] = {}
        for binding in bindings:
            for key in current_keys(binding.id or "", keymap):
                owners.setdefault(key, []).append(binding.id or "")
        for key, ids in owners.items():
            ids = sorted(set(ids))
            if len(ids) > 1 and any(i in keymap for i in ids):
                lines.append(
                    f"keymap: {key} is bound to {' and '.join(ids)} on {cls.__name__}; give one of them another key"
                )
    return lines


def binding_ids() -> set[str]:
    """Every binding id a keymap may name."""
    return set(declared_bindings())


def current_keys(binding_id: str, keymap: dict[str, str]) -> list[str]:
    """The keys bound to ``binding_id`` now: the user's keymap, else the declared default.

    Raises:
        KeyError: for an id no class declares (a typo in the code, caught by the tests).
    """
    keys = keymap.get(binding_id) or declared_bindings()[binding_id].key
    return [key.strip() for key in keys.split(",") if key.strip()]


def key_label(app: Any, binding_id: str) -> str:
    """The first key of ``binding_id`` as the footer shows it (``f9``, ``^s``), after the user's keymap.

    ``app`` is the running Textual app; its ``user_keymap`` attribute (if any) is the keymap read at start.
    """
    binding = declared_bindings()[binding_id]
    first = current_keys(binding_id, getattr(app, "user_keymap", {}) or {})[0]
    return str(app.get_key_display(binding.with_key(first)))


KEY_REFERENCE = re.compile(r"\{key:([a-z_]+\.[a-z_]+)\}")


def with_keys(text: str, app: Any) -> str:
    """``text`` with every ``{key:ID}`` replaced by that binding's current key (help, notices, palette)."""
    return KEY_REFERENCE.sub(lambda match: key_label(app, match.group(1)), text)


def _unknown(binding_id: str, known_ids: set[str]) -> str:
    close = difflib.get_close_matches(binding_id, sorted(known_ids), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown binding id {binding_id!r} ({hint}known: {', '.join(sorted(known_ids))})"


def load_keymap(path: Path | None, known_ids: set[str]) -> tuple[dict[str, str], list[str]]:
    """Read ``path``; returns (keymap, problems). A missing file is an empty keymap, not a problem.

    Unknown ids and non-string keys are reported and skipped, so one typo never loses the rest.
    """
    if path is None or not path.exists():
        return {}, []
    try:  # bounded: a FIFO, a device or a huge or deeply nested file is refused, not read
        text = read_text(path)
        data = loads_json(text) if path.suffix == ".json" else tomllib.loads(text)
    except RecursionError:
        return {}, [f"{path}: cannot read keymap (nested too deeply); using default keys"]
    except (OSError, ValueError) as error:
        return {}, [f"{path}: cannot read keymap ({error}); using default keys"]
    if not isinstance(data, dict):
        return {}, [f"{path}: a keymap is a table of binding id = key, not {type(data).__name__}; using default keys"]
    if isinstance(data.get("keymap"), dict):
        data = data["keymap"]
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in data.items():
        if binding_id not in known_ids:
            problems.append(f"{path}: {_unknown(binding_id, known_ids)}")
        elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keymap[binding_id] = ",".join(keys)
        elif isinstance(keys, str) and keys.strip():
            keymap[binding_id] = keys
        else:
            problems.append(f'{path}: {binding_id!r} needs a key string such as "f9" or "ctrl+x"')
    return keymap, problems
