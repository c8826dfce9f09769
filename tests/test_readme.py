"""The README's demo numbers are the demo's own: the block between its markers is the committed
docs/demo_summary.md (written by `make demo-publish`), every figure it shows exists, and the
publishing step pastes exactly what the demo wrote."""

import json
import re
from pathlib import Path

import pytest

from gahr.cli import build_parser
from gahr.errors import DataError
from gahr.workflows import readme

ROOT = Path(__file__).resolve().parents[1]


def test_readme_block_is_the_committed_demo_summary():
    block = readme.read_block((ROOT / readme.README).read_text(encoding="utf-8"))
    committed = ROOT / readme.SUMMARY_COPY
    if not committed.exists():  # nothing published yet: the README then quotes no numbers
        assert block.strip() == ""
        return
    assert block == committed.read_text(encoding="utf-8"), (
        "README.md's demo block differs from docs/demo_summary.md; run `make demo-publish`")
    for path in re.findall(r"\]\((docs/gallery/[^)]+)\)", block):
        assert (ROOT / path).is_file(), path


def test_readme_states_no_other_demo_run_time():
    """One measured run time, in the generated block; none typed elsewhere in the README or in
    `gahr demo --help`."""
    text = (ROOT / readme.README).read_text(encoding="utf-8")
    start, end = text.find(readme.BEGIN), text.find(readme.END)
    outside = text[:start] + text[end:]
    demo_lines = [line for line in outside.splitlines() if "demo" in line]
    assert not any(re.search(r"\d+(\.\d+)? ?(min|s)\b", line) for line in demo_lines)
    parser = build_parser()
    action = next(a for a in parser._subparsers._group_actions if a.choices)
    help_text = action.choices["demo"].format_help()
    assert "summary.md" in help_text and not re.search(r"\d+ ?(min|minutes)\b", help_text)


def fake_demo(out: Path, fresh=True) -> None:
    """The files `gahr demo` leaves for publishing, with tiny stand-in figures."""
    rows = [{"N": 10}, {"N": 2000}]
    (out / "summary.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"rows": rows, "fresh": fresh}))
    (out / "summary.md").write_text("| quantity | N = 10 | N = 2000 | unit |\n")
    for _, source, _ in readme.gallery(out, rows):
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(b"\x89PNG stand-in " + source.name.encode())


def test_publish_pastes_the_summary_and_copies_the_figures(tmp_path):
    out, repo = tmp_path / "run", tmp_path / "repo"
    fake_demo(out)
    (repo / "docs").mkdir(parents=True)
    (repo / "README.md").write_text(f"intro\n{readme.BEGIN}\nold numbers\n{readme.END}\nrest\n")
    written = readme.publish(out, repo)
    text = (repo / "README.md").read_text()
    assert "old numbers" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    block = readme.read_block(text)
    assert block == (repo / readme.SUMMARY_COPY).read_text()
    assert block.startswith("| quantity | N = 10 | N = 2000 | unit |")
    for path in re.findall(r"\]\((docs/gallery/[^)]+)\)", block):
        assert (repo / path).read_bytes().startswith(b"\x89PNG")
    assert len(written) == len(readme.gallery(out, [{"N": 10}, {"N": 2000}])) + 2
    readme.publish(out, repo)  # publishing twice changes nothing
    assert (repo / "README.md").read_text() == text


def test_publish_refuses_resumed_runs_and_missing_markers(tmp_path):
    out, repo = tmp_path / "run", tmp_path / "repo"
    fake_demo(out, fresh=False)
    repo.mkdir()
    (repo / "README.md").write_text("no markers\n")
    with pytest.raises(DataError, match="resumed run"):
        readme.publish(out, repo)
    fake_demo(out)
    with pytest.raises(DataError, match="lacks the demo markers"):
        readme.publish(out, repo)
    with pytest.raises(DataError, match="no demo summary"):
        readme.publish(tmp_path / "empty", repo)
