"""Every bad-file case, built on disk (``support.browser_folder``), checked through ``lerax-tui inspect
--json`` and the index rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.browser_folder import EXPECTED, build_browser_folder

from lerax_tui.core.checkpoint import manifest_path
from lerax_tui.core.checkpoint_index import CheckpointIndex
from lerax_tui.tui.checkpoint_text import row_env, row_label


@pytest.fixture
def browser_folder(tmp_path, small_policy, cartpole, lerax_dir):
    return build_browser_folder(tmp_path, small_policy, cartpole, lerax_dir=lerax_dir)


def _inspect_json(path: Path) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "lerax_tui", "inspect", str(path), "--json"], capture_output=True, text=True
    )
    assert "Traceback" not in out.stderr
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1])


def test_index_rows_and_inspect_json_agree_on_every_bad_file(tmp_path, browser_folder, capsys):
    from lerax_tui.cli import main

    index = CheckpointIndex(tmp_path / "runs", [tmp_path / "files"])
    rows = index.scan().rows
    names = sorted(r.name for r in rows)
    assert "resume" not in names and not any(".tmp-" in n for n in names)
    by_name = {r.name: r for r in rows}
    for row in rows:
        index.verify_row(row)
    assert row_label(by_name["final"]) == "ok (lerax-tui fingerprint)" and by_name["final"].has_resume
    assert row_env(by_name["final"]) == "CartPole-v1" and by_name["final"].step == 2000
    for stem, (status, label) in EXPECTED.items():
        row = by_name[stem]
        assert row.status == status, (stem, row.problems)
        assert row_label(row) == label, stem
        assert row.problems or status == "ok", stem
        # `lerax-tui inspect --json` (in process: one interpreter, not one per file) says the same
        code = main(["inspect", str(browser_folder[stem]), "--json"])
        obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert (code, obj["status"], obj["problems"]) == (0 if status == "ok" else 1, status, row.problems), stem
    # and the real command once, in its own process
    code, obj = _inspect_json(browser_folder["lying-manifest"])
    assert code == 1 and obj["status"] == "corrupt" and "width_size: file 8, manifest 128" in obj["problems"]


def test_lying_manifest_is_explained_field_by_field(tmp_path, browser_folder):
    index = CheckpointIndex(None, [tmp_path / "files"])
    row = next(r for r in index.scan().rows if r.name == "lying-manifest")
    index.verify_row(row)
    assert any("width_size: file 8, manifest 128" in p for p in row.problems)


def test_deleted_between_listing_and_verifying(tmp_path, browser_folder):
    index = CheckpointIndex(tmp_path / "runs")
    rows = index.scan().rows
    row = next(r for r in rows if r.name == "final")
    browser_folder["final"].unlink()
    index.verify_row(row)
    assert row.status == "missing" and row_label(row) == "missing" and "does not exist" in row.problems[0]


def test_unreadable_folder_is_a_row_not_an_error(tmp_path, browser_folder, monkeypatch):
    files = tmp_path / "files"
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == files:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rows = CheckpointIndex(tmp_path / "runs", [files]).scan().rows
    bad = [r for r in rows if r.listing_problem]
    assert len(bad) == 1 and row_label(bad[0]) == "folder not readable" and "permission denied" in bad[0].problems[0]
    assert any(r.name == "final" for r in rows)


def test_cache_is_keyed_by_size_and_mtime(tmp_path, browser_folder):
    calls = []
    from lerax_tui.core.verification import verify

    def counting(path, **kw):
        calls.append(Path(path).name)
        return verify(path, **kw)

    index = CheckpointIndex(tmp_path / "runs", verify_fn=counting)
    for row in index.scan().rows:
        index.verify_row(row)
    assert len(calls) == 2
    rows = index.scan().rows  # a rescan attaches the cached reports without verifying again
    assert all(r.report is not None for r in rows) and len(calls) == 2
    final = browser_folder["final"]
    final.write_bytes(final.read_bytes()[:-10])  # changed size: verified again, now truncated
    rows = index.scan().rows
    row = next(r for r in rows if r.name == "final")
    assert row.report is None
    index.verify_row(row)
    assert row.status == "truncated" and len(calls) == 3


def test_delete_removes_file_and_manifest(tmp_path, browser_folder):
    index = CheckpointIndex(tmp_path / "runs")
    row = next(r for r in index.scan().rows if r.name == "step-000000100")
    removed = index.delete(row)
    assert {p.suffix for p in removed} == {".eqx", ".json"}
    assert not browser_folder["step"].exists() and not manifest_path(browser_folder["step"]).exists()


def test_unreadable_file_is_a_row_not_an_error(tmp_path, browser_folder, monkeypatch):
    target = browser_folder["final"]
    real = os.open

    def fake_open(path, *args, **kwargs):  # chmod 000 does not stop root, so refuse the open itself
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    index = CheckpointIndex(tmp_path / "runs")
    row = next(r for r in index.scan().rows if r.name == "final")
    index.verify_row(row)
    assert row.status == "missing" and row_label(row) == "not readable" and "permission denied" in row.problems[0]


def test_a_single_file_instead_of_a_folder(tmp_path, browser_folder):
    rows = CheckpointIndex(None, [browser_folder["final"]]).scan().rows
    assert [(r.name, r.run, r.has_resume) for r in rows] == [("final", "CartPole-v1-20261124-120000-abc123", True)]


def test_a_file_reached_through_two_folders_is_listed_once(tmp_path, browser_folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_ckpts = Path("runs/CartPole-v1-20261124-120000-abc123/checkpoints")
    rows = CheckpointIndex(tmp_path / "runs", [run_ckpts, tmp_path / "runs"]).scan().rows
    assert sorted(r.name for r in rows) == ["final", "step-000000100"]
