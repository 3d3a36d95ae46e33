"""The checkpoint browser opened with ctrl+o (or ``lerax-tui --checkpoints DIR``).

The screen lives in ``checkpoints.py``; this module is the name the app imports.
"""

from lerax_tui.tui.screens.checkpoints import CheckpointBrowserScreen

__all__ = ["CheckpointBrowserScreen"]
