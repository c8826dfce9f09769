"""`gahr reproduce`: the registry, data checks, running steps in order, CLI listing."""

import json

import pytest

from gahr.cli import build_parser, main
from gahr.report import ReportError
from gahr.workflows import reproduce as rep


def test_registry_is_well_formed():
    names = [r.name for r in rep.RESULTS]
    assert len(names) == len(set(names))
    wanted = {"memorization-grid", "similarity-histograms", "train-test-vs-n", "eigenvectors",
              "effective-dimension", "calpha-slopes", "disc-manifold"}
    assert wanted <= set(names)
    for result in rep.RESULTS:
        assert "cpu" in result.recipes and set(result.recipes) <= set(rep.SCALES)
        for recipe in result.recipes.values():
            assert recipe.steps and all(step and step[0].isidentifier() for step in recipe.steps)
            assert recipe.preset.endswith(".toml")
            # a time is either measured by the project or says it was not: never a guess
            for time in (recipe.cpu_time, recipe.gpu_time):
                assert time == rep.UNMEASURED or any(c.isdigit() for c in time)


def test_paper_scale_without_celeba_says_how_to_prepare_it(tmp_path):
    with pytest.raises(ReportError) as info:
        rep.reproduce("memorization-grid", "paper", root=tmp_path, runner=lambda argv: 0)
    message = str(info.value)
    assert "\n" not in message and "data/celeba80.npy" in message
    assert "gahr data prepare FOLDER --preset celeba --out data/celeba80.npy" in message


def test_runs_every_step_in_order_and_stops_at_a_failure(tmp_path):
    recipe = rep.find("calpha-slopes").recipe("cpu")
    (tmp_path / recipe.preset).parent.mkdir(parents=True)
    (tmp_path / recipe.preset).write_text("")
    seen, said = [], []
    assert rep.reproduce("calpha-slopes", "cpu", root=tmp_path, echo=said.append,
                         runner=lambda argv: seen.append(argv) or 0) == 0
    assert seen == [list(s) for s in recipe.steps]
    assert said == [f"$ {c}" for c in recipe.commands()]
    seen.clear()
    assert rep.reproduce("calpha-slopes", "cpu", root=tmp_path, echo=said.append,
                         runner=lambda argv: seen.append(argv) or (3 if len(seen) == 2 else 0)) == 3
    assert len(seen) == 2 and "exited with status 3" in said[-1]


@pytest.mark.parametrize("name, scale, match", [
    ("nope", "cpu", "unknown result"),
    ("memorization-grid", "gpu", "unknown"),
])
def test_bad_requests_are_one_line_errors(tmp_path, name, scale, match):
    with pytest.raises(ReportError, match=match):
        rep.reproduce(name, scale, root=tmp_path, runner=lambda argv: 0)


def test_result_without_a_scale_says_which_it_has():
    result = rep.Result("x", "y", {"cpu": rep.find("disc-manifold").recipe("cpu")})
    with pytest.raises(ReportError, match=r"no --scale paper recipe \(it has: cpu\)"):
        result.recipe("paper")


def test_step_problem_uses_the_real_parser():
    parser = build_parser()
    assert rep.step_problem(parser, ("report", "some/dir")) is None
    assert "does not parse" in rep.step_problem(parser, ("report", "d", "--no-such-flag"))
    assert "no `gahr nosuchcommand`" in rep.step_problem(parser, ("nosuchcommand",))


def test_registered_steps_match_the_commands_that_exist():
    """Every step whose command is installed must parse with that command's real arguments."""
    parser = build_parser()
    steps = {s for r in rep.RESULTS for recipe in r.recipes.values() for s in recipe.steps}
    checked = [s for s in steps if "no `gahr" not in (rep.step_problem(parser, s) or "")]
    if not checked:
        pytest.skip("none of the commands the registry uses (sweep, train, eigen, optimality) "
                    "is installed yet")
    assert [(s, rep.step_problem(parser, s)) for s in checked if rep.step_problem(parser, s)] == []


def test_cli_list_and_check(capsys):
    assert main(["reproduce", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {r.name for r in rep.RESULTS}
    assert all(r["commands"][0].startswith("gahr ") for r in rows)
    assert main(["reproduce", "--list", "--scale", "paper"]) == 0
    out = capsys.readouterr().out
    assert "configs/experiments/celeba80.toml" in out and "--scale cpu" not in out
    assert main(["reproduce", "--list", "--markdown"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert len(table) == 2 + len(rows) and all(line.count(" | ") == 5 for line in table)
    assert main(["reproduce", "--check", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert all(c["ready"] == (not c["problems"]) for c in checks)
    assert main(["reproduce", "memorization-grid"]) == 2  # no scale: a one-line error
    assert "--scale cpu" in capsys.readouterr().err


def test_real_runner_runs_gahr_in_a_child_process(tmp_path, monkeypatch, capfd):
    (tmp_path / "preset.toml").write_text("")
    recipe = rep.Recipe(steps=(("reproduce", "--list", "--scale", "paper"),), preset="preset.toml")
    monkeypatch.setattr(rep, "RESULTS", (rep.Result("listing", "the registry", {"cpu": recipe}),))
    assert rep.reproduce("listing", "cpu", root=tmp_path) == 0
    out = capfd.readouterr().out
    # the child is a fresh gahr: it lists the real registry, not the patched one
    assert out.startswith("$ gahr reproduce --list --scale paper\n")
    assert "memorization-grid [--scale paper]" in out
    bad = rep.Recipe(steps=(("report", str(tmp_path / "no-such-dir")),), preset="preset.toml")
    monkeypatch.setattr(rep, "RESULTS", (rep.Result("broken", "a failing step", {"cpu": bad}),))
    assert rep.reproduce("broken", "cpu", root=tmp_path) == 2
    assert "no report.json" in capfd.readouterr().err
