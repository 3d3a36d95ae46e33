"""The checkpoint browser's details pane: a row's status, why it cannot be loaded, and its manifest."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from lerax_tui.core.checkpoint_index import CheckpointRow, format_return, format_size

STATUS_STYLE = {
    "ok": "green",
    "pending": "dim",
    "fingerprint-mismatch": "yellow",
    "unknown-structure": "yellow",
}


def status_text(row: CheckpointRow) -> Text:
    style = STATUS_STYLE.get(row.status, "red")
    if row.status == "ok" and row.label == "no manifest":
        style = "cyan"
    return Text(row.label, style=style)


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
            fields.append(("greedy eval", f"{format_return(m['eval_return'])} (mean of {episodes} episodes at step {step}: this seed's best)"))
        if m.get("seed") is not None:
            fields.append(("seed", m.get("seed")))
    else:
        fields.append(("manifest", "none: env and hyperparameters are asked for on Enter"))
        if report.env_id:
            fields.append(("env", f"{report.env_id}" + (" (inferred from the record shapes)" if report.inferred else "")))
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
