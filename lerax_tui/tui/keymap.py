"""The user's keymap file: binding id -> keys, applied with ``App.set_keymap``.

``~/.config/lerax-tui/keymap.toml`` (or ``$XDG_CONFIG_HOME/lerax-tui/keymap.toml``; a ``.json`` file
works too), overridden by ``$LERAX_TUI_KEYMAP``. Either a flat table or a ``[keymap]`` table::

    [keymap]
    "train.toggle" = "f9"
    "app.quit" = "ctrl+x,ctrl+q"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

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


def binding_ids() -> set[str]:
    """Every binding id declared by a loaded widget, screen or app class (what a keymap may name)."""
    ids: set[str] = set()
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        ids.update(b.id for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id)
    return ids


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
            problems.append(f"{path}: unknown binding id {binding_id!r} (known: {', '.join(sorted(known_ids))})")
        elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keymap[binding_id] = ",".join(keys)
        elif isinstance(keys, str) and keys.strip():
            keymap[binding_id] = keys
        else:
            problems.append(f'{path}: {binding_id!r} needs a key string such as "f9" or "ctrl+x"')
    return keymap, problems
