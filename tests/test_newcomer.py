"""What a newcomer tripped on (issue 24): the demo's first screen, one tr J, the plots, the
commands' messages, the presets. Each test fails without its fix."""

import json
from pathlib import Path

import numpy as np
import pytest
import tomllib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gahr.cli import main
from gahr.config import load_config
from gahr.report import Report, render_html
from gahr.report import plots as plots_module
from gahr.workflows import captions
from gahr.workflows.summary import quantity_table, summary_rows

ROOT = Path(__file__).resolve().parents[1]


def iv(value, low, high, n=16):
    return {"value": value, "low": low, "high": high, "n": n}


def test_generalization_is_said_with_the_other_set_similarity():
    """The README's N = 2000 numbers: samples at 0.96 to their own set and 0.97 to images that
    model never saw are not copies; they used to read "as close to a training image as a
    copy" without the word generalization."""
    row = {"N": 2000, "nearest": iv(0.96, 0.95, 0.97), "same_seed": iv(0.91, 0.86, 0.96),
           "nearest_other": iv(0.97, 0.96, 0.97)}
    assert captions.regime(row) == "generalization"
    text = captions.similarity_sentence(row)
    assert "images that model never saw (other-set similarity 0.97 [0.96, 0.97])" in text
    assert text.endswith("generalization.")
    memorizer = {"N": 10, "nearest": iv(1.0, 1.0, 1.0), "same_seed": iv(0.56, 0.22, 0.62),
                 "nearest_other": iv(0.71, 0.65, 0.85)}
    assert captions.regime(memorizer) == "memorization"
    # copies of its own set that the other set does not explain stay copies
    copies = dict(row, nearest_other=iv(0.80, 0.75, 0.85))
    assert captions.regime(copies) == "same"


def _tick_texts(ax, which):
    """The labels of the ticks inside the view, major and minor."""
    FigureCanvasAgg(ax.figure).draw()
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = sorted(axis.get_view_interval())

    def shown(ticks):
        return [t.label1.get_text() for t in ticks
                if lo <= t.get_loc() <= hi and t.label1.get_text()]
    return shown(axis.get_major_ticks()), shown(axis.get_minor_ticks())


@pytest.mark.parametrize("lo, hi", [(20, 80), (10, 50), (1, 2000), (0.01, 1.0)])
def test_log_axes_have_plain_labels_that_do_not_crowd(lo, hi):
    """The effective dimension's axis read "3x10^1"; N from 10 to 50 crowded its labels."""
    ax = Figure().subplots()
    ax.plot([lo, hi], [lo, hi])
    plots_module.log_scale(ax, "x")
    plots_module.log_scale(ax, "y")
    for which in ("x", "y"):
        major, minor = _tick_texts(ax, which)
        assert not minor and major
        assert all("times" not in t and "^" not in t for t in major)
        values = [float(t.replace("\u2212", "-")) for t in major]  # plain numbers
        assert 2 <= len(values) <= 8


def test_the_histogram_legend_names_the_overlap_colour(monkeypatch, tmp_path):
    seen = {}

    def capture(fig, handles, labels, **kw):
        seen["labels"], seen["handles"] = list(labels), list(handles)

    monkeypatch.setattr(plots_module, "legend_below", capture)
    rng = np.random.default_rng(0)
    plots_module.histogram(tmp_path / "h.png", {"S1": rng.random(50), "S2": rng.random(50)},
                           "cosine", "two groups", save_data=False)
    assert seen["labels"][-1] == "both (overlap)"
    first, second = (np.array(h.get_facecolor()) for h in seen["handles"][:2])
    blend = np.array(seen["handles"][-1].get_facecolor()[:3])
    white_under = first[:3] * first[3] + (1 - first[3])
    np.testing.assert_allclose(blend, second[:3] * second[3] + white_under * (1 - second[3]))


def test_included_reports_never_repeat_a_title(tmp_path):
    for name in ("N1_S1", "N4_S1"):
        sub = Report(tmp_path / name, "one run")
        sub.add_section("Outputs on noisy test images", "same title in every run")
        sub.write()
    page = Report(tmp_path, "all runs")
    page.include(tmp_path / "N1_S1", label="N1_S1")
    page.include(tmp_path / "N4_S1", label="N4_S1")
    page.include(tmp_path / "N4_S1")  # no label: the folder tells it apart
    titles = [s["title"] for s in page.manifest["sections"]]
    assert titles == ["N1_S1: Outputs on noisy test images",
                      "N4_S1: Outputs on noisy test images",
                      "Outputs on noisy test images"]
    page.include(tmp_path / "N4_S1")
    assert page.manifest["sections"][-1]["title"] == "Outputs on noisy test images (N4_S1)"


def test_reproduce_list_names_the_data_of_every_result(capsys):
    assert main(["reproduce", "--list"]) == 0
    blocks = capsys.readouterr().out.split("\n    $ ")
    listed = [line for line in "\n".join(blocks).splitlines() if line.startswith("    data: ")]
    names = [line for line in "\n".join(blocks).splitlines() if "[--scale" in line]
    assert len(listed) == len(names) > 0
    assert any("dataset-fashion-mnist" in line for line in listed)
    assert any("nothing to download: synthetic discs" in line for line in listed)


