"""Columns that fit: priority order, flex names, numbers whole, names cut where they differ."""

from __future__ import annotations

from lerax_tui.tui.checkpoint_text import cut_name
from lerax_tui.tui.columns import Column, cut_left, cut_middle, fit_columns

COLUMNS = [
    Column("name", "name", 12, 0, flex=True, want=22, want_priority=2.5, most=30),
    Column("step", "step", 9, 1, right=True),
    Column("status", "status", 26, 2),
    Column("run", "run", 22, 3),
    Column("age", "age", 4, 4),
]


def test_columns_kept_by_priority_and_shown_in_order():
    fitted = fit_columns(COLUMNS, 80, gap=2)
    assert [c.key for c, _ in fitted] == ["name", "step", "status", "age"]  # run does not fit: age does
    widths = dict((c.key, w) for c, w in fitted)
    assert widths["step"] == 9 and widths["status"] == 26
    assert sum(w + 2 for w in widths.values()) <= 80 and widths["name"] >= 22  # the rest to the name
    assert [c.key for c, _ in fit_columns(COLUMNS, 200)] == ["name", "step", "status", "run", "age"]
    assert dict((c.key, w) for c, w in fit_columns(COLUMNS, 200))["name"] == 30  # never past most


def test_a_narrow_table_keeps_the_first_columns():
    assert [c.key for c, _ in fit_columns(COLUMNS, 30)] == ["name", "step"]
    assert [c.key for c, _ in fit_columns(COLUMNS, 5)] == ["name"]  # the first is always kept


def test_names_are_cut_where_they_still_differ():
    names = [f"seed-{k}-step-{s:09d}" for k in range(2) for s in (500_000, 1_000_000)]
    for width in (12, 14, 18):
        cut = [cut_name(n, width) for n in names]
        assert all(len(c) <= width for c in cut)
        assert len({c[:7] for c in cut}) == 2  # the seed is never cut off (the step column has the step)
    assert cut_name("seed-1-step-000500000", 18) == "seed-1-step-500000"
    assert cut_name("seed-1-step-000500000", 12) == "seed-1-step…"
    other = cut_name("cartpole_trained-lerax-0.0.5", 16)
    assert len(other) == 16 and other.startswith("cartp") and other.endswith("-0.0.5")
    runs = ["20261124-120000-abc123", "20261124-121500-d4e5f6"]
    assert len({cut_left(r, 12) for r in runs}) == 2 and cut_left(runs[0], 12) == "…0000-abc123"
    assert cut_middle("short", 10) == "short" and cut_left("short", 10) == "short"
