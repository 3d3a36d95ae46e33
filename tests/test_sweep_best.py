""" "best" means one thing wherever it is shown (README "What best means"): the best policies' greedy
return, each seed's best-scoring one averaged over seeds; re-evaluated at the end once finished, until
then each seed's best periodic evaluation so far. A sweep's row in the Runs table shows the final and
best of one configuration: the one ``sweep --json``'s ranking puts first. No JAX."""

from __future__ import annotations

import numpy as np
import pytest
from support.past_sweeps import make_sweep

from lerax_tui.train.run_summary import RunSummaries
from lerax_tui.train.sweep_events import SweepResult
from lerax_tui.train.sweep_record import ConfigResult, ConfigStatus, read_sweep, write_sweep
from lerax_tui.tui.runs_listing import leader, list_runs, member_returns, sweep_figures
from lerax_tui.tui.sweep_folder import load_sweep
from lerax_tui.tui.sweep_run import MemberRun


def test_a_members_best_is_the_mean_of_each_seeds_best_not_the_best_mean():
    member = MemberRun(0, {})
    member.add_evaluation(1_000, [np.array([100.0]), np.array([10.0])])  # seed 0 peaks here
    member.add_evaluation(2_000, [np.array([20.0]), np.array([80.0])])  # seed 1 peaks here
    assert member.best_per_seed == [100.0, 80.0]
    assert member.best_eval == pytest.approx(90.0)  # the best mean of one evaluation would be 55
    member.add_evaluation(3_000, [np.array([50.0, 70.0]), np.array([90.0])])
    assert member.best_eval == pytest.approx(95.0)
    member.best_reevaluated = 61.5  # finished: the best policies evaluated again, as sweep.json says
    member.add_evaluation(4_000, [np.array([500.0]), np.array([500.0])], final=True)
    assert member.best_eval == 61.5 and member.final_eval == 500.0


def test_leaderboard_runs_table_and_sweep_json_agree_on_best(tmp_path):
    folder = make_sweep(tmp_path / "runs")
    record = read_sweep(folder)
    board = load_sweep(folder).run
    (listing,) = list_runs(tmp_path / "runs").sweeps
    summaries = {str(s.path): s for s in RunSummaries().summaries([m.path for m in listing.members])}
    for entry, member, row in zip(record.configs, board.members, listing.members, strict=True):
        assert entry.result is not None and entry.result.best_eval_return_mean is not None
        expected = entry.result.best_eval_return_mean
        periodic = summaries[str(row.path)].best  # the Runs table's, from the member's own files
        assert periodic == pytest.approx(expected)
        assert member.best_eval == pytest.approx(expected)
        member.best_reevaluated = None  # the leaderboard's own reading of the evaluations agrees too
        assert member.best_eval == pytest.approx(expected)
        assert member_returns(row, summaries[str(row.path)])[1] == pytest.approx(expected)


def test_the_sweep_row_shows_the_configuration_ranked_first(tmp_path):
    folder = make_sweep(tmp_path / "runs")
    record = read_sweep(folder)
    # configuration 0: the best "best" but the worst final; configuration 2: the best final
    results = [(100.0, 450.0), (200.0, 250.0), (300.0, 320.0)]
    for i, (final, best) in enumerate(results):
        record.update(i, result=ConfigResult(final, [final, final], best))
    write_sweep(folder, record)
    (listing,) = list_runs(tmp_path / "runs").sweeps
    figures = sweep_figures(listing, {})
    ranking = SweepResult(folder, record).ranking()
    assert ranking[0] == 2
    assert (figures.final, figures.best) == (300.0, 320.0)  # one configuration's pair, not the maxima (300, 450)

    for i in range(3):  # mid-run: no final yet anywhere: the highest best so far leads
        record.update(i, status=ConfigStatus.RUNNING, result=ConfigResult(None, [], results[i][1]))
    write_sweep(folder, record)
    (listing,) = list_runs(tmp_path / "runs").sweeps
    figures = sweep_figures(listing, {})
    assert (figures.final, figures.best) == (None, 450.0)


def test_leader_ranks_final_then_best_then_order():
    assert leader([(None, None)]) == 0
    assert leader([(None, 400.0), (10.0, None), (None, 500.0)]) == 1  # any final beats none
    assert leader([(10.0, 1.0), (10.0, 5.0), (float("nan"), 900.0)]) == 1
    assert leader([(None, 7.0), (None, 7.0)]) == 0
