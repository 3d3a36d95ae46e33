"""Legend labels for past runs overlaid on the chart: the folder's time and hex, and what sets each
run apart from the others overlaid with it (``lr 0.0003, width 16``)."""

from __future__ import annotations

import json
from pathlib import Path

from lerax_tui.train.runs import read_run_config

_NOT_COMPARED = {"seed", "eval_episodes", "eval_interval", "checkpoint_interval", "num_seeds"}  # seeds: shown as ×N


def _config_of(run_dir: Path) -> dict:
    """The run's hyperparameters and env (bounded, checked read); empty when config.json is
    missing or unusable, so one bad file never stops the list."""
    try:
        run = read_run_config(run_dir)
    except (OSError, ValueError):
        return {}
    return {**run.config, "env": run.env_id, "num_seeds": run.num_seeds}


def config_differences(run_dirs: list[Path], limit: int = 2) -> dict[Path, str]:
    """For runs overlaid together, the hyperparameters that tell them apart ("lr 0.0003, width 16")."""
    if len(run_dirs) < 2:
        return {}
    configs = {path: _config_of(path) for path in run_dirs}
    keys = sorted({k for c in configs.values() for k in c} - _NOT_COMPARED)
    differing = [k for k in keys if len({json.dumps(c.get(k)) for c in configs.values()}) > 1]
    differing.sort(key=lambda k: k == "total_timesteps")  # run length last: the x axis shows it anyway
    short = {"learning_rate": "lr", "width_size": "width", "total_timesteps": "steps", "num_seeds": "seeds"}
    return {
        path: ", ".join(
            f"{short.get(k, k)} {str(c.get(k))[:24]}" for k in differing[:limit]
        )  # a file may hold anything
        for path, c in configs.items()
    }


def overlay_label(run_dir: Path, difference: str = "") -> str:
    """A short, distinct legend label: the folder's time and hex, then what sets it apart."""
    parts = run_dir.name.rsplit("-", 3)
    label = "-".join(parts[2:]) if len(parts) == 4 else run_dir.name  # HHMMSS-hex
    seeds = _config_of(run_dir).get("num_seeds", 1)
    if isinstance(seeds, int) and seeds > 1:
        label += f" ×{seeds}"
    return f"{label} {difference}" if difference else label
