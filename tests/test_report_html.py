"""The HTML report: manifest round trip, references on disk, escaping, rebuild, bad manifests."""

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from gahr.cli import main
from gahr.report import Report, ReportError, build_report, line_plot, load_manifest, save_image_grid


class _Refs(HTMLParser):
    """Collect every img's file (its data-path) and embedded bytes, and every text node."""

    def __init__(self):
        super().__init__()
        self.srcs, self.data, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.srcs.append(attrs["data-path"])
            head, _, payload = attrs["src"].partition(",")
            assert head == "data:image/png;base64", head
            self.data.append(base64.b64decode(payload))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: Path) -> _Refs:
    refs = _Refs()
    refs.feed(page.read_text(encoding="utf-8"))
    return refs


def make_report(root: Path) -> Path:
    """A two-section report whose figure file names need URL quoting."""
    grid = save_image_grid(np.random.rand(4, 1, 8, 8), root / "figures" / "samples grid.png")
    line_plot(root / "figures" / "psnr.png", [1, 4, 16], {"test": [20.0, 24.5, 26.0]},
              "N (training images)", "PSNR (dB)", "test PSNR against N", logx=True)
    report = Report(root, "Demo <one> & two", intro="What this run did.")
    report.numbers.update(psnr=np.float32(26.0), n_train=np.int64(16), ok=True)
    report.add_section("Samples", 'Compare rows: S1 & S2 "agree" <b>not bold</b>.',
                       figures=[grid], numbers={"similarity": 0.91234})
    report.add_section("Performance", "Test PSNR rises with N.",
                       figures=[{"path": "figures/psnr.png", "title": "PSNR",
                                 "caption": "Dashed: noisy input."}],
                       tables=[[{"N": 1, "psnr": 20.0}, {"N": 16, "psnr": 26.0, "note": "best"}]])
    return report.write()


def test_page_references_exist_and_text_is_escaped(tmp_path):
    page = make_report(tmp_path)
    assert page == tmp_path / "report.html"
    refs = parse(page)
    assert len(refs.srcs) == 2
    for src, data in zip(refs.srcs, refs.data, strict=True):  # the page holds the PNGs' bytes
        assert not src.startswith(("/", "http", "file:"))
        assert (tmp_path / unquote(src)).read_bytes() == data
    html = page.read_text()
    assert "<b>not bold</b>" not in html and "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "Demo &lt;one&gt; &amp; two" in html
    text = "".join(refs.text)
    assert 'S1 & S2 "agree" <b>not bold</b>' in text  # what the reader sees, unchanged
    assert "26" in text and "0.9123" in text and "best" in text
    manifest = load_manifest(tmp_path)
    assert manifest["numbers"] == {"psnr": 26.0, "n_train": 16, "ok": True}
    assert manifest["sections"][0]["figures"][0]["path"] == "figures/samples grid.png"


def test_page_alone_keeps_its_figures_when_moved(tmp_path):
    page = make_report(tmp_path / "run")
    moved = tmp_path / "mail" / "report.html"
    moved.parent.mkdir()
    shutil.copy(page, moved)
    shutil.rmtree(tmp_path / "run")
    assert len(parse(moved).data) == 2 and all(d.startswith(b"\x89PNG") for d in parse(moved).data)


def test_folded_table_and_named_quantities(tmp_path):
    grid = save_image_grid(np.random.rand(4, 1, 8, 8), tmp_path / "figures" / "g.png")
    report = Report(tmp_path, "T")
    quantities = {"columns": ["N=10", "N=2000"], "rows": [
        {"name": "same-seed similarity", "definition": "median cosine of S1 and S2 samples",
         "unit": "cosine", "values": {"N=10": "0.21 [0.1, 0.3]", "N=2000": "0.95 [0.9, 0.97]"}}]}
    report.add_section("Summary", "Both claims.", figures=[grid], quantities=quantities,
                       layout="lead", tables=[{"title": "every number", "rows": [{"N": 10}],
                                               "folded": True}])
    html = report.write().read_text()
    assert "<details><summary>every number</summary>" in html
    assert '<div class="lead-body">' in html and "0.95 [0.9, 0.97]" in html
    assert "median cosine of S1 and S2 samples" in html
    bad = json.loads((tmp_path / "report.json").read_text())
    bad["sections"][0]["quantities"]["rows"][0].pop("definition")
    with pytest.raises(ReportError, match="definition"):
        build_report(_write(tmp_path, bad))
    bad["sections"][0].update(layout="wide")
    with pytest.raises(ReportError, match="layout"):
        build_report(_write(tmp_path, bad))


def test_rebuild_without_recomputing_and_redraw_missing_png(tmp_path, capsys):
    page = make_report(tmp_path)
    first = page.read_text()
    png = tmp_path / "figures" / "psnr.png"
    png.unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert png.is_file() and page.read_text() == first
    assert "(1 redrawn" in capsys.readouterr().out
    assert main(["report", str(tmp_path), "--redraw"]) == 0
    assert "(2 redrawn" in capsys.readouterr().out


def test_include_rebases_figure_paths(tmp_path):
    make_report(tmp_path / "runs" / "eigen")
    top = Report(tmp_path, "Combined")
    top.numbers["psnr"] = 1.0
    top.include(tmp_path / "runs" / "eigen")
    page = top.write()
    srcs = [unquote(s) for s in parse(page).srcs]
    assert srcs == ["runs/eigen/figures/samples grid.png", "runs/eigen/figures/psnr.png"]
    assert all((tmp_path / s).is_file() for s in srcs)
    assert load_manifest(tmp_path)["numbers"]["runs/eigen: psnr"] == 26.0


def _write(root: Path, manifest) -> Path:
    (root / "report.json").write_text(manifest if isinstance(manifest, str) else
                                      json.dumps(manifest))
    return root


def _good(**section):
    base = {"title": "t", "caption": "c", "figures": [{"path": "f.png"}]}
    base.update(section)
    return {"format": "gahr-report/1", "title": "T", "sections": [base]}


@pytest.mark.parametrize("manifest, match", [
    ("{not json", "not valid JSON"),
    ({"format": "other", "title": "T", "sections": []}, "format"),
    ({"format": "gahr-report/1", "title": "T", "sections": []}, "sections"),
    (_good(caption=""), "caption"),
    (_good(figures=[{"path": "/etc/f.png"}]), "relative path"),
    (_good(figures=[{"path": "../f.png"}]), "relative path"),
    (_good(figures=[{"path": "f.txt"}]), "not an image"),
    (_good(figures=["f.png"]), "not an object"),
    (_good(numbers={"x": [1, 2]}), "is a list"),
    (_good(tables=[{"rows": 3}]), "row objects"),
    (_good(), "missing"),  # f.png is not on disk and has no data to redraw it
])
def test_bad_manifest_is_one_line_error(tmp_path, manifest, match):
    with pytest.raises(ReportError, match=match) as info:
        build_report(_write(tmp_path, manifest))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "report.html").exists()


def test_cli_reports_missing_manifest_in_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no report.json" in err


def test_figure_outside_report_dir_is_refused(tmp_path):
    outside = save_image_grid(np.random.rand(1, 1, 4, 4), tmp_path / "elsewhere.png")
    with pytest.raises(ReportError, match="outside the report dir"):
        Report(tmp_path / "run", "T").add_section("s", "c", figures=[outside.resolve()])
