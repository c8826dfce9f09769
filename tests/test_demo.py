"""`gahr demo` end to end at a size far below --quick (slow tests): every stage runs, reruns
resume; fast tests for the dry run and the errors."""

import json

import numpy as np
import pytest

from gahr.cli import main
from gahr.workflows.demo import demo_config, run_demo

TINY = ["train.epochs=1", "train.samples_per_epoch=64", "train.batch_size=16",
        "data.num_images=64", "data.n_test=4", "train.eval_images=4", "sweep.n_train=[1, 8]",
        "memorization.num_samples=2", "memorization.n_eval=4"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    try:
        result = run_demo(out, quick=True, overrides=TINY, progress=False, log=lambda s: None)
    except Exception as e:  # pragma: no cover - surfaced below with the cause
        pytest.fail(f"demo failed: {e}")
    return out, result


@pytest.mark.slow  # about a minute on 2 cores; CI also runs `gahr demo --quick`
def test_demo_writes_a_report_with_every_stage(demo_dir):
    out, result = demo_dir
    html = (out / "report.html").read_text()
    for name in ("eigenvectors.png", "spectrum.png", "effective_dimension.png", "grid.png"):
        assert name in html
    manifest = json.loads((out / "report.json").read_text())
    assert len(manifest["sections"]) >= 4
    for section in manifest["sections"]:
        for fig in section["figures"]:
            assert (out / fig["path"]).is_file(), fig["path"]
    assert result.report == out / "report.html"
    assert 3 <= len(result.summary) <= 10 and str(out / "report.html") in result.summary[-1]
    assert "from scratch" in result.summary[-1]
    lead = manifest["sections"][0]
    assert lead["layout"] == "lead" and lead["figures"][0]["path"].endswith("grid.png")
    names = [q["name"] for q in lead["quantities"]["rows"]]
    assert 5 <= len(names) <= 8 and "same-seed similarity" in names
    assert lead["quantities"]["columns"] == ["N=1", "N=8"]
    assert lead["tables"][0]["folded"] is True
    assert "data:image/png;base64," in html and 'src="sweep/' not in html  # embedded
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fresh"] is True and [r["N"] for r in summary["rows"]] == [1, 8]
    assert (out / "summary.md").read_text().count("| N = 1 | N = 8 |") == 1


@pytest.mark.slow  # about a minute on 2 cores; CI also runs `gahr demo --quick`
def test_eigen_stage_numbers_are_consistent(demo_dir):
    """The effective dimension reported is the trace of J, i.e. the sum of the eigenvalues of
    its symmetric part; the eigenvectors are orthonormal."""
    out, _ = demo_dir
    eigen = json.loads((out / "eigen" / "eigen.json").read_text())
    data = np.load(out / "eigen" / "eigen.npz")
    assert eigen["effective_dimension"] == pytest.approx(data["lambda_k"].sum(), rel=1e-9)
    e = data["e_k"].reshape(len(data["lambda_k"]), -1).astype(np.float64)
    np.testing.assert_allclose(e @ e.T, np.eye(len(e)), atol=1e-4)
    assert np.all(np.diff(data["lambda_k"]) <= 1e-12)
    curves = eigen["effective_dimension_curves"]
    assert set(curves) == {"N=1", "N=8"}


@pytest.mark.slow  # about a minute on 2 cores; CI also runs `gahr demo --quick`
def test_rerun_resumes_without_recomputing(demo_dir):
    out, _ = demo_dir
    watched = [out / "sweep" / "N8_S1" / "model.safetensors", out / "eigen" / "eigen.json",
               out / "sweep" / "memorization" / "N1.json"]
    before = [p.stat().st_mtime_ns for p in watched]
    logs = []
    run_demo(out, quick=True, overrides=TINY, progress=False, log=logs.append)
    assert [p.stat().st_mtime_ns for p in watched] == before
    assert any("skipped" in line for line in logs)


def test_dry_run_prints_the_resolved_config(tmp_path, capsys):
    assert main(["demo", "--quick", "--dry-run", "--out", str(tmp_path)]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["sweep"]["out"] == (tmp_path / "sweep").as_posix()
    assert config["data"]["source"] == "discs"
    assert not (tmp_path / "sweep").exists()


def test_bad_override_is_a_one_line_error(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--set", "train.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.count("\n") == 1


def test_demo_needs_two_sizes(tmp_path):
    from gahr.errors import ConfigError
    with pytest.raises(ConfigError, match="two values of sweep.n_train"):
        run_demo(tmp_path, quick=True, overrides=["sweep.n_train=[8]"], log=lambda s: None)
    assert demo_config(tmp_path, quick=False).sweep.out == (tmp_path / "sweep").as_posix()
