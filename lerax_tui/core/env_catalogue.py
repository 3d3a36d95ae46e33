"""Every gymnax environment id with its family and spaces, known without importing JAX or gymnax.

The table below is what :func:`lerax_tui.core.env.probe_catalogue` reads off gymnax 1.0.1 by building
each env; ``tests/test_core_env.py`` rebuilds it and fails when the installed gymnax disagrees (then
update the rows from ``python -c "from lerax_tui.core.env import probe_catalogue; ..."``). Keeping it
static lets the CLI's ``envs``, the TUI's env picker and its tests list the envs instantly.

(Not ``core/catalogue.py``: that submodule would shadow the public ``lerax_tui.core.catalogue`` function.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Ids whose constructor downloads data: building them offline would hang or fail.
NEEDS_DOWNLOAD = {"MNISTBandit-bsuite": "its constructor downloads the MNIST dataset, which cannot happen offline"}


@dataclass(frozen=True)
class EnvInfo:
    """One row of the catalogue.

    Attributes:
        env_id: The gymnax id.
        family: Its preset family (:func:`family`).
        observation_shape: The observation's shape (None when the env cannot be built).
        action_space: ``Discrete(n)``, ``Box(shape)`` or ``?``.
        num_actions: ``n`` of a Discrete action space, else None.
        supported: Whether an ``MLPQPolicy`` can be trained on it.
        reason: Why not, when unsupported.
        max_episode_steps: The env's time limit, when it has one.
    """

    env_id: str
    family: str
    observation_shape: tuple[int, ...] | None
    action_space: str
    num_actions: int | None
    supported: bool
    reason: str | None
    max_episode_steps: int | None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["observation_shape"] = list(self.observation_shape) if self.observation_shape is not None else None
        return d


def family(env_id: str) -> str:
    """The preset family of a gymnax id: ``cartpole``, ``acrobot``, ``mountaincar``, ``minatar``,
    ``bsuite``, ``misc`` or ``classic``."""
    if env_id.startswith("CartPole"):
        return "cartpole"
    if env_id.startswith("Acrobot"):
        return "acrobot"
    if env_id.startswith("MountainCar"):
        return "mountaincar"
    if env_id.endswith("-MinAtar"):
        return "minatar"
    if env_id.endswith("-bsuite"):
        return "bsuite"
    if env_id.endswith("-misc"):
        return "misc"
    return "classic"


def _continuous(space: str) -> str:
    return f"continuous action space ({space}): an MLPQPolicy needs Discrete actions"


# (id, observation shape, action space, num_actions, why unsupported, max_episode_steps), in gymnax's registration order.
_ROWS: tuple[EnvInfo, ...] = tuple(
    EnvInfo(env_id, family(env_id), shape, action, actions, reason is None, reason, steps)
    for env_id, shape, action, actions, reason, steps in (
        ("CartPole-v1", (4,), "Discrete(2)", 2, None, 500),
        ("Pendulum-v1", (3,), "Box(1,)", None, _continuous("Box(1,)"), 200),
        ("Acrobot-v1", (6,), "Discrete(3)", 3, None, 500),
        ("MountainCar-v0", (2,), "Discrete(3)", 3, None, 200),
        ("MountainCarContinuous-v0", (2,), "Box(1,)", None, _continuous("Box(1,)"), 999),
        ("Asterix-MinAtar", (10, 10, 4), "Discrete(5)", 5, None, 1000),
        ("Breakout-MinAtar", (10, 10, 4), "Discrete(3)", 3, None, 1000),
        ("Freeway-MinAtar", (10, 10, 7), "Discrete(3)", 3, None, 2500),
        ("Seaquest-MinAtar", (10, 10, 10), "Discrete(6)", 6, None, 1000),
        ("SpaceInvaders-MinAtar", (10, 10, 6), "Discrete(4)", 4, None, 1000),
        ("Catch-bsuite", (10, 5), "Discrete(3)", 3, None, 1000),
        ("DeepSea-bsuite", (8, 8), "Discrete(2)", 2, None, 8),
        ("MemoryChain-bsuite", (3,), "Discrete(2)", 2, None, 1000),
        ("UmbrellaChain-bsuite", (3,), "Discrete(2)", 2, None, 100),
        ("DiscountingChain-bsuite", (2,), "Discrete(5)", 5, None, 100),
        ("MNISTBandit-bsuite", None, "?", None, NEEDS_DOWNLOAD["MNISTBandit-bsuite"], None),
        ("SimpleBandit-bsuite", (1, 1), "Discrete(11)", 11, None, 100),
        ("FourRooms-misc", (4,), "Discrete(4)", 4, None, 500),
        ("MetaMaze-misc", (15,), "Discrete(4)", 4, None, 200),
        ("PointRobot-misc", (6,), "Box(2,)", None, _continuous("Box(2,)"), 100),
        ("BernoulliBandit-misc", (4,), "Discrete(2)", 2, None, 100),
        ("GaussianBandit-misc", (4,), "Discrete(2)", 2, None, 100),
        ("Reacher-misc", (8,), "Box(2,)", None, _continuous("Box(2,)"), 100),
        ("Swimmer-misc", (16,), "Box(2,)", None, _continuous("Box(2,)"), 500),
        ("Pong-misc", (30, 40, 3), "Discrete(3)", 3, None, 1000),
        ("FrozenLake-misc", (), "Discrete(4)", 4, "observation space Discrete is not a Box", 100),
    )
)


def catalogue() -> tuple[EnvInfo, ...]:
    """Every id in ``gymnax.registered_envs`` with its spaces and whether we can train on it.

    Returns:
        One :class:`EnvInfo` per id, in gymnax's order (no JAX import; see the module docstring).
    """
    return _ROWS


_BY_ID: dict[str, EnvInfo] = {row.env_id: row for row in _ROWS}


def env_info(env_id: str) -> EnvInfo | None:
    """The catalogue row of ``env_id``, or None for an id gymnax does not register."""
    return _BY_ID.get(env_id) if isinstance(env_id, str) else None