def test_cpu_presets_train_on_one_thread():
    for path in sorted((ROOT / "configs" / "cpu").glob("*.toml")):
        if "train" in tomllib.loads(path.read_text()):
            cls = None
            if "sweep" in tomllib.loads(path.read_text()):
                from gahr.config import SweepConfig as cls
            config = load_config(path, cls=cls) if cls else load_config(path)
            assert config.train.threads == 1, path.name


def test_the_compare_cache_logs_only_entries_that_took_time(tmp_path, monkeypatch):
    from gahr.workflows import json_cache

    # a fake clock, so the test does not depend on the machine's load: each entry takes 10 ms,
    # the last one 2 s
    ticks = iter([0.0, *(0.01 * i for i in range(1, 17)), 2.16])
    monkeypatch.setattr(json_cache.time, "perf_counter", lambda: next(ticks))
    lines = []
    cache = json_cache.JsonCache(tmp_path / "partial.json", {"a": 1}, log=lines.append)
    for i in range(17):
        cache[f"entry{i}"] = i
    assert lines == ["  entry16: 2.0 s"] and len(cache) == 17


# --- the demo's first screen ------------------------------------------------------------


def fake_eigen(trace_small, trace_large):
    return {"n_small": 1, "n_large": 200, "trace_draws": {"N=1": trace_small,
                                                         "N=200": trace_large}}


def test_one_effective_dimension_with_its_interval_everywhere():
    """tr J read 25.4 in the summary and 21.4 in the eigen section (two noise draws): both now
    read the median over the same draws with its interval."""
    from gahr.workflows.demo_report import TRACE_SEEDS, effective_dimensions

    rng = np.random.default_rng(0)
    eigen = fake_eigen(list(4 + rng.random(8)), list(70 + 10 * rng.random(8)))
    found = effective_dimensions(eigen)
    record = {"n": 200, "seeds": [0], "same_seed_similarity": [0.9],
              "S1": {"converged": 1, "psnr": {}}, "S2": {"converged": 1, "psnr": {}}}
    rows = summary_rows([dict(record, n=1), record], [0.1], found)
    table = quantity_table(rows, eigen_sigma=0.1, dimension=256)
    shown = next(q for q in table["rows"] if q["name"].startswith("effective dimension"))
    eigen_section = captions.fmt(found[200], ".1f")
    assert shown["values"]["N=200"] == eigen_section and "[" in eigen_section
    assert found[200]["value"] == pytest.approx(np.median(eigen["trace_draws"]["N=200"]))
    assert len(TRACE_SEEDS) >= 6
    sentence = captions.effective_dimension_sentence(rows[0], rows[1], 0.1, 256)
    assert eigen_section in sentence


def test_a_lead_with_a_second_figure_puts_it_under_the_caption(tmp_path):
    report = Report(tmp_path, "page")
    for name in ("grid.png", "strip.png"):
        Image = pytest.importorskip("PIL.Image")
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name)
    report.add_section("Summary", "CAPTION", figures=[{"path": "grid.png"},
                                                      {"path": "strip.png"}],
                       quantities={"columns": ["N=1"], "rows": [
                           {"name": "q", "definition": "DEFINITION", "unit": "u",
                            "values": {"N=1": "1"}}]}, layout="lead")
    report.write()
    manifest = json.loads((tmp_path / "report.json").read_text())
    page = render_html(manifest)
    body = page[page.index('<div class="lead-body">'):]
    text = body[body.index('<div class="lead-text">'):]
    assert 'data-path="grid.png"' not in text and 'data-path="strip.png"' in text
    assert text.index("CAPTION") < text.index("strip.png") < text.index("quantities")
    # definitions are a hover and a folded list, not a paragraph in every row
    assert 'title="DEFINITION"' in text and "<details" in text


@pytest.mark.slow  # a whole tiny demo; CI also runs `gahr demo --quick`
def test_the_demo_first_screen_holds_all_three_claims(tmp_path):
    from test_demo import TINY

    from gahr.workflows.demo import run_demo

    run_demo(tmp_path, quick=True, overrides=[*TINY, "memorization.num_samples=6"],
             progress=False, log=lambda s: None)
    lead = json.loads((tmp_path / "report.json").read_text())["sections"][0]
    paths = [f["path"] for f in lead["figures"]]
    assert paths[0].endswith("grid.png") and paths[1].endswith("top_eigenvectors.png")
    assert "of the energy of the clean image" in lead["caption"]
    assert "N=8 model shrinks in" in lead["figures"][1]["caption"]
    assert (tmp_path / "eigen" / "top_eigenvectors.png").is_file()
    eigen = json.loads((tmp_path / "eigen" / "eigen.json").read_text())
    assert len(eigen["trace_draws"]["N=8"]) >= 6
