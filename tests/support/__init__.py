"""Test support shared by the suite: fakes, file mutations and helpers (never shipped in the package).

Imported as ``support`` (pytest puts ``tests/`` on ``sys.path`` because ``tests`` is not a package).
"""
