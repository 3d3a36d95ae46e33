"""What the checkpoint browser says about a row: its status label, its table cells, what the ``/``
filter matches, and the details pane (status and why, then the manifest's fields)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text

from lerax_tui.core.checkpoint_index import PENDING, CheckpointRow
from lerax_tui.tui.columns import cut_middle, cut_right

if TYPE_CHECKING:
    from lerax_tui.core.verification import Report

# (key, width, priority) in display order: name, step and status first, the rest only where they fit
# (tui.columns.fit_columns); a step column is as wide as its widest number. The run column drops the
# env prefix (the env has its own column).
COLUMNS = (
    ("name", 16, 0),
    ("step", 8, 1),
    ("status", 26, 2),
    ("run", 22, 3),
    ("env", 13, 5),
    ("return", 6, 4),
    ("size", 8, 6),
    ("age", 4, 7),
)
NAME_LEAST = 12  # the name column gives way down to this before a column is dropped
NAME_WANT = 22  # ... and takes this before the columns after status: seed-1-step-000500000 whole
VERIFIED_COLUMNS = frozenset({"env", "step", "return", "status"})  # what verification can change in a row
RUN_STAMP = re.compile(r"-(\d{8}-\d{6}-[0-9a-f]+)$")

# Status (verify's word) -> the browser's label. "ok" depends on the fingerprint and manifest.
STATUS_LABELS = {
    PENDING: "verifying…",
    "fingerprint-mismatch": "fingerprint mismatch",
    "corrupt": "corrupt",
    "truncated": "truncated",
    "not-a-checkpoint": "not a checkpoint",
    "missing": "missing",
    "unknown-structure": "unknown structure",
    "unreadable-folder": "folder not readable",
}


def status_label(report: Report | None) -> str:
    """The browser's status text for a verification report (``None``: not verified yet)."""
    if report is None:
        return STATUS_LABELS[PENDING]
    if report.status == "ok":
        if report.fingerprint_kind == "lerax":
            return "ok (lerax file)"
        if report.fingerprint_kind == "lerax-0.0.5":
            return "ok (lerax 0.0.5 file)"
        if report.manifest is None:
            return "no manifest"
        return "ok (lerax-tui fingerprint)"
    if report.status == "unknown-structure" and report.manifest is None:
        return "no manifest"
    if report.status == "missing" and any("permission denied" in p for p in report.problems):
        return "not readable"
    return STATUS_LABELS.get(report.status, report.status)


def row_label(row: CheckpointRow) -> str:
    """The status column: the report's label, or why the folder could not be listed."""
    if row.listing_problem is not None:
        return STATUS_LABELS["unreadable-folder"]
    return status_label(row.report)


def row_env(row: CheckpointRow) -> str:
    """The env column: the manifest's, else the inferred one (with ``?``), ``…`` while verifying."""
    report = row.report
    if report is None:
        return "…" if row.listing_problem is None else "—"
    m = report.manifest
    if m and m.get("env_id"):
        return str(m["env_id"])
    if report.env_id:
        return f"{report.env_id}?" if report.inferred else str(report.env_id)
    return "—"


def format_size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def format_age(seconds: float | None) -> str:
    """``"42s"``, ``"5m"``, ``"3h"``, ``"12d"``; clock skew (a file from the future) shows ``"0s"``."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= scale:
            return f"{s // scale}{unit}"
    return f"{s}s"


def format_return(x: Any) -> str:
    """A manifest's return (any JSON value) with one decimal, ``—`` when it is not a number."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "—"
    return f"{x:.1f}" if x == x else "—"


def row_age(row: CheckpointRow, now: float) -> str:
    return format_age(None if row.mtime is None else now - row.mtime)


STEP_NAME = re.compile(r"^((?:seed-\d+-)?step-)0*(\d+)$")


def cut_name(name: str, width: int) -> str:
    """A checkpoint's name in ``width`` characters. A step checkpoint drops its zero padding
    first (``seed-1-step-500000``), then its number (``seed-1-step…``: the step column shows it),
    so seeds and steps stay told apart; any other name is cut in the middle."""
    if len(name) <= width:
        return name
    step = STEP_NAME.match(name)
    if step is None:
        return cut_middle(name, width)
    short = step.group(1) + step.group(2)
    if len(short) <= width:
        return short
    return cut_right(step.group(1).rstrip("-") + "…", width)


def format_step(step: int | None) -> str:
    return "—" if step is None else f"{step:,}"


def row_cells(row: CheckpointRow, now: float, widths: dict[str, int] | None = None) -> dict[str, str | Text]:
    """The table's cells by column key (the run without its env prefix). With ``widths``, a name
    or run longer than its column is cut in the middle (``seed-…000050000``), so step
    checkpoints and runs stay told apart; numbers are never cut (their columns fit them)."""
    stamp = RUN_STAMP.search(row.run)  # <ENV>-<date>-<time>-<hex>: the env has its own column
    widths = widths or {}
    run = stamp.group(1) if stamp else row.run
    return {
        "name": cut_name(row.name, widths.get("name", len(row.name))),
        "step": Text(format_step(row.step), justify="right"),
        "status": status_text(row),
        "run": cut_middle(run, widths.get("run", len(run))),
        "env": row_env(row),
        "return": Text(format_return(row.recent_return), justify="right"),
        "size": Text(format_size(row.size), justify="right"),
        "age": Text(row_age(row, now), justify="right"),
    }


