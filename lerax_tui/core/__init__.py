"""core: spaces, the gymnax env adapter and catalogue, Q policies, checkpoint files.

Public API: ``from lerax_tui.core import MLPQPolicy, AbstractQPolicy, Discrete, Box, make_env,
catalogue, verify``. Names resolve lazily so importing ``lerax_tui.core`` does not import JAX.
Never imports Textual.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MLPQPolicy": "lerax_tui.core.policy",
    "AbstractQPolicy": "lerax_tui.core.policy",
    "Discrete": "lerax_tui.core.spaces",
    "Box": "lerax_tui.core.spaces",
    "make_env": "lerax_tui.core.env",
    "catalogue": "lerax_tui.core.env_catalogue",
    "EnvError": "lerax_tui.core.env",
    "verify": "lerax_tui.core.verification",
    "load_checkpoint": "lerax_tui.core.verification",
    "Report": "lerax_tui.core.verification",
    "CheckpointError": "lerax_tui.core.checkpoint",
    "save_checkpoint": "lerax_tui.core.checkpoint",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lerax_tui.core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
