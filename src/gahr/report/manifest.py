"""The report manifest (`report.json`) and building `report.html` from it without recomputing.

A producer (demo, memorization experiment, eigen analysis) draws its figures with
`gahr.report.figures` into its run dir and describes the page with a `Report`; `Report.write()`
saves `report.json` and renders `report.html`. `build_report(DIR)` (`gahr report DIR`) renders
the page again from `report.json` and the saved PNGs (embedded in the page); a missing PNG, or
every PNG with `redraw=True`, is drawn again from its `.npz` data sidecar.
The format, version "gahr-report/1":

    {"format": "gahr-report/1", "title": str, "intro": str (optional),
     "numbers": {name: number | str | bool | null} (optional, the page's key numbers),
     "sections": [{"title": str, "caption": str (one sentence: what to look at),
                   "layout": "lead" (optional: figures beside the text, the first screen),
                   "figures": [{"path": "figures/x.png" (relative to DIR), "title": str,
                                "caption": str, "alt": str (all three optional)} ...],
                   "quantities": {"columns": [str], "rows": [{"name": str,
                                  "definition": str, "unit": str,
                                  "values": {column: scalar}} ...]} (optional),
                   "tables": [{"title": str, "rows": [{column: scalar} ...],
                               "folded": bool (optional: closed <details>)} ...],
                   "numbers": {...}} ...]}
"""

import json
import os
from pathlib import Path, PurePosixPath

from ..io import atomic_path, save_json
from .errors import ReportError
from .html import render_html
from .redraw import redraw

FORMAT = "gahr-report/1"
MANIFEST = "report.json"
PAGE = "report.html"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
_SCALAR = (str, int, float, bool, type(None))


def _fail(where: str, problem: str, fix: str):
    raise ReportError(f"{where}: {problem}; {fix}")


def _text(obj: dict, key: str, where: str, required=True) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        _fail(f"{where}.{key}", "missing or not a non-empty string", f"give the {key} as text")


def _check_numbers(numbers, where: str) -> None:
    if not isinstance(numbers, dict):
        _fail(where, "is not an object", "write numbers as {name: value}")
    for name, value in numbers.items():
        if not isinstance(value, _SCALAR):
            _fail(f"{where}[{name!r}]", f"is a {type(value).__name__}",
                  "use a number, text, true/false or null")


def _check_figure_path(path, where: str) -> None:
    if not isinstance(path, str) or not path:
        _fail(where, "missing or not a string", "give the figure file relative to the report dir")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        _fail(where, f"{path!r} is not a relative path inside the report dir",
              "save figures under the report dir and give their relative POSIX path")
    if pure.suffix.lower() not in _IMAGE_SUFFIXES:
        _fail(where, f"{path!r} is not an image file", "list .png (or .jpg/.svg) files")


def _check_section(section, where: str) -> None:
    if not isinstance(section, dict):
        _fail(where, "is not an object", "write each section as {title, caption, figures}")
    _text(section, "title", where)
    _text(section, "caption", where)
    figures, tables = section.get("figures", []), section.get("tables", [])
    if not isinstance(figures, list) or not isinstance(tables, list):
        _fail(where, "figures and tables must be lists", "write them as JSON arrays")
    for j, fig in enumerate(figures):
        if not isinstance(fig, dict):
            _fail(f"{where}.figures[{j}]", "is not an object", 'write {"path": ..., ...}')
        _check_figure_path(fig.get("path"), f"{where}.figures[{j}].path")
        for key in ("title", "caption", "alt"):
            _text(fig, key, f"{where}.figures[{j}]", required=False)
    for j, table in enumerate(tables):
        rows = table.get("rows") if isinstance(table, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            _fail(f"{where}.tables[{j}]", "has no list of row objects", 'write {"rows": [{...}]}')
        for r, row in enumerate(rows):
            _check_numbers(row, f"{where}.tables[{j}].rows[{r}]")
    if "numbers" in section:
        _check_numbers(section["numbers"], f"{where}.numbers")
    if section.get("layout", "lead") != "lead":
        _fail(f"{where}.layout", f"is {section['layout']!r}", 'use "lead" or leave it out')
    if "quantities" in section:
        _check_quantities(section["quantities"], f"{where}.quantities")


def _check_quantities(quantities, where: str) -> None:
    columns = quantities.get("columns") if isinstance(quantities, dict) else None
    rows = quantities.get("rows") if isinstance(quantities, dict) else None
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) \
            or not isinstance(rows, list):
        _fail(where, "needs a list of column names and a list of rows",
              'write {"columns": ["N=10", ...], "rows": [{"name": ..., ...}]}')
    for r, row in enumerate(rows):
        if not isinstance(row, dict):
            _fail(f"{where}.rows[{r}]", "is not an object",
                  "write {name, definition, unit, values}")
        _text(row, "name", f"{where}.rows[{r}]")
        _text(row, "definition", f"{where}.rows[{r}]")
        _check_numbers(row.get("values", {}), f"{where}.rows[{r}].values")


