import json
import subprocess
import sys

import nbformat
import pytest

from cnneff import cli, runner


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "cnneff.cli", *args], capture_output=True, text=True)


def test_flops_json(capsys):
    assert cli.main(["macs", "efficientnet_b0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"model": "efficientnet_b0", "image_size": 224, "num_classes": 1000,
                   "params": 5288548, "macs": 385814752}


def test_flops_library_prefixes_and_per_layer(capsys):
    assert cli.main(["flops", "torchvision:mobilenet_v2", "--image-size", "64", "--num-classes", "10", "--per-layer", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["image_size"] == 64 and out["num_classes"] == 10
    assert sum(layer["macs"] for layer in out["layers"]) == out["macs"]
    assert cli.main(["flops", "timm:resnet18", "--json"]) == 0


def test_unknown_model_is_one_clear_line():
    p = run_cli("flops", "efficientnet_b9")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "unknown model 'efficientnet_b9'" in p.stderr and "tinynet_a" in p.stderr


@pytest.mark.parametrize("size,msg", [("20", "at least 32"), ("6.5", "must be an integer")])
def test_bad_image_size(size, msg):
    p = run_cli("flops", "mobilenet_v2", "--image-size", size)
    assert p.returncode == 2 and msg in p.stderr and "Traceback" not in p.stderr


@pytest.fixture
def toy_notebooks(tmp_path, monkeypatch):
    """A notebooks/ folder with one tiny parameterized notebook."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1\nprofile = 'cpu'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import os\nassert os.environ.get('TOY_FAIL') != '1', 'asked to fail'\nprint('ok', x)\n"
        "from cnneff.results import save_metrics\nsave_metrics({'x': x, 'wall_seconds': 0.0}, 'toy', profile)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "toy.ipynb")
    monkeypatch.setattr(runner.params, "NOTEBOOKS", folder)
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results" / "cpu"


def test_unknown_parameter_names_the_notebooks_parameters(toy_notebooks, capsys):
    assert cli.main(["run", "toy", "-p", "y", "3"]) == 2
    err = capsys.readouterr().err
    assert "no parameter 'y'" in err and "x, profile" in err


def test_unknown_notebook(toy_notebooks, capsys):
    assert cli.main(["run", "nope"]) == 2
    assert "valid names: toy" in capsys.readouterr().err


def test_failed_run_keeps_the_last_good_one(toy_notebooks, capsys, monkeypatch):
    assert cli.main(["run", "toy"]) == 0
    good = toy_notebooks / "toy.ipynb"
    assert good.is_file()
    before = good.read_text()
    monkeypatch.setenv("TOY_FAIL", "1")
    assert cli.main(["run", "toy"]) == 2
    assert "failed" in capsys.readouterr().err
    assert good.read_text() == before  # untouched
    failed = toy_notebooks / "toy.failed.ipynb"
    assert failed.is_file() and "asked to fail" in failed.read_text()
    assert not list(toy_notebooks.glob(".*running*"))
    # the next good run clears the failed copy
    monkeypatch.delenv("TOY_FAIL")
    assert cli.main(["run", "toy"]) == 0
    assert not failed.exists()


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_with_overrides_never_writes_over_the_profile(toy_notebooks, capsys):
    assert cli.main(["run", "toy"]) == 0
    before = _tree(toy_notebooks)
    assert cli.main(["run", "toy", "-p", "x", "2"]) == 0
    folder = runner.run_folder("cpu", {"x": 2})
    assert folder.startswith("cpu+x=2-") and f"results/{folder}" in capsys.readouterr().out
    assert _tree(toy_notebooks) == before  # results/cpu/ byte-identical
    run = toy_notebooks.parent / folder
    assert json.loads((run / "run.json").read_text()) == {"profile": "cpu", "parameters": {"x": 2}}
    assert (run / "toy.ipynb").is_file() and json.loads((run / "toy" / "details.json").read_text())["x"] == 2
    assert runner.is_up_to_date("toy", overrides={"x": 2}) and runner.is_up_to_date("toy")


def test_a_run_with_out_writes_under_that_folder(toy_notebooks, tmp_path):
    assert cli.main(["run", "toy", "--out", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "cpu" / "toy.ipynb").is_file()
    assert (tmp_path / "mine" / "cpu" / "toy" / "metrics.json").is_file()
    assert not toy_notebooks.exists()


def test_plain_papermill_writes_beside_its_working_folder(toy_notebooks, tmp_path, monkeypatch):
    """A notebook run outside `cnneff run` never writes into results/<profile>/."""
    import papermill as pm

    monkeypatch.delenv("CNNEFF_RESULTS_DIR")
    work = tmp_path / "elsewhere"
    work.mkdir()
    pm.execute_notebook(str(runner.params.NOTEBOOKS / "toy.ipynb"), str(work / "out.ipynb"), parameters={"x": 5},
                        cwd=str(work), progress_bar=False, kernel_name="python3")
    assert json.loads((work / "cnneff-results" / "cpu" / "toy" / "details.json").read_text())["x"] == 5
    assert not toy_notebooks.exists()


def test_written_files_follow_the_umask(tmp_path):
    import os

    from cnneff.core import atomic_write_text

    old = os.umask(0o022)
    try:
        mode = atomic_write_text(tmp_path / "a.json", "{}").stat().st_mode & 0o777
    finally:
        os.umask(old)
    assert mode == 0o644


def test_executed_notebooks_carry_no_machine_paths_or_times(toy_notebooks):
    assert cli.main(["run", "toy"]) == 0
    nb = json.loads((toy_notebooks / "toy.ipynb").read_text())
    meta = nb["metadata"]["papermill"]
    assert "start_time" not in meta and not meta["input_path"].startswith("/")
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in nb["cells"])


def test_parse_value():
    assert runner.parse_value("3") == 3
    assert runner.parse_value("[64, 96]") == [64, 96]
    assert runner.parse_value("cuda") == "cuda"
    assert runner.parse_value("0.5") == 0.5


def test_data_root_expansion(monkeypatch):
    monkeypatch.setenv("DATA_ROOT", "/data")
    assert runner.expand_data_root("folder:${DATA_ROOT}/rmfd") == "folder:/data/rmfd"
    assert runner.expand_data_root(3) == 3
    monkeypatch.delenv("DATA_ROOT")
    with pytest.raises(runner.RunError, match="set DATA_ROOT"):
        runner.expand_data_root("folder:$DATA_ROOT/rmfd", "nb", "data")


def test_cached_run_skips_an_unchanged_notebook(toy_notebooks, capsys):
    assert cli.main(["run", "toy"]) == 0
    out = toy_notebooks / "toy.ipynb"
    mtime = out.stat().st_mtime_ns
    assert runner.is_up_to_date("toy")
    assert cli.main(["run", "toy", "--cached"]) == 0
    assert "up to date" in capsys.readouterr().out and out.stat().st_mtime_ns == mtime
    assert not runner.is_up_to_date("toy", overrides={"x": 1})  # other parameters: stale


def test_rerun_box_lists_parameters_or_says_the_page_reads_a_profile(toy_notebooks):
    box = "".join(runner.rerun_box("toy", used={"x": "5"}))
    assert "| `x` | `5` |" in box and "cnneff run toy -p x VALUE" in box and "-p profile" not in box
    report = nbformat.v4.new_notebook()  # a report: profile is its only parameter (as the scorecard)
    params = nbformat.v4.new_code_cell("profile = 'cpu'  # whose results to read")
    params.metadata["tags"] = ["parameters"]
    report.cells = [params]
    nbformat.write(report, runner.params.NOTEBOOKS / "report.ipynb")
    box = "".join(runner.rerun_box("report"))
    assert "| parameter |" not in box and "VALUE" not in box
    assert "cnneff run report --profile smoke" in box and "-p profile smoke" in box


@pytest.mark.parametrize("width", [80, 160])
def test_claims_and_models_fit_the_terminal(width, monkeypatch, capsys):
    """`cnneff claims` and `cnneff models` print tables no wider than the
    terminal, numbers with units and no scientific notation; --json is
    the machine-readable form and stays one object."""
    monkeypatch.setenv("COLUMNS", str(width))
    assert cli.main(["claims", "--profile", "smoke"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= width
    assert "e+0" not in text and "NaN" not in text
    assert text.splitlines()[0].split()[:4] == ["id", "verdict", "paper", "ours"]
    assert cli.main(["models"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= width
    assert cli.main(["claims", "--profile", "smoke", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"profile", "counts", "claims"} and out["claims"][0]["id"]


def test_fit_table_wraps_long_cells():
    import pandas as pd

    from cnneff.cli.common import fit_table

    df = pd.DataFrame(dict(a=["x" * 5, "y"], note=["word " * 40, "short"]))
    text = fit_table(df, wrap="note", width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert text.count("word") == 40
    narrow = fit_table(df, wrap="note", width=30)  # under 40 columns left: the note goes below its row
    assert narrow.splitlines()[2].startswith("    word")
