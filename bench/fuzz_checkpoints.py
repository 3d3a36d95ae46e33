"""Fuzz the checkpoint verifier with >= 10,000 mutations of real files.

Prints how many mutated files crashed the verifier, loaded silently, or were refused with a fitting
status (target: 0, 0, all). A flipped array byte in a file without a manifest (lerax's own files)
cannot be detected by anything — there is no digest — and is counted apart as "undetectable".

    python bench/fuzz_checkpoints.py [--n 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load_mutations() -> dict:
    """The test suite's mutations (``tests/support/mutations.py``, one list for the fuzz test and this
    bench), loaded from that file by path: tests/ is not a package on ``sys.path``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lerax_tui_test_mutations", REPO / "tests/support/mutations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTATIONS


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import jax

    from lerax_tui.core import MLPQPolicy, make_env, verify
    from lerax_tui.core.checkpoint import manifest_path, save_checkpoint

    MUTATIONS = _load_mutations()

    fixtures = REPO / "tests/fixtures/lerax"
    work = Path(tempfile.mkdtemp(prefix="lerax-fuzz-"))
    env = make_env("CartPole-v1")
    ours = save_checkpoint(MLPQPolicy(env, key=jax.random.key(0)), work / "ours", env=env, step=1000)
    originals = {
        "ours": (ours.read_bytes(), manifest_path(ours).read_text()),
        "lerax": ((fixtures / "cartpole_trained.eqx").read_bytes(), None),
        "lerax-0.0.5": ((REPO / "tests/fixtures/lerax-0.0.5/cartpole_05.eqx").read_bytes(), None),
    }
    rng = random.Random(args.seed)
    counts = collections.Counter()
    by_status = collections.Counter()
    per_mutation = collections.defaultdict(collections.Counter)
    times = []
    target = work / "m.eqx"
    for _ in range(args.n):
        which = rng.choice(sorted(originals))
        name = rng.choice(sorted(MUTATIONS))
        data, manifest = originals[which]
        new_data, new_manifest, allowed = MUTATIONS[name](data, manifest, random.Random(rng.getrandbits(64)))
        target.write_bytes(new_data)
        mpath = manifest_path(target)
        if new_manifest is None:
            mpath.unlink(missing_ok=True)
        else:
            mpath.write_text(new_manifest)
        unchanged = new_data == data and new_manifest == manifest
        t0 = time.perf_counter()
        try:
            report = verify(target)
        except Exception:
            counts["crashed"] += 1
            per_mutation[name]["crashed"] += 1
            if counts["crashed"] <= 3:
                traceback.print_exc()
            continue
        finally:
            times.append(time.perf_counter() - t0)
        by_status[report.status] += 1
        if unchanged:
            key = "unchanged-ok" if report.ok else "unchanged-refused"
        elif report.ok and "ok" in allowed:
            key = "undetectable"
        elif report.ok:
            key = "loaded-silently"
        elif report.status in allowed:
            key = "refused-right-status"
        else:
            key = "refused-wrong-status"
        counts[key] += 1
        per_mutation[name][key] += 1
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"mutations: {args.n} (seed {args.seed}) on a lerax-tui file with manifest and real lerax files (main, 0.0.5)"
    )
    for key in (
        "crashed",
        "loaded-silently",
        "refused-right-status",
        "refused-wrong-status",
        "undetectable",
        "unchanged-ok",
        "unchanged-refused",
    ):
        print(f"  {key:22s} {counts[key]}")
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in by_status.most_common()))
    print("per mutation:")
    for name in sorted(per_mutation):
        print(f"  {name:15s} " + ", ".join(f"{k} {v}" for k, v in sorted(per_mutation[name].items())))
    times_ms = sorted(t * 1000 for t in times)
    print(
        f"verify time per file: median {statistics.median(times_ms):.2f} ms, p95 {times_ms[int(0.95 * len(times_ms))]:.2f} ms"
    )
    bad = counts["crashed"] + counts["loaded-silently"] + counts["refused-wrong-status"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
