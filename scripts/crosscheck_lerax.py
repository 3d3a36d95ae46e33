"""Load files written by ``lerax-tui export`` with the real lerax, and compare its q-values.

Not part of the test suite: lerax needs Python >= 3.13 and its own dependencies. Run it with an
interpreter where lerax is installed (``pip install lerax`` gives 0.0.5; lerax main installs from
its repository), for example::

    python3.13 scripts/crosscheck_lerax.py out-lerax.eqx tests/fixtures/lerax/expected.json cartpole_trained.eqx

It prints lerax's version, whether ``MLPQPolicy.deserialize`` accepted the file, the largest
difference between lerax's q-values and the expected ones, and the greedy actions.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from lerax.compatibility.gymnax import GymnaxToLeraxEnv
from lerax.policy import MLPQPolicy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="the exported .eqx file")
    parser.add_argument("expected", help="an expected.json of tests/fixtures")
    parser.add_argument("entry", help="the entry of expected.json['files'] whose observations and q-values to use")
    parser.add_argument("--width-size", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    args = parser.parse_args()

    expected = json.load(open(args.expected))["files"][args.entry]
    env = GymnaxToLeraxEnv(*gymnax.make(expected["env_id"]))
    print(f"lerax {metadata.version('lerax')}, jax {jax.__version__}, python {sys.version.split()[0]}")
    try:
        policy = MLPQPolicy.deserialize(
            args.file, env, epsilon=0.1, width_size=args.width_size, depth=args.depth, key=jax.random.key(0)
        )
    except Exception as e:  # the point of the script is to show lerax's refusal, whatever it is
        print(f"deserialize refused {args.file}: {type(e).__name__}: {e}")
        return 1
    obs = jnp.asarray(expected["observations"], dtype=jnp.float32)
    q = np.stack([np.asarray(policy.q_values(None, o)[1]) for o in obs])
    diff = float(np.max(np.abs(q - np.asarray(expected["q_values"], dtype=np.float32))))
    actions = [int(policy(None, o)[1]) for o in obs]
    print(f"deserialize accepted {args.file}: epsilon {float(policy.epsilon)!r}")
    print(f"max |q - expected| = {diff!r}; greedy actions {actions} (expected {expected['greedy_actions']})")
    return 0 if diff == 0.0 and actions == expected["greedy_actions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