def validate_manifest(manifest, where: str = MANIFEST) -> dict:
    """Check a manifest's structure (not its files); return it or raise a one-line ReportError."""
    if not isinstance(manifest, dict):
        _fail(where, "is not a JSON object", "rerun the command that wrote it")
    if manifest.get("format") != FORMAT:
        _fail(f"{where}.format", f"is {manifest.get('format')!r}, expected {FORMAT!r}",
              "rerun the command that wrote it with this version of gahr")
    _text(manifest, "title", where)
    _text(manifest, "intro", where, required=False)
    if "numbers" in manifest:
        _check_numbers(manifest["numbers"], f"{where}.numbers")
    sections = manifest.get("sections")
    if not isinstance(sections, list) or not sections:
        _fail(f"{where}.sections", "missing or empty", "add at least one section")
    for i, section in enumerate(sections):
        _check_section(section, f"{where}.sections[{i}]")
    return manifest


def load_manifest(root) -> dict:
    """Read and validate `root/report.json`."""
    path = Path(root) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"no {MANIFEST} in {root}; run the command that makes the report "
                          "(gahr demo, an experiment or an analysis) on that dir first") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"cannot read {path} ({type(e).__name__}); check the file") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportError(f"{path} is not valid JSON (line {e.lineno}: {e.msg}); fix it or rerun "
                          "the command that wrote it") from None
    return validate_manifest(manifest, str(path))


def _figures(manifest: dict):
    for section in manifest["sections"]:
        yield from section.get("figures", [])


def _ensure_figures(root: Path, manifest: dict, force_redraw: bool) -> int:
    """Make every listed figure exist, redrawing from data sidecars; return how many were drawn."""
    drawn = 0
    for fig in _figures(manifest):
        png = root / fig["path"]
        has_data = png.suffix.lower() == ".png" and png.with_suffix(".npz").exists()
        if (force_redraw or not png.exists()) and has_data:
            redraw(png)
            drawn += 1
        elif not png.exists():
            raise ReportError(f"figure {fig['path']} listed in {MANIFEST} is missing from {root} "
                              "and has no .npz data to redraw it; rerun the command that made it")
    return drawn


def build_report(root, redraw: bool = False) -> tuple[Path, int]:
    """Render `root/report.html` from `root/report.json`; return (page path, figures redrawn).

    Nothing is recomputed: the page comes from the manifest's numbers and tables and the saved
    PNGs; a missing PNG (every PNG with `redraw=True`) is drawn again from its `.npz` sidecar.
    """
    root = Path(root)
    manifest = load_manifest(root)
    drawn = _ensure_figures(root, manifest, redraw)
    with atomic_path(root / PAGE) as tmp:
        tmp.write_text(render_html(manifest, root), encoding="utf-8")
    return root / PAGE, drawn


