"""A folder like a user's for the browser tests, the browser benchmark and the screenshot script: a
runs folder with a real run (checkpoints and resume state), and a loose folder with lerax's files and
damaged copies of every kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lerax_tui.core.checkpoint import manifest_path, save_checkpoint, save_pytree

RUN_NAME = "CartPole-v1-20261124-120000-abc123"

# file stem in files/ -> (status from verify, browser label)
EXPECTED = {
    "cartpole_trained": ("ok", "ok (lerax file)"),
    "cartpole_05": ("ok", "ok (lerax 0.0.5 file)"),
    "truncated": ("truncated", "truncated"),
    "flipped": ("corrupt", "corrupt"),
    "garbage": ("corrupt", "corrupt"),
    "empty": ("not-a-checkpoint", "not a checkpoint"),
    "random": ("not-a-checkpoint", "not a checkpoint"),
    "broken-manifest": ("corrupt", "corrupt"),
    "lying-manifest": ("corrupt", "corrupt"),
    "serialized-no-manifest": ("ok", "no manifest"),
}


def build_browser_folder(root: Path, policy, env, *, lerax_dir: Path | None = None) -> dict[str, Path]:
    """Write ``root/runs/<run>/checkpoints/{step-000000100,final,resume}`` and ``root/files/`` with
    every kind of bad file (and, given ``lerax_dir``, lerax's files: main and 0.0.5). Returns named paths."""
    import numpy as np

    run = root / "runs" / RUN_NAME / "checkpoints"
    run.mkdir(parents=True, exist_ok=True)
    config = {
        "width_size": 8,
        "depth": 2,
        "epsilon": 0.1,
        "learning_rate": 0.001,
        "batch_size": 64,
        "total_timesteps": 2000,
    }
    step = save_checkpoint(policy, run / "step-000000100", env=env, config=config, step=100, recent_return=17.5)
    final = save_checkpoint(policy, run / "final", env=env, config=config, step=2000, recent_return=42.0)
    save_pytree({"step": np.zeros((), np.int32)}, run / "resume", kind="train-state", manifest_extra={"step": 2000})
    (run.parent / "config.json").write_text(json.dumps({"env_id": env.env_id, "config": config}))

    files = root / "files"
    files.mkdir(exist_ok=True)
    data = final.read_bytes()
    manifest = manifest_path(final).read_text()

    def variant(name: str, content: bytes, manifest_text: str | None = manifest) -> Path:
        p = files / f"{name}.eqx"
        p.write_bytes(content)
        if manifest_text is not None:
            manifest_path(p).write_text(manifest_text)
        return p

    out = {"step": step, "final": final, "resume": run / "resume.eqx"}
    if lerax_dir is not None:
        shutil.copy(lerax_dir / "cartpole_trained.eqx", files / "cartpole_trained.eqx")
        out["cartpole_trained"] = files / "cartpole_trained.eqx"
        # and the released lerax's file (its fixtures sit beside lerax main's)
        shutil.copy(lerax_dir.parent / "lerax-0.0.5" / "cartpole_05.eqx", files / "cartpole_05.eqx")
        out["cartpole_05"] = files / "cartpole_05.eqx"
    out["truncated"] = variant("truncated", data[: len(data) - 100])
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    out["flipped"] = variant("flipped", bytes(flipped))
    out["garbage"] = variant("garbage", data + b"\0trailing garbage")
    out["empty"] = variant("empty", b"", None)
    out["random"] = variant("random", np.random.default_rng(0).bytes(4096), None)
    out["broken-manifest"] = variant("broken-manifest", data, manifest[:60])
    lying = json.loads(manifest)
    lying["hyperparameters"]["width_size"] = 128
    out["lying-manifest"] = variant("lying-manifest", data, json.dumps(lying))
    out["serialized-no-manifest"] = policy.serialize(files / "serialized-no-manifest")
    (files / ".final.eqx.tmp-123-abcd").write_bytes(data[:50])  # an interrupted atomic write: never listed
    return out
