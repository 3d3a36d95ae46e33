"""The inspector's "continue training" (``c``): from a checkpoint, a new run in a new folder, exact
when its run holds a resume state for this very step, otherwise from its weights with a fresh
replay buffer. The source run is only read.

Pure planning: the inspector posts the resulting :class:`~lerax_tui.tui.messages.ContinueTraining`,
and the main screen starts the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerax_tui.core.checkpoint_index import run_dir_of
from lerax_tui.core.manifest import Manifest
from lerax_tui.tui.messages import ContinueTraining
from lerax_tui.tui.policy_watch import fork_trainer_factory, policy_trainer_factory

if TYPE_CHECKING:
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.core.verification import Report


class UnusableConfig(ValueError):
    """The checkpoint's configuration cannot make a run (no env, or values out of range)."""


@dataclass(frozen=True)
class ContinuePlan:
    """What "continue training" will do from a checkpoint.

    Attributes:
        env_id: The checkpoint's environment.
        config: The checkpoint's config (dict from its manifest) for the new run's form.
        run_dir: The source run folder (never written to), if the file is in one.
        resume: The run's resume state at this very step (exact continuation), if there is one.
        step: The checkpoint's step.
        origin: What the new run folder records about where it came from.
    """

    env_id: str | None
    config: dict[str, Any]
    run_dir: Path | None
    resume: Path | None
    step: int
    origin: dict[str, Any]


def plan_continue(path: Path, report: Report) -> ContinuePlan:
    """The plan for ``path`` verified as ``report``.

    A run stopped early continues to its own ``total_timesteps``; a finished one trains as many
    steps again. Exact continuation needs a resume state for this checkpoint's very step.
    """
    from lerax_tui.train.lifecycle import resume_state_at

    m = report.manifest or Manifest()
    config = dict(m.get("config") or {})
    hp = report.hyperparameters or {}
    config.update({k: v for k, v in hp.items() if k in ("width_size", "depth") and v is not None})
    raw_step = m.step
    step: int = raw_step if type(raw_step) is int else 0  # a bool is no step
    total = config.get("total_timesteps")
    if isinstance(total, int) and step >= total:
        config["total_timesteps"] = step + total
    return ContinuePlan(
        env_id=m.env_id or report.env_id,
        config=config,
        run_dir=run_dir_of(path),
        resume=resume_state_at(path, m.step),
        step=step,
        origin={
            "path": str(path),
            "step": step,
            "fingerprint": report.fingerprint,
            "layout": report.fingerprint_kind,
            "env_id": m.env_id or report.env_id,
        },
    )


def continue_request(policy: MLPQPolicy, plan: ContinuePlan, *, epsilon_start: float | None = None) -> ContinueTraining:
    """The request the main screen runs: the env preset overlaid with the checkpoint's config, and
    a trainer factory that forks the resume state or starts from ``policy``'s weights.

    From weights alone, exploration starts at ``epsilon_start`` (default: the config's
    ``epsilon_end``, so a trained policy does not act at random first); the origin records which
    way the run continues (``from``: ``resume-state`` or ``policy-weights``) and that epsilon.

    Raises:
        UnusableConfig: no environment, or a configuration ``DQNConfig`` refuses.
    """
    from lerax_tui.train.config import FIELD_NAMES, ConfigError, DQNConfig, preset

    if plan.env_id is None:
        raise UnusableConfig("the checkpoint does not name its environment")
    try:
        base = preset(plan.env_id).to_dict()
        config = DQNConfig.from_dict({**base, **{k: v for k, v in plan.config.items() if k in FIELD_NAMES}})
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise UnusableConfig(str(e)) from e
    source = f" ({plan.run_dir.name} is not changed)" if plan.run_dir is not None else ""
    origin = {**plan.origin, "run": plan.run_dir.name if plan.run_dir is not None else None}
    if plan.resume is not None:
        note = (
            f"continuing exactly from step {plan.step:,} (its run's resume state) → {config.total_timesteps:,}, "
            f"in a new run folder{source}"
        )
        origin["from"] = "resume-state"
        return ContinueTraining(
            plan.env_id, config, fork_trainer_factory(plan.resume, origin), note=note, origin=origin
        )
    start = config.epsilon_end if epsilon_start is None else epsilon_start
    try:
        config = config.replace(epsilon_start=start)
    except ConfigError as e:
        raise UnusableConfig(str(e)) from e
    origin.update({"from": "policy-weights", "epsilon_start": start})
    note = f"{weights_note(plan)}, exploration from epsilon {start:g}, in a new run folder{source}"
    return ContinueTraining(
        plan.env_id, config, policy_trainer_factory(policy, origin), note=note, severity="warning", origin=origin
    )


def weights_note(plan: ContinuePlan) -> str:
    """Why the run starts from the weights alone (no resume state for this step)."""
    if plan.run_dir is None:
        return "no training state beside this file: training starts from its weights with a fresh replay buffer"
    return (
        f"no resume state for step {plan.step:,} in its run: training starts from this policy's weights "
        "with a fresh replay buffer"
    )