def _plain(value):
    """numpy/torch scalars -> Python scalars, so producers can pass metrics as computed."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value


def _plain_dict(d: dict) -> dict:
    return {str(k): _plain(v) for k, v in d.items()}


def _relative_figure(root: Path, path) -> str:
    """A figure path as given (cwd-relative or absolute) or root-relative -> root-relative POSIX."""
    path = Path(path)
    candidate = path if path.is_absolute() else Path.cwd() / path
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        if path.is_absolute():
            raise ReportError(f"figure {path} lies outside the report dir {root}; save it under "
                              "that dir so the page can find it") from None
        return path.as_posix()


class Report:
    """Builder of a report manifest: sections of figures, captions, tables and key numbers."""

    def __init__(self, root, title: str, intro: str | None = None):
        self.root = Path(root)
        self.manifest = {"format": FORMAT, "title": title, "numbers": {}, "sections": []}
        if intro:
            self.manifest["intro"] = intro

    @property
    def numbers(self) -> dict:
        """The page's key numbers (name -> scalar), shown at the top."""
        return self.manifest["numbers"]

    def add_section(self, title: str, caption: str, figures=(), tables=(),
                    numbers: dict | None = None, quantities: dict | None = None,
                    layout: str | None = None) -> dict:
        """Append a section; `figures` are paths or dicts {path, title, caption, alt}, `tables` are
        lists of row dicts or dicts {title, rows, folded}; `quantities` and `layout` as in the
        manifest format above."""
        figs = []
        for fig in figures:
            entry = dict(fig) if isinstance(fig, dict) else {"path": fig}
            entry["path"] = _relative_figure(self.root, entry["path"])
            figs.append(entry)
        tabs = [dict(t) if isinstance(t, dict) else {"rows": list(t)} for t in tables]
        for t in tabs:
            t["rows"] = [_plain_dict(r) if isinstance(r, dict) else r for r in t.get("rows", [])]
        section = {"title": title, "caption": caption, "figures": figs, "tables": tabs}
        if numbers:
            section["numbers"] = _plain_dict(numbers)
        if quantities:
            section["quantities"] = quantities
        if layout:
            section["layout"] = layout
        self.manifest["sections"].append(section)
        return section

    def include(self, sub_dir, lead: bool = True, label: str | None = None) -> None:
        """Append the sections (and key numbers) of the report saved in `sub_dir` under root;
        `lead=False` leaves out its lead section (when this page has a lead of its own).
        `label` prefixes their titles ("N10_S1: ..."); a title the page already has gets the
        sub-report's folder after it, so the contents never list one title twice."""
        sub = load_manifest(sub_dir)
        prefix = Path(os.path.relpath(Path(sub_dir).resolve(), self.root.resolve())).as_posix()
        if prefix.startswith(".."):
            raise ReportError(f"{sub_dir} is not inside the report dir {self.root}; include only "
                              "reports saved under it")
        for section in sub["sections"]:
            if not lead and section.get("layout") == "lead":
                continue
            section = dict(section)
            if label:
                section["title"] = f"{label}: {section['title']}"
            if section["title"] in {s["title"] for s in self.manifest["sections"]}:
                section["title"] = f"{section['title']} ({prefix})"
            section["figures"] = [dict(f, path=(PurePosixPath(prefix) / f["path"]).as_posix())
                                  for f in section.get("figures", [])]
            self.manifest["sections"].append(section)
        for name, value in sub.get("numbers", {}).items():
            self.numbers[name if name not in self.numbers else f"{prefix}: {name}"] = value

    def write(self, redraw: bool = False) -> Path:
        """Validate, save `report.json` and render `report.html`; return the page's path."""
        self.manifest["numbers"] = _plain_dict(self.numbers)
        validate_manifest(self.manifest, f"{self.root / MANIFEST}")
        save_json(self.manifest, self.root / MANIFEST)
        return build_report(self.root, redraw=redraw)[0]
