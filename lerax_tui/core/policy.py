"""Epsilon-greedy Q policies, reproducing lerax's ``AbstractQPolicy`` and ``MLPQPolicy`` API.

The pytree layout (fields ``action_space, observation_space, epsilon, q_network`` in that order,
``Discrete.n`` static, ``Box`` bounds as leaves, ``name`` a class variable) matches lerax, so the
checkpoint files lerax writes load here unchanged.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, Integer, Key

from lerax_tui.core.spaces import AbstractSpace, Discrete


class AbstractQPolicy(eqx.Module):
    """Base class for epsilon-greedy Q-learning policies.

    With probability ``epsilon`` a uniformly random allowed action is taken, otherwise the allowed
    action with the highest Q-value. (lerax samples ``softmax(Q)`` in the random branch; a
    uniform draw is what epsilon-greedy means, so we do that.)

    Attributes:
        name: Name of the policy class.
        action_space: The action space of the environment.
        observation_space: The observation space of the environment.
        epsilon: The epsilon value for epsilon-greedy action selection. May be a traced JAX scalar,
            so a training schedule never recompiles.
    """

    name: eqx.AbstractClassVar[str]
    action_space: eqx.AbstractVar[Discrete]
    observation_space: eqx.AbstractVar[AbstractSpace]
    epsilon: eqx.AbstractVar[float]

    @abstractmethod
    def q_values(self, state: None, observation: Any) -> tuple[None, Float[Array, " actions"]]:
        """Return Q-values for all actions given an observation and state.

        Args:
            state: The current internal state of the policy.
            observation: The current observation from the environment.

        Returns:
            A tuple of the next internal state and the Q-values for all actions.
        """

    def reset(self, *, key: Key[Array, ""]) -> None:
        """Return the initial internal state of the policy (``None``: Q policies are stateless).

        Args:
            key: A JAX PRNG key (unused).
        """
        return None

    def __call__(
        self,
        state: None,
        observation: Any,
        *,
        action_mask: Bool[Array, " actions"] | None = None,
        key: Key[Array, ""] | None = None,
    ) -> tuple[None, Integer[Array, ""]]:
        """Return the next state and action for a given observation and state.

        Uses epsilon-greedy action selection. An action mask is honoured in both branches.

        Args:
            state: The current internal state of the policy.
            observation: The current observation from the environment.
            action_mask: Allowed actions (True = allowed). None allows all.
            key: JAX PRNG key for stochastic action selection. If None, the action with the
                highest Q-value is always selected.

        Returns:
            A tuple of the next internal state and the selected action.
        """
        state, q = self.q_values(state, observation)
        if action_mask is not None:
            mask = jnp.asarray(action_mask, dtype=bool)
            q = jnp.where(mask, q, -jnp.inf)
        greedy = jnp.argmax(q).astype(jnp.int32)
        if key is None:
            return state, greedy
        explore_key, action_key = jr.split(key)
        random_action = self.action_space.sample(key=action_key, mask=action_mask).astype(jnp.int32)
        explore = jr.uniform(explore_key, ()) < self.epsilon
        return state, jnp.where(explore, random_action, greedy)

    # --- files ----------------------------------------------------------------------------------

    def serialize(self, path: str | Path, *, fingerprint: str = "lerax-tui") -> Path:
        """Serialize the model to the specified path.

        Writes a 32-byte structural fingerprint followed by the Equinox leaf data, atomically (a
        temporary file in the same folder, fsync, rename), so ``deserialize`` can verify that the
        skeleton it builds matches what was saved.

        Args:
            path: The path to serialize to. The ``.eqx`` suffix is appended if missing (another
                suffix is kept: ``run.v2`` becomes ``run.v2.eqx``).
            fingerprint: ``"lerax-tui"`` (our canonical fingerprint) or ``"lerax"`` (the one lerax
                itself writes, for files lerax must read back).

        Returns:
            The path written.
        """
        from lerax_tui.core.checkpoint import write_policy

        return write_policy(self, path, fingerprint=fingerprint)

    @classmethod
    def deserialize(cls, path: str | Path, *args: Any, **kwargs: Any):
        """Deserialize the model from the specified path.

        The constructor arguments must reproduce the same static structure (class,
        hyperparameters, network shapes, activations, ...) that the model had when it was
        serialized. A 32-byte fingerprint stored in the file is verified before loading, either
        ours or the one lerax writes; mismatches raise ValueError instead of silently loading arrays
        into the wrong skeleton. The skeleton is built with ``eqx.filter_eval_shape`` (no
        allocation, no random initialisation). The stored epsilon wins over the constructor's.

        Args:
            path: The path to deserialize from (``.eqx`` appended when the suffix is missing).
            *args: Additional arguments to pass to the class constructor.
            **kwargs: Additional keyword arguments to pass to the class constructor.

        Returns:
            The deserialized model.

        Raises:
            ValueError: If the structural fingerprint of the rebuilt skeleton does not match the one
                stored in the file, or the file is damaged (truncated, trailing data, bad records).
            FileNotFoundError: If the file does not exist.
        """
        from lerax_tui.core.checkpoint import read_policy

        return read_policy(cls, path, *args, **kwargs)


@final
class MLPQPolicy(AbstractQPolicy):
    """Q-learning policy with an MLP Q-network.

    Attributes:
        name: Name of the policy class.
        action_space: The action space of the environment.
        observation_space: The observation space of the environment.
        epsilon: The epsilon value for epsilon-greedy action selection.
        q_network: The MLP Q-network used for action value estimation.

    Args:
        env: The environment to create the policy for.
        epsilon: The epsilon value for epsilon-greedy action selection.
        width_size: The width of the hidden layers in the MLP.
        depth: The number of hidden layers in the MLP.
        key: JAX PRNG key for parameter initialization.

    Raises:
        ValueError: If the environment's action space is not Discrete.
    """

    name: ClassVar[str] = "MLPQPolicy"

    action_space: Discrete
    observation_space: AbstractSpace
    epsilon: float
    q_network: eqx.nn.MLP

    def __init__(self, env: Any, *, epsilon: float = 0.1, width_size: int = 64, depth: int = 2, key: Key[Array, ""]):
        if not isinstance(env.action_space, Discrete):
            raise ValueError(
                f"MLPQPolicy only supports Discrete action spaces, got {type(env.action_space).__name__} "
                f"for {getattr(env, 'name', env)}"
            )
        self.action_space = env.action_space
        self.observation_space = env.observation_space
        self.epsilon = epsilon
        self.q_network = eqx.nn.MLP(
            in_size=self.observation_space.flat_size,
            out_size=self.action_space.n,
            width_size=width_size,
            depth=depth,
            key=key,
        )

    def q_values(self, state: None, observation: Any) -> tuple[None, Float[Array, " actions"]]:
        """Return Q-values for all actions given an observation.

        Args:
            state: The current internal state of the policy (None).
            observation: The current observation from the environment.

        Returns:
            A tuple of ``None`` and the Q-values for all actions.
        """
        flat_obs = self.observation_space.flatten_sample(observation)
        return None, self.q_network(flat_obs)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's structural arguments (epsilon is a leaf, reported as a float)."""
        eps: float | None
        try:
            eps = float(self.epsilon)
        except (TypeError, jax.errors.ConcretizationTypeError):
            eps = None
        return {"epsilon": eps, "width_size": self.q_network.width_size, "depth": self.q_network.depth}
