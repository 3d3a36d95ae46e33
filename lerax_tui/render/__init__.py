"""render: text renderings of gymnax environment states, for the policy inspector.

Public API: :func:`render_state`, :func:`renderer_for`, :func:`q_value_bars`, :func:`action_names`,
:func:`observation_labels`. Renderers take plain state (a gymnax ``EnvState``, a wrapper around one,
or any object with the fields they read; arrays may be numpy or JAX, they are read with
``np.asarray``) and return a :class:`rich.text.Text` no larger than the requested size.

This package imports only numpy and rich: never JAX (gymnax objects are passed in) and never Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from lerax_tui.render.actions import action_names, q_value_bars
from lerax_tui.render.canvas import env_attr, fit, vstack
from lerax_tui.render.classic import render_acrobot, render_cartpole, render_mountain_car
from lerax_tui.render.generic import observation_labels, render_generic
from lerax_tui.render.grids import (
    render_catch,
    render_deep_sea,
    render_four_rooms,
    render_meta_maze,
    render_minatar,
    render_pong,
)

__all__ = ["render_state", "renderer_for", "q_value_bars", "action_names", "observation_labels", "RENDERERS"]

Renderer = Callable[..., Text]

# Renderer name -> function. Every function takes (env_state, observation, *, width, height, env_id,
# env, params) and may ignore what it does not need.
RENDERERS: dict[str, Renderer] = {
    "cartpole": render_cartpole,
    "acrobot": render_acrobot,
    "mountain_car": render_mountain_car,
    "minatar": render_minatar,
    "catch": render_catch,
    "deep_sea": render_deep_sea,
    "four_rooms": render_four_rooms,
    "meta_maze": render_meta_maze,
    "pong": render_pong,
    "generic": render_generic,
}

_BY_ID = {
    "CartPole-v1": "cartpole",
    "Acrobot-v1": "acrobot",
    "MountainCar-v0": "mountain_car",
    "Catch-bsuite": "catch",
    "DeepSea-bsuite": "deep_sea",
    "FourRooms-misc": "four_rooms",
    "MetaMaze-misc": "meta_maze",
    "Pong-misc": "pong",
}


def renderer_for(env_id: str) -> str:
    """The name of the renderer :func:`render_state` uses for ``env_id`` (a key of :data:`RENDERERS`).

    Examples: ``"cartpole"`` for CartPole-v1, ``"minatar"`` for any ``*-MinAtar`` id, ``"generic"``
    for ids without a scene of their own.
    """
    if env_id in _BY_ID:
        return _BY_ID[env_id]
    if env_id.endswith("-MinAtar"):
        return "minatar"
    return "generic"


def render_state(
    env_id: str,
    env_state: Any,
    observation: Any,
    *,
    width: int = 60,
    height: int = 20,
    env: Any = None,
    params: Any = None,
) -> Text:
    """Draw one environment state as styled text of at most ``width`` x ``height`` cells.

    Args:
        env_id: The gymnax id; picks the renderer (see :func:`renderer_for`).
        env_state: The gymnax ``EnvState`` (or a wrapper holding it in ``env_state``, or any object with
            the fields the renderer reads).
        observation: The observation for this state (MinAtar, Pong and the generic view draw it); when
            None, ``env_state.observation`` is used if there is one.
        width: Terminal cells across.
        height: Terminal rows.
        env: Optional gymnax env object, or an adapter/wrapper holding one in ``env`` or ``_env`` (this
            project's ``GymnaxEnv``), for layout the state does not carry (FourRooms' and MetaMaze's
            ``env_map``); the standard layouts are used without it.
        params: Optional gymnax ``EnvParams`` (CartPole's ``x_threshold``, MountainCar's goal, ...);
            when None, ``env.params`` is used if there is one, else the defaults.

    Returns:
        The drawing. If the env's own renderer cannot read this state, the generic view of the
        observation is drawn instead, under a line saying why, rather than raising.
    """
    width, height = max(0, int(width)), max(0, int(height))
    if observation is None:
        # This project's GymnaxEnvState carries its observation beside the gymnax state.
        observation = getattr(env_state, "observation", None)
    if params is None:
        params = env_attr(env, "params")  # this project's GymnaxEnv carries its EnvParams
    name = renderer_for(env_id)
    kwargs = dict(width=width, height=height, env_id=env_id, env=env, params=params)
    try:
        text = RENDERERS[name](env_state, observation, **kwargs)
    except Exception as error:  # a state the scene cannot read still shows its observation
        if name == "generic":
            text = Text(f"cannot draw this observation: {type(error).__name__}: {error}", style="red")
        else:
            note = Text(
                f"{name} view failed ({type(error).__name__}: {error}); showing the observation", style="yellow"
            )
            kwargs["height"] = height - 1
            try:
                text = vstack(note, render_generic(env_state, observation, **kwargs))
            except Exception:
                text = note
    return fit(text, width, height)
