"""Keys: every binding id remappable (main screen, inspector, browser, dialogs), the palette, the key
line and F1 help showing the keys bound now, and the palette reaching environments and past runs."""

from __future__ import annotations

import json
from pathlib import Path

from support.fake import FAKE_CATALOGUE, FakeFactory
from support.inspector import FakeEpisode, fake_evaluator, make_report, make_run
from support.pilot import SIZE, until

from lerax_tui.core.checkpoint_index import CheckpointRow
from lerax_tui.tui.app import LeraxApp, make_app
from lerax_tui.tui.keymap import binding_ids, clashes, current_keys, load_keymap, with_keys
from lerax_tui.tui.screens.dialogs import ConfirmDialog
from lerax_tui.tui.screens.help import HelpScreen
from lerax_tui.tui.screens.inspector import InspectorScreen
from lerax_tui.tui.widgets.return_chart import ReturnChart


def remapped_app(tmp_path: Path, keymap: dict[str, str], **options) -> tuple[LeraxApp, FakeFactory]:
    path = tmp_path / "keymap.toml"
    path.write_text("[keymap]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in keymap.items()))
    factory = FakeFactory(options={"chunk_delay": 0.02, **options})
    app = make_app(runs_dir=tmp_path / "runs", trainer_factory=factory, catalogue=FAKE_CATALOGUE, keymap_path=path)
    return app, factory


def titles_and_help(app: LeraxApp) -> dict[str, str]:
    return {c.title: c.help for c in app.get_system_commands(app.screen)}


def test_every_screen_and_dialog_declares_remappable_ids():
    ids = binding_ids()
    for expected in ("inspector.play", "inspector.continue", "browser.delete", "browser.load", "dialog.yes"):
        assert expected in ids
    assert {"train.toggle", "app.tab_config", "form.reset", "help.close"} <= ids


def test_unknown_binding_id_names_the_closest_and_every_valid_id(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('"inspector.plya" = "p"\n"zzz" = "f9"\n')
    keymap, problems = load_keymap(path, binding_ids())
    assert keymap == {}
    assert "did you mean 'inspector.play'?" in problems[0]
    for valid in ("inspector.play", "train.toggle", "browser.export"):
        assert valid in problems[0] and valid in problems[1]
    assert "did you mean" not in problems[1]


def test_a_key_given_to_two_actions_of_one_screen_is_reported():
    assert clashes({}) == []  # the defaults never clash
    assert clashes({"inspector.play": "p"}) == []
    (line,) = clashes({"inspector.play": "n"})  # n is also inspector.step's
    assert "inspector.play and inspector.step" in line and "InspectorScreen" in line


def test_current_keys_and_key_references_follow_the_keymap():
    assert current_keys("inspector.step", {}) == ["n", "right"]
    assert current_keys("inspector.step", {"inspector.step": "s, ctrl+n"}) == ["s", "ctrl+n"]

    class Shown:  # what with_keys needs of an app: its keymap and Textual's key display
        user_keymap = {"train.toggle": "f9"}

        def get_key_display(self, binding):
            return binding.key.replace("ctrl+", "^")

    assert with_keys("press {key:train.toggle}, then {key:train.checkpoint}", Shown()) == "press f9, then ^s"


async def test_remapped_keys_show_in_palette_key_line_help_and_notices(tmp_path):
    app, factory = remapped_app(tmp_path, {"train.toggle": "f9", "app.tab_config": "f8", "form.reset": "ctrl+e"})
    async with app.run_test(size=SIZE) as pilot:
        commands = titles_and_help(app)
        assert commands["Start / stop training"].startswith("f9:")
        assert commands["Show Config"].startswith("f8:") and commands["Reset config to preset"].startswith("^e:")
        assert not any("F5" in h or "f5" in h for h in commands.values())
        assert "f9 Start/Stop" in str(app.query_one("#key-hints").render())
        chart = app.query_one(ReturnChart)
        await until(pilot, lambda: chart.up_to_date)
        empty = chart.render().plain  # the empty chart's title names the key that trains now
        assert "press f9" in empty and "F5" not in empty
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict((d.split(" (id")[0], k) for k, d in app.screen.keys)
        assert keys["Start/Stop"] == "f9" and keys["Config"] == "f8"
        assert app.screen.keys[0] == ("f9", "Start/Stop (id `train.toggle`)")  # in declared order, remapped or not
        help_text = app.screen.query_one("#help-text").source
        assert "F5" not in help_text and "- `f9` Start/Stop" in help_text
        await pilot.press("escape")
        app.set_focus(None)
        await pilot.press("f1")  # nothing focused: the general help
        await pilot.pause()
        assert "press **f9** to" in app.screen.query_one("#help-text").source
        await pilot.press("escape")
        await pilot.press("f6")  # nothing to pause: the notice names the remapped start key
        await pilot.pause()
        assert any("start a run with f9" in str(n.message) for n in app._notifications)
        await pilot.press("f8")
        await pilot.pause()
        assert app.query_one("#sidebar").active == "tab-config"
        await pilot.press("f1")
        await pilot.pause()
        form_help = app.screen.query_one("#help-text").source
        assert "blocks **f9** until" in form_help and "**^e** resets" in form_help


async def test_inspector_keys_are_remappable_and_shown(tmp_path):
    app, _ = remapped_app(tmp_path, {"inspector.play": "p", "inspector.step": "s"})
    path = make_run(tmp_path, resume=False)
    async with app.run_test(size=SIZE) as pilot:
        row = CheckpointRow(path=path, run=path.parent.parent.name, run_dir=path.parent.parent)
        screen = InspectorScreen(
            "POLICY",
            make_report(path),
            row=row,
            env=object(),
            evaluator=fake_evaluator,
            episode_factory=FakeEpisode,
            episodes=10,
        )
        app.push_screen(screen)
        await until(pilot, lambda: screen.episode is not None and screen.evaluated, timeout=15)
        await pilot.press("space", "n")  # the old keys do nothing now
        assert not screen.playing and screen.episode.t == 0
        await pilot.press("s")
        assert screen.episode.t == 1
        commands = titles_and_help(app)
        assert commands["Play/pause"] == "p on this screen" and commands["Step"] == "s on this screen"
        await pilot.press("f1")
        await pilot.pause()
        keys = {d.split(" (id")[0]: k for k, d in app.screen.keys}
        assert keys["Play/pause"] == "p" and keys["Step"] == "s"
        assert "**p** plays or pauses" in app.screen.query_one("#help-text").source
        await pilot.press("escape", "p")
        assert screen.playing


async def test_confirm_dialog_buttons_name_the_remapped_keys(tmp_path):
    app, _ = remapped_app(tmp_path, {"dialog.yes": "j", "dialog.no": "k,escape"})
    async with app.run_test(size=SIZE) as pilot:
        answers: list[bool | None] = []
        app.push_screen(ConfirmDialog("Delete?", "a file"), answers.append)
        await pilot.pause()
        labels = [str(b.label) for b in app.screen.query("Button")]
        assert labels == ["Delete (j)", "Cancel (k)"]
        await pilot.press("y")
        await pilot.pause()
        assert answers == []
        await pilot.press("j")
        await pilot.pause()
        assert answers == [True]


async def test_f3_shows_the_config_from_the_env_tab_while_training(tmp_path):
    app, factory = remapped_app(tmp_path, {}, chunk_delay=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await until(pilot, lambda: factory.made)
        assert app.focused is app.query_one("#env-list")
        await pilot.press("f3")
        await pilot.pause(0.2)
        assert app.query_one("#sidebar").active == "tab-config"
        await pilot.press("f5")
        await until(pilot, lambda: app.main_screen.session is None)


async def test_palette_picks_environments_and_ticks_past_runs(tmp_path):
    app, _ = remapped_app(tmp_path, {})
    run_dir = tmp_path / "runs" / "CartPole-v1-20261124-120000-abc123"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"env_id": "CartPole-v1", "config": {}}))
    (run_dir / "metrics.jsonl").write_text("")
    async with app.run_test(size=SIZE) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Environment Pendulum-v1" not in commands  # unsupported: not offered
        commands["Environment Acrobot-v1"].callback()
        await pilot.pause()
        assert app.main_screen.env_id == "Acrobot-v1"
        commands[f"Overlay run {run_dir.name}"].callback()
        await pilot.pause()
        runs = app.main_screen.query_one("RunsList")
        assert runs.ticked == {str(run_dir)}
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands[f"Remove overlay {run_dir.name}"].callback()
        await pilot.pause()
        assert runs.ticked == set()