def row_matches(row: CheckpointRow, text: str) -> bool:
    """Case-insensitive words match on name, run, env, status and path (the ``/`` filter)."""
    if not text:
        return True
    hay = " ".join((row.name, row.run, row_env(row), row_label(row), str(row.path))).lower()
    return all(word in hay for word in text.lower().split())


def why_not_loaded(row: CheckpointRow) -> str:
    """The first problems of a row that cannot be loaded, for a notification."""
    return ("; ".join(row.problems[:2]) or row_label(row)) + " — not loaded"


STATUS_STYLE = {
    "ok": "green",
    "pending": "dim",
    "fingerprint-mismatch": "yellow",
    "unknown-structure": "yellow",
}


def status_text(row: CheckpointRow) -> Text:
    style = STATUS_STYLE.get(row.status, "red")
    label = row_label(row)
    if row.status == "ok" and label == "no manifest":
        style = "cyan"
    return Text(label, style=style)


def details_text(row: CheckpointRow | None) -> Text:
    """The details pane: status and why, then the manifest's fields."""
    out = Text()
    if row is None:
        return Text("No checkpoint here. Press a to add a folder, r to rescan.", style="dim")
    out.append(f"{row.path}\n", style="bold")
    out.append("status  ")
    out.append_text(status_text(row))
    out.append("\n")
    report = row.report
    if report is None and row.listing_problem is None:
        out.append("verifying…\n", style="dim")
        return out
    problems = row.problems
    if problems:
        heading = {
            "fingerprint-mismatch": "differences (file vs what would be built)",
            "corrupt": "why it cannot be loaded",
            "truncated": "why it cannot be loaded",
        }.get(row.status, "notes" if row.status == "ok" else "why it cannot be loaded")
        out.append(f"\n{heading}\n", style="bold")
        for p in problems:
            out.append(f"  • {p}\n", style="yellow" if row.status in ("ok", "fingerprint-mismatch") else "red")
    if row.requested:
        env, hp = row.requested
        out.append(f"\nverified against  env {env}" + "".join(f", {k}={v}" for k, v in hp.items()) + "\n", style="dim")
    if report is None:
        return out
    m = report.manifest
    out.append("\n")
    fields: list[tuple[str, Any]] = []
    size = format_size(report.file_bytes if report.file_bytes is not None else row.size)
    kind = f"{report.fingerprint_kind} " if report.fingerprint_kind else ""
    if m:
        hp = m.get("hyperparameters") or {}
        step = f"{m['step']:,}" if isinstance(m.get("step"), int) else m.get("step")
        fields += [
            ("env", m.get("env_id")),
            ("policy", f"{m.get('class', '?')} " + ", ".join(f"{k}={v}" for k, v in hp.items())),
            ("step", f"{step} · recent return {format_return(m.get('recent_return'))} · {size}"),
        ]
        if isinstance(m.get("eval_return"), (int, float)):
            episodes = len(m.get("eval_returns") or [])
            fields.append(
                (
                    "greedy eval",
                    f"{format_return(m['eval_return'])} (mean of {episodes} episodes at step {step}: this seed's best)",
                )
            )
        if m.get("seed") is not None:
            fields.append(("seed", m.get("seed")))
    else:
        fields.append(("manifest", "none: env and hyperparameters are asked for on Enter"))
        if report.env_id:
            fields.append(
                ("env", f"{report.env_id}" + (" (inferred from the record shapes)" if report.inferred else ""))
            )
        if report.hyperparameters:
            fields.append(("policy", ", ".join(f"{k}={v}" for k, v in report.hyperparameters.items())))
        fields.append(("size", size))
    if report.fingerprint:
        fields.append(("fingerprint", f"{kind}{report.fingerprint}"))
    elif report.fingerprint_kind == "lerax-0.0.5":
        fields.append(("layout", "lerax 0.0.5 (no fingerprint: structure checked record by record)"))
    if row.run_dir is not None:
        fields.append(("resume", _continue_text(row, m)))
    if m:
        fields.append(("created", m.get("created")))
        versions = m.get("versions") or {}
        if versions:
            fields.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
        cfg = m.get("config") or {}
        keys = ("learning_rate", "batch_size", "buffer_size", "gamma", "total_timesteps", "num_envs")
        if any(k in cfg for k in keys):
            fields.append(("training", ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg)))
    for name, value in fields:
        if value is None or value == "":
            continue
        out.append(f"{name:<14}", style="bold")
        out.append(f"{value}\n")
    return out


def _continue_text(row: CheckpointRow, manifest: dict | None) -> str:
    """What "continue training" (inspector, c) will do from this checkpoint."""
    from lerax_tui.train.lifecycle import resume_state_at

    if not row.has_resume:
        return "no resume.eqx: continuing starts from these weights with a fresh buffer (a new run folder)"
    if resume_state_at(row.path, (manifest or {}).get("step")) is not None:
        return "resume.eqx at this step: continuing resumes exactly (in a new run folder)"
    return "the run's resume.eqx is at another step: continuing starts from these weights with a fresh buffer"
