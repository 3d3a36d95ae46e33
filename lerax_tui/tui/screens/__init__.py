"""Screens: the main training screen, help, and the checkpoint browser."""
