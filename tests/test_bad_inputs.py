"""Every bad input of tools/bad_inputs.py: no traceback, the listed exit status, one line, and
docs/bad_inputs.md written from exactly these results (so the table cannot go stale)."""

import pytest
from conftest import load_script


def load_tool():
    return load_script("tools/bad_inputs.py")


@pytest.mark.slow
def test_every_bad_input_is_a_one_line_error_and_the_table_is_current(tmp_path):
    tool = load_tool()
    rows = tool.run_all(tmp_path)
    assert len(rows) >= 40
    for r in rows:
        assert not r["message"].startswith("Traceback"), (r["what"], r["message"])
        assert r["code"] == r["expected"], (r["what"], r["code"], r["message"])
        if r["code"] == 2:
            lines = [line for line in r["lines"] if not line.startswith(("usage:", " "))]
            assert len(lines) == 1, (r["what"], r["lines"])  # argparse adds only its usage
    assert tool.DOC.read_text() == tool.markdown(rows, tmp_path), (
        "docs/bad_inputs.md is stale: run python tools/bad_inputs.py")


def test_the_cases_cover_every_subcommand():
    from gahr.cli import build_parser

    tool = load_tool()
    commands = {argv[0] for _, argv, _ in tool.cases("/tmp/x")}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) <= commands
