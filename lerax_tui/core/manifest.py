"""A checkpoint's manifest entry as code reads it: the JSON object exactly as on disk, with typed fields.

:class:`Manifest` is a ``dict`` (so ``inspect --json``, ``report.to_json()`` and every file stay byte for
byte what they were, and code written against the raw object keeps working) whose properties give the
fields code uses with their types. ``verify`` builds one from an entry that ``core.schema`` has checked
(types and ranges), so the properties only pick and default; they never re-validate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class Manifest(dict[str, Any]):
    """One manifest entry (see ``core.pairs`` for why a file may have two)."""

    @classmethod
    def of(cls, entry: Mapping[str, Any] | None) -> Manifest | None:
        """``entry`` as a :class:`Manifest` (itself when it already is one; None stays None)."""
        if entry is None or isinstance(entry, Manifest):
            return entry
        return cls(entry)

    @property
    def kind(self) -> str:
        """``policy``, or e.g. ``dqn-train-state`` for a run's resume file."""
        return self.get("kind") or "policy"

    @property
    def env_id(self) -> str | None:
        return self.get("env_id")

    @property
    def env_params(self) -> dict[str, Any]:
        """Every parameter of the env the policy was trained on (empty when not recorded)."""
        return dict(self.get("env_params") or {})

    def env_params_for(self, env_id: str | None) -> dict[str, Any] | None:
        """:attr:`env_params` when ``env_id`` is the manifest's env, else None (another env's
        parameters mean nothing for it)."""
        return self.env_params if env_id is not None and env_id == self.env_id else None

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The policy's ``epsilon``, ``width_size`` and ``depth`` as recorded (empty when absent)."""
        return dict(self.get("hyperparameters") or {})

    @property
    def step(self) -> int | None:
        """The env step (per seed) the policy was saved at."""
        return self.get("step")

    @property
    def recent_return(self) -> float | None:
        """The mean of the seed's last episodes' returns when it was saved."""
        return self.get("recent_return")

    @property
    def eval_return(self) -> float | None:
        """A best checkpoint's mean greedy return (None on other checkpoints, or if not a finite number)."""
        value = self.get("eval_return")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return None

    @property
    def created(self) -> str | None:
        return self.get("created")
