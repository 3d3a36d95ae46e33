"""Messages that travel up from a pushed screen to the app, which hands the work down to the screen
that owns it (the main screen trains, the app opens screens). A screen never calls into the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.notifications import SeverityLevel

from lerax_tui.train.config import DQNConfig
from lerax_tui.train.events import TrainerFactory

if TYPE_CHECKING:
    from lerax_tui.core.checkpoint_index import CheckpointRow
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.core.verification import Report


class PolicyLoaded(Message):
    """The checkpoint browser loaded and verified a policy: the app opens the inspector on it.

    Attributes:
        policy: The loaded policy.
        report: Its verification report.
        row: The browser row it came from.
    """

    def __init__(self, policy: MLPQPolicy, report: Report, row: CheckpointRow) -> None:
        super().__init__()
        self.policy, self.report, self.row = policy, report, row


class ContinueTraining(Message):
    """The inspector asks for a new run from a checkpoint: the main screen loads ``config`` for
    ``env_id`` into its form and starts it with ``trainer_factory``.

    Attributes:
        env_id: The checkpoint's environment.
        config: The configuration of the new run.
        trainer_factory: Makes the trainer (an exact fork of the run's resume state, or one that
            starts from the policy's weights).
        note: What will happen, shown once the run has started.
        severity: The note's severity (``"warning"`` when continuing cannot be exact).
        origin: What the new run's ``config.json`` records under ``origin``.
    """

    def __init__(
        self,
        env_id: str,
        config: DQNConfig,
        trainer_factory: TrainerFactory,
        *,
        note: str = "",
        severity: SeverityLevel = "information",
        origin: dict | None = None,
    ) -> None:
        super().__init__()
        self.env_id, self.config, self.trainer_factory = env_id, config, trainer_factory
        self.note, self.severity, self.origin = note, severity, origin
