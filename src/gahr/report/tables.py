"""Markdown tables from already formatted cells: one home for the pipes and the rule line."""

from .errors import ReportError


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table: `header` cells, then one line per row of cells (strings, no "|")."""
    if any(len(r) != len(header) for r in rows):
        raise ReportError(f"a table row has not the {len(header)} cells of its header")
    if any("|" in str(c) for c in [*header, *(c for r in rows for c in r)]):
        raise ReportError("a table cell holds '|', which would split it; write it otherwise")
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines) + "\n"
