"""JAX's persistent compilation cache under the user's cache folder, so a second launch skips compiling.

``LERAX_TUI_JAX_CACHE`` overrides the folder; setting it to ``off`` disables the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

_enabled: Path | None = None


def cache_dir() -> Path | None:
    """Where compiled programs are kept (``$XDG_CACHE_HOME/lerax-tui/jax`` or ``~/.cache/...``)."""
    override = os.environ.get("LERAX_TUI_JAX_CACHE")
    if override is not None:
        return None if override.strip().lower() in ("", "off", "0", "none") else Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lerax-tui" / "jax"


def enable_compilation_cache() -> Path | None:
    """Point JAX's persistent cache at :func:`cache_dir` (idempotent). Returns the folder or None."""
    global _enabled
    if _enabled is not None:
        return _enabled
    folder = cache_dir()
    if folder is None:
        return None
    import jax

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compile every time rather than fail
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # Our programs compile in 1-5 s on a small CPU; cache everything that took noticeable time.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _enabled = folder
    return folder
