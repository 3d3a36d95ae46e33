"""The app's sweep model without an app: the form's text read as a sweep, the live sweep fed by the
fake sweep trainer, the leaderboard's order and its CSV, a sweep folder read back."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support.configs import TINY
from support.fake_sweep import FakeSweepTrainer, factor

from lerax_tui.train.config import ConfigError, DQNConfig
from lerax_tui.train.sweep_record import ConfigStatus, read_sweep
from lerax_tui.train.sweep_spec import SampleRange
from lerax_tui.tui.sweep_form import DEFAULT_SAMPLES, is_sweep_text, read_form, status_text, swept_label
from lerax_tui.tui.sweep_run import SweepRun
from lerax_tui.tui.sweep_table import SortKey, cells, columns, csv_text, export_csv, ranked


def tiny_config() -> DQNConfig:
    return DQNConfig(**TINY)


def _raw(**changes):
    base = {k: str(v) for k, v in tiny_config().to_dict().items()}
    base.update(changes)
    return base


def test_plain_form_is_no_sweep():
    plain, sweep = read_form(_raw())
    assert not sweep.active
    assert plain["learning_rate"] == str(tiny_config().learning_rate)


def test_lists_and_ranges_become_a_spec_with_the_status_line():
    plain, sweep = read_form(_raw(learning_rate="1e-3, 3e-3, 1e-2", gamma="0.9,0.99,0.999", num_seeds="4"))
    assert not sweep.errors
    assert sweep.swept == {"learning_rate": [1e-3, 3e-3, 1e-2], "gamma": [0.9, 0.99, 0.999]}
    assert plain["learning_rate"] == 1e-3  # the stand-in the base config is checked with
    base = tiny_config().replace(num_seeds=4, learning_rate=1e-3, gamma=0.9)
    spec = sweep.spec(base)
    assert status_text(spec) == "sweep: 9 configurations x 4 seeds = 36 agents"
    assert swept_label(sweep.swept["gamma"], None) == "sweep: 3 values"


def test_a_range_draws_its_count_and_two_counts_must_agree():
    _, sweep = read_form(_raw(learning_rate="1e-4:1e-2:log"))
    assert sweep.swept["learning_rate"] == SampleRange(1e-4, 1e-2, True)
    assert sweep.spec(tiny_config()).num_configs == DEFAULT_SAMPLES
    _, sweep = read_form(_raw(learning_rate="1e-4:1e-2:log:5", tau="0.1:1"))
    assert sweep.spec(tiny_config()).num_configs == 5
    _, sweep = read_form(_raw(learning_rate="1e-4:1e-2:log:5", tau="0.1:1:3"))
    assert [e.field for e in sweep.errors] == ["tau"]


@pytest.mark.parametrize(
    ("key", "text", "says"),
    [
        ("learning_rate", "1e-3,,3e-3", "empty item"),
        ("gamma", "0.9, 2", "out of range"),
        ("seed", "0,1", "cannot be swept"),
        ("learning_rate", "1e-2:1e-4", "low end above"),
        ("width_size", "32,32", "listed twice"),
    ],
)
def test_bad_sweep_text_is_an_error_on_its_field(key, text, says):
    _, sweep = read_form(_raw(**{key: text}))
    assert sweep.active and not sweep.swept
    assert [e.field for e in sweep.errors] == [key]
    assert says in str(sweep.errors[0])


def test_cross_field_rules_name_the_configuration():
    _, sweep = read_form(_raw(epsilon_start="1.0,0.01", epsilon_end="0.05"))
    with pytest.raises(ConfigError, match="configuration 1: epsilon_start=0.01"):
        sweep.spec(tiny_config().replace(epsilon_start=1.0, epsilon_end=0.05))


def test_is_sweep_text():
    assert is_sweep_text("1,2") and is_sweep_text("1:2") and not is_sweep_text("1e-3") and not is_sweep_text(True)


def _run_fake(tmp_path, **raw):
    _, sweep = read_form(_raw(**raw))
    spec = sweep.spec(tiny_config().replace(total_timesteps=4_000, eval_interval=1_000, num_seeds=2))
    run = SweepRun(list(spec.overrides), spec.varying_keys, seeds=spec.seeds, total_steps=4_000)
    trainer = FakeSweepTrainer("CartPole-v1", spec, tmp_path, run.apply)
    trainer.run()
    return spec, run, trainer


def test_fake_sweep_feeds_every_member(tmp_path):
    spec, run, trainer = _run_fake(tmp_path, learning_rate="1e-3,3e-3,1e-2")
    assert run.phase == "finished" and run.sweep_dir == trainer.sweep_dir
    assert [m.status for m in run.members] == [ConfigStatus.FINISHED] * 3
    for m in run.members:
        assert m.history.num_seeds == 2 and m.eval_mean is not None and m.best_eval is not None
        assert m.final_eval == pytest.approx(200 * factor(m.index, 3), abs=0.1)
        assert m.best_checkpoint(2) is not None
    assert run.label(1) == "learning_rate=0.003"
    best_first = ranked(run, SortKey.BEST)
    assert [m.index for m in best_first] == sorted(range(3), key=lambda i: -factor(i, 3))
    assert [m.index for m in ranked(run, SortKey.BEST, reverse=True)] == [m.index for m in best_first][::-1]
    # finished: the evaluation column holds the final evaluations
    assert [c.title for c in columns(run)] == ["#", "learning_rate", "status", "return", "final eval", "best"]
    assert cells(run, run.members[0])[1] == "0.001"


def test_a_failed_configuration_is_marked_and_the_others_go_on(tmp_path):
    _, sweep = read_form(_raw(gamma="0.9,0.99"))
    spec = sweep.spec(tiny_config().replace(total_timesteps=4_000, eval_interval=1_000))
    run = SweepRun(list(spec.overrides), spec.varying_keys, total_steps=4_000)
    FakeSweepTrainer("CartPole-v1", spec, tmp_path, run.apply, fail_index=0).run()
    assert [m.status for m in run.members] == [ConfigStatus.FAILED, ConfigStatus.FINISHED]
    assert "NaN" in (run.members[0].error or "")


def test_leaderboard_csv_is_in_the_order_shown_and_written_atomically(tmp_path):
    _, run, trainer = _run_fake(tmp_path, learning_rate="1e-3,3e-3,1e-2")
    rows = list(csv.DictReader(io.StringIO(csv_text(run, SortKey.BEST))))
    assert [int(r["config"]) for r in rows] == [m.index for m in ranked(run, SortKey.BEST)]
    assert float(rows[0]["final_eval"]) == pytest.approx(run.members[int(rows[0]["config"])].final_eval)
    assert float(rows[0]["final_eval_std"]) == pytest.approx((2 / 3) ** 0.5)  # episodes at -1, 0, +1
    assert float(rows[0]["eval_mean"]) == pytest.approx(run.members[int(rows[0]["config"])].eval_mean)
    assert rows[0]["learning_rate"] in ("0.001", "0.003", "0.01")
    path = export_csv(run, tmp_path / "board.csv")
    assert path.read_text() == csv_text(run, SortKey.BEST)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_sweep_folder_reads_back(tmp_path):
    _, live, trainer = _run_fake(tmp_path, learning_rate="1e-3,3e-3")
    record = read_sweep(trainer.sweep_dir)
    run = SweepRun.from_record(record, trainer.sweep_dir)
    assert run.varying == ("learning_rate",) and run.phase == "finished"
    assert [m.final_eval for m in run.members] == [m.final_eval for m in live.members]
    assert all(m.run_dir is not None and m.run_dir.is_dir() for m in run.members)


def test_too_many_agents_is_named_on_a_form_field():
    _, sweep = read_form(_raw(learning_rate="1e-4:1e-2:4096", num_seeds="64"))
    with pytest.raises(ConfigError) as caught:
        sweep.spec(tiny_config().replace(num_seeds=64))
    assert caught.value.field == "num_seeds" and str(caught.value).startswith("num_seeds: sweep: 262,144 agents")


def test_a_large_sweep_draws_its_best_curves_only(tmp_path):
    from lerax_tui.tui.sweep_curves import MAX_LINES, drawn

    _, sweep = read_form(_raw(learning_rate="1e-4:1e-2:log:40"))
    spec = sweep.spec(tiny_config().replace(total_timesteps=2_000, eval_interval=1_000))
    run = SweepRun(list(spec.overrides), spec.varying_keys, total_steps=2_000)
    FakeSweepTrainer("CartPole-v1", spec, tmp_path, run.apply).run()
    shown = drawn(run)
    assert len(shown) == MAX_LINES < run.num_configs
    assert [m.index for m in shown] == [m.index for m in ranked(run, SortKey.BEST)][:MAX_LINES]


def _eval_cell(run: SweepRun, member) -> str:
    titles = [c.key for c in columns(run)]
    return cells(run, member)[titles.index("eval")]


def test_the_eval_column_is_the_latest_periodic_evaluation_then_the_final_one(tmp_path):
    _, sweep = read_form(_raw(learning_rate="1e-3,3e-3"))
    spec = sweep.spec(tiny_config().replace(total_timesteps=4_000, eval_interval=1_000, num_seeds=2))
    events: list = []
    FakeSweepTrainer("CartPole-v1", spec, tmp_path, events.append).run()
    run = SweepRun(list(spec.overrides), spec.varying_keys, seeds=spec.seeds, total_steps=4_000)
    final_at = next(k for k, e in enumerate(events) if getattr(getattr(e, "event", None), "which", None) == "final")
    for event in events[:final_at]:  # every periodic evaluation, the last one included, no final one yet
        run.apply(event)
    periodic = [(m.eval_mean, m.eval_std) for m in run.members]
    assert all(mean is not None for mean, _ in periodic)
    assert columns(run)[-2].title == "greedy eval"
    assert [_eval_cell(run, m) for m in run.members] == [f"{mean:,.1f} ± {std:,.1f}" for mean, std in periodic]
    for event in events[final_at:]:
        run.apply(event)
    assert run.phase == "finished"
    record = read_sweep(tmp_path / "sweep-test")
    for m, entry in zip(run.members, record.configs, strict=True):
        assert entry.result is not None and entry.result.eval_return_mean is not None
        final = entry.result.eval_return_mean  # what sweep --json reports
        assert final == pytest.approx(200 * factor(m.index, 2), abs=0.1) and abs(final - m.eval_mean) > 1
        assert _eval_cell(run, m) == f"{final:,.1f} ± 0.8"
        assert (m.eval_mean, m.eval_std) == periodic[m.index]  # the periodic figures are kept (the CSV's)
    assert columns(run)[-2].title == "final eval"
    order = [m.index for m in ranked(run, SortKey.EVAL)]
    assert order == sorted(range(2), key=lambda i: -run.members[i].final_eval)


def test_a_sweep_folder_shows_its_final_evaluation_and_older_files_without_std(tmp_path):
    from lerax_tui.tui.sweep_follow import SweepFollower

    _, live, trainer = _run_fake(tmp_path, learning_rate="1e-3,3e-3")
    folder = trainer.sweep_dir
    record = read_sweep(folder)
    run = SweepRun.from_record(record, folder)
    SweepFollower(run, tiny_config(), folder).catch_up()  # every metrics.jsonl line: the periodic evaluations
    assert all(m.eval_mean is not None and m.final_eval is not None for m in run.members)
    assert [_eval_cell(run, m) for m in run.members] == [_eval_cell(live, m) for m in live.members]
    assert columns(run)[-2].title == "final eval"
    for m, entry in zip(run.members, record.configs, strict=True):
        assert entry.result is not None and entry.result.eval_return_mean is not None
        assert _eval_cell(run, m) == f"{entry.result.eval_return_mean:,.1f} ± 0.8"
    raw = json.loads((folder / "sweep.json").read_text())  # one written before eval_return_std was kept
    for entry in raw["configs"]:
        del entry["result"]["eval_return_std"]
    (folder / "sweep.json").write_text(json.dumps(raw))
    old = SweepRun.from_record(read_sweep(folder), folder)
    SweepFollower(old, tiny_config(), folder).catch_up()
    assert _eval_cell(old, old.members[0]) == f"{run.members[0].final_eval:,.1f} ± –"


def test_a_member_resumed_since_drops_its_old_final_figures(tmp_path):
    """sweep.json's result goes back to null when a finished member is resumed (``--resume`` with more
    steps): a followed sweep must not keep showing the old final evaluation as if it were current."""
    _, _, trainer = _run_fake(tmp_path, learning_rate="1e-3,3e-3")
    folder = trainer.sweep_dir
    record = read_sweep(folder)
    run = SweepRun.from_record(record, folder)
    assert run.members[0].final_eval is not None and run.members[0].shown_eval[0] == run.members[0].final_eval
    raw = json.loads((folder / "sweep.json").read_text())
    raw["configs"][0]["result"], raw["configs"][0]["status"] = None, "running"
    (folder / "sweep.json").write_text(json.dumps(raw))
    assert run.take_record(read_sweep(folder), running=True)
    first, second = run.members
    assert first.final_eval is None and first.final_std is None and first.best_reevaluated is None
    assert first.shown_eval != (record.configs[0].result.eval_return_mean, record.configs[0].result.eval_return_std)
    assert second.final_eval is not None  # the other member still has its result
