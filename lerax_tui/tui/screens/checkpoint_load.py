"""Loading a checkpoint from the browser (Enter): verify first when needed, ask for the env and
hyperparameters of a file without a manifest, then load it in a thread worker.

The worker's body, :func:`load_row`, runs off the UI thread and only posts messages: the browser
turns each into what the user sees (a refreshed row, the parameters dialog, a notification), and a
loaded policy travels on up to the app as :class:`~lerax_tui.tui.messages.PolicyLoaded`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from lerax_tui.core.checkpoint_index import CheckpointIndex, CheckpointRow
from lerax_tui.tui.checkpoint_text import row_label, why_not_loaded
from lerax_tui.tui.messages import PolicyLoaded

if TYPE_CHECKING:
    from lerax_tui.core.policy import MLPQPolicy
    from lerax_tui.core.verification import Report

Loader = Callable[..., "tuple[MLPQPolicy, Report]"]
FormDefaults = Callable[[], tuple[str | None, dict]]
POLICY_KEYS = ("width_size", "depth", "epsilon")


def default_loader(
    path: Path, *, env_id: str | None = None, overrides: dict | None = None
) -> tuple[MLPQPolicy, Report]:
    from lerax_tui.core.verification import load_checkpoint

    return load_checkpoint(path, env_id=env_id, overrides=overrides)


class RowVerified(Message):
    """A row's report changed (verified again, or the load found it bad): refresh its cells."""

    def __init__(self, row: CheckpointRow) -> None:
        super().__init__()
        self.row = row


class ParametersNeeded(Message):
    """The file has no manifest: ask the user for its env and hyperparameters, then verify again."""

    def __init__(self, row: CheckpointRow) -> None:
        super().__init__()
        self.row = row


class LoadRefused(Message):
    """The file cannot be loaded: ``message`` says why, ``title`` names the file."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title, self.message = title, message


def refused(row: CheckpointRow) -> LoadRefused:
    return LoadRefused(f"{row.name}: {row_label(row)}", why_not_loaded(row))


def load_row(
    index: CheckpointIndex,
    loader: Loader,
    row: CheckpointRow,
    env_id: str | None,
    overrides: dict | None,
    *,
    verify_first: bool,
    post: Callable[[Message], object],
    cancelled: Callable[[], bool],
) -> None:
    """The load worker's body (any thread): every outcome is a message passed to ``post``."""
    from lerax_tui.core.checkpoint import CheckpointError

    if verify_first:
        report = index.verify_row(row, env_id=env_id, overrides=overrides)
        post(RowVerified(row))
        if report is None or not report.ok:
            if report is not None and report.manifest is None and env_id is None and row.needs_parameters:
                post(ParametersNeeded(row))
            else:
                post(refused(row))
            return
        if report.manifest is None and env_id is None:  # verified now: still needs the user's word
            post(ParametersNeeded(row))
            return
    try:
        policy, report = loader(row.path, env_id=env_id, overrides=overrides)
    except CheckpointError as e:
        row.report = e.report
        post(RowVerified(row))
        post(refused(row))
        return
    except Exception as e:  # never a traceback in the UI
        post(LoadRefused(f"{row.name}: load failed", f"{type(e).__name__}: {e}"))
        return
    if not cancelled():  # a second Enter superseded this load
        post(PolicyLoaded(policy, report, row))


def prefill(index: CheckpointIndex, row: CheckpointRow, form_defaults: FormDefaults | None) -> tuple[str | None, dict]:
    """The parameters dialog's first values: read off the file first (they are facts), then the
    app's form (``form_defaults``; an invalid form is skipped)."""
    form_env: str | None = None
    form_hp: dict = {}
    if form_defaults is not None:
        try:
            form_env, form_hp = form_defaults()
        except Exception:  # an invalid form: prefill from the file alone
            form_env, form_hp = None, {}
    report = index.own_report(row) or (row.report if row.requested is None else None)
    env_id = (report.env_id if report is not None else None) or form_env
    hp = {k: form_hp.get(k) for k in POLICY_KEYS if form_hp.get(k) is not None}
    if report is not None and report.hyperparameters:
        hp.update({k: v for k, v in report.hyperparameters.items() if v is not None})
    return env_id, hp


def parameters_note(row: CheckpointRow) -> str:
    """The dialog's explanation of why it asks."""
    report = row.report
    note = "No manifest: the file does not say what it was built for. "
    if report is not None and report.inferred and report.env_id:
        note += f"Inferred from its record shapes: {report.env_id}. "
    return note + "Check the values; the file is verified against them before anything loads."
