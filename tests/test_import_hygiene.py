"""Layers point one way (tui -> train -> core), and the CLI's --help never imports JAX."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import lerax_tui


def _modules(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["_"])
    return [package] + [
        f"{package}.{m.name}" for m in pkgutil.walk_packages(pkg.__path__) if not m.name.startswith("_")
    ]


def test_core_render_and_train_never_import_textual():
    mods = _modules("lerax_tui.core") + _modules("lerax_tui.train") + _modules("lerax_tui.render")
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_help_does_not_import_jax():
    code = (
        "import sys\n"
        "from lerax_tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('JAX' if 'jax' in sys.modules else 'NOJAX', file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr.strip().endswith("NOJAX") and "lerax-tui" in out.stdout


def _imported_names(path) -> set[str]:
    """Every module a source file imports, at any depth (lazy imports inside functions too)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_train_or_tui():
    """core is the bottom layer: not even a lazy import of train or tui (core/env.py once imported
    train.config for ``family``)."""
    from pathlib import Path

    core = Path(lerax_tui.__file__).parent / "core"
    offenders = {
        f"{path.name}: {name}"
        for path in sorted(core.glob("*.py"))
        for name in _imported_names(path)
        if name.startswith(("lerax_tui.train", "lerax_tui.tui"))
    }
    assert not offenders, sorted(offenders)
