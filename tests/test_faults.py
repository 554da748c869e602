"""Nothing silently wrong, round two (issue 28): every fault and bad input
below ends with exit status 2 and one ``cnneff: error:`` line (or one
warning line), and leaves everything already written byte-identical.

Groups: 1 all or nothing per run (a failure at every write point: an
exception in the last cell, a full disk in the kernel's writer, in
papermill's copy, in the scrub, the stamp and the journal, SIGKILL between
two renames); 2 split folders as people ship them; 3 notebook names, not
paths; 4 checks before a run starts (device, DATA_ROOT, inputs, make
reproduce); 5 one folder per distinct run; 6 the run lock; 7 the thread count
in a checkpoint's identity; 8 the smaller items (NaN, YAML aliases, ranges,
memory, --subset, SIGTERM, --json, hostile weights)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from cnneff import cli, data, runner
from cnneff.runner import commit as commit_mod

HELPERS = Path(__file__).parent / "helpers"
sys.path.insert(0, str(HELPERS))

NICE = dict(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")


def one_line(err: str) -> str:
    """The single ``cnneff: error:`` line of ``err`` (fails the test otherwise)."""
    lines = [x for x in err.strip().splitlines() if x.startswith("cnneff: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def tree(folder: Path) -> dict:
    """{relative path: bytes} of every file under ``folder`` (the lock and staging excluded)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


TOY_CELLS = [
    "x = 1\nprofile = 'cpu'\nrepeats = 3\nimage_size = 32\nseeds = [0]\ndevice = 'cpu'\nfraction = 0.5\n"
    "weights = ''",
    "import json, os, time\nfrom pathlib import Path\nfrom cnneff.paths import output_dir\n"
    "d = output_dir(profile, 'toy'); d.mkdir(parents=True, exist_ok=True)\n"
    "Path(os.environ.get('TOY_PIDFILE', os.devnull)).write_text(str(os.getpid()))\n"
    "time.sleep(float(os.environ.get('TOY_SLEEP', '0')))\n"
    "(d / 'details.json').write_text(json.dumps({'x': x}))\n"
    "(d / 'fig.txt').write_text(f'figure {x}')",
    "if os.environ.get('TOY_FAIL') == 'enospc':\n    raise OSError(28, 'No space left on device')\n"
    "(d / 'metrics.json').write_text(json.dumps({'x': x, 'wall_seconds': 0.0}))",
    "assert os.environ.get('TOY_FAIL') != 'last', 'asked to fail in the last cell'\nprint('done', x)",
]


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """notebooks/ with one toy notebook whose kernel writes details, a figure
    and metrics through cnneff.paths.output_dir; results under tmp_path."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in TOY_CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "toy.ipynb")
    (tmp_path / "params" / "gpu").mkdir(parents=True)
    monkeypatch.setattr(runner.params, "NOTEBOOKS", folder)
    monkeypatch.setattr(runner.params, "PARAMS", tmp_path / "params")
    monkeypatch.setattr(runner.execute, "PARAMS", tmp_path / "params")
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(tmp_path / "results"))
    for var in ("DATA_ROOT", "TOY_FAIL", "TOY_SLEEP", "CNNEFF_OUTPUT_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "results" / "cpu"


def fake_papermill(monkeypatch, x=None, fail_writing=None):
    """Replace papermill by an in-process stand-in that does what the kernel
    and papermill do (the executed copy, details, a figure, metrics under
    CNNEFF_OUTPUT_DIR), fast; ``fail_writing="notebook"`` writes half the copy
    and raises ENOSPC, as papermill on a full disk does.  Returns None."""
    import papermill

    def execute(source, output, parameters=None, **kw):
        params = parameters or {}
        d = Path(os.environ["CNNEFF_OUTPUT_DIR"]) / params.get("profile", "cpu") / "toy"
        d.mkdir(parents=True, exist_ok=True)
        value = params.get("x", 1) if x is None else x
        (d / "details.json").write_text(json.dumps({"x": value}))
        (d / "fig.txt").write_text(f"figure {value}")
        (d / "metrics.json").write_text(json.dumps({"x": value}))
        nb = nbformat.read(source, as_version=4)
        nb.metadata["papermill"] = {"parameters": params, "input_path": str(source), "output_path": str(output)}
        text = nbformat.writes(nb)
        if fail_writing == "notebook":
            Path(output).write_text(text[: len(text) // 2])
            raise OSError(28, "No space left on device")
        Path(output).write_text(text)

    monkeypatch.setattr(papermill, "execute_notebook", execute)


def good_run(toy, capsys, **params):
    """A first good run (real kernel); returns the tree it left."""
    args = [a for k, v in params.items() for a in ("-p", k, str(v))]
    assert cli.main(["run", "toy", *args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return tree(toy)


# --------------------------------------------------------------------------- 1. all or nothing per run


@pytest.mark.parametrize("fault", ["last", "enospc"])
def test_a_failure_after_the_metrics_leaves_the_last_good_run_byte_identical(toy, capsys, monkeypatch, fault):
    before = good_run(toy, capsys)
    assert json.loads(before["toy/metrics.json"])["x"] == 1 and "toy/fig.txt" in before
    monkeypatch.setenv("TOY_FAIL", fault)  # an exception in the last cell / a full disk in the kernel's writer
    assert cli.main(["run", "toy"]) == 2
    line = one_line(capsys.readouterr().err)
    failed = toy / "toy.failed.ipynb"
    assert f"the failed run is kept in {failed}" in line and "the last good run is unchanged" in line
    assert {k: v for k, v in tree(toy).items() if k != "toy.failed.ipynb"} == before
    nbformat.validate(nbformat.read(failed, as_version=4))
    assert not runner.is_up_to_date("toy")  # a failure newer than the stamp: --cached re-runs it
    assert cli.main(["run", "toy", "--cached"]) == 2 and "up to date" not in capsys.readouterr().out
    monkeypatch.delenv("TOY_FAIL")
    assert cli.main(["run", "toy", "--cached"]) == 0 and not failed.exists()
    assert sorted(p.name for p in toy.iterdir()) == ["toy", "toy.ipynb", "toy.stamp.json"]  # no hidden files


@pytest.mark.parametrize("point", ["notebook", "scrub", "stamp", "journal"])
def test_a_full_disk_at_each_runner_write_keeps_the_last_good_run(toy, capsys, monkeypatch, point):
    before = good_run(toy, capsys)
    import cnneff.core

    fake_papermill(monkeypatch, x=2, fail_writing="notebook" if point == "notebook" else None)
    real, calls = cnneff.core.atomic_write_text, []

    def full_disk_at(n):
        def write(path, text):
            calls.append(path)
            if len(calls) == n:
                raise OSError(28, "No space left on device")
            return real(path, text)
        return write

    if point in ("scrub", "stamp"):
        monkeypatch.setattr(cnneff.core, "atomic_write_text", full_disk_at(1 if point == "scrub" else 2))
    if point == "journal":
        monkeypatch.setattr(commit_mod, "_write_journal", full_disk_at(1))
    assert cli.main(["run", "toy"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "No space left on device" in line and "the last good run is unchanged" in line
    failed = toy / "toy.failed.ipynb"
    nb = json.loads(failed.read_text())  # valid JSON whatever papermill's copy was
    if point == "notebook":
        assert "cut short (not valid JSON); a note holding the error is kept in" in line
        assert "No space left on device" in "".join(nb["cells"][0]["source"])
    assert {k: v for k, v in tree(toy).items() if k != "toy.failed.ipynb"} == before
    assert not runner.is_up_to_date("toy")


def test_no_room_even_for_a_note_says_why_no_copy_was_kept(toy, capsys, monkeypatch):
    before = good_run(toy, capsys)
    import cnneff.core

    fake_papermill(monkeypatch, x=2, fail_writing="notebook")
    real = cnneff.core.atomic_write_text

    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cnneff.core, "atomic_write_text", full)
    assert cli.main(["run", "toy"]) == 2
    assert "no copy of the failed run could be kept (No space left on device)" in one_line(capsys.readouterr().err)
    assert tree(toy) == {**before, ".toy.failed": b""}  # an empty marker needs no room on a full disk
    assert not runner.is_up_to_date("toy")  # so --cached still re-runs it
    monkeypatch.setattr(cnneff.core, "atomic_write_text", real)  # room again: the next good run clears the marker
    fake_papermill(monkeypatch, x=2)
    assert cli.main(["run", "toy", "--cached"]) == 0 and not (toy / ".toy.failed").exists()


def test_no_room_for_the_lock_file_is_one_line_and_leaves_nothing(toy, capsys, monkeypatch):
    before = good_run(toy, capsys)

    def full(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner.lock.os, "pwrite", full)
    assert cli.main(["run", "toy"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "cannot write the lock file" in line and "(No space left on device)" in line and "nothing was run" in line
    assert tree(toy) == before and not (toy / ".toy.lock").exists()


KILLER = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    import nbformat, papermill
    from cnneff import runner
    import cnneff.runner.commit as commit

    runner.params.NOTEBOOKS = Path(sys.argv[1])
    kill_after, renames = int(sys.argv[2]), []
    def execute(source, output, parameters=None, **kw):
        d = Path(os.environ["CNNEFF_OUTPUT_DIR"]) / "cpu" / "toy"
        d.mkdir(parents=True)
        for f in ("details.json", "metrics.json", "fig.txt"):
            (d / f).write_text(json.dumps({"x": 2, "file": f}))
        nbformat.write(nbformat.read(source, as_version=4), output)
    papermill.execute_notebook = execute
    real = os.replace
    def replace(a, b):
        if "staging" in str(a) and "staging" not in str(b):  # a move into place, not a write inside staging
            if len(renames) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            renames.append(a)
        return real(a, b)
    commit.os.replace = replace
    runner.run_notebook("toy")
""")


@pytest.mark.parametrize("kill_after", [0, 1, 3, 4])
def test_sigkill_between_two_renames_is_finished_by_the_next_reader(toy, capsys, tmp_path, kill_after):
    before = good_run(toy, capsys)
    env = {**os.environ, **NICE, "CNNEFF_RESULTS_DIR": str(toy.parent)}
    p = subprocess.run([sys.executable, "-c", KILLER, str(runner.params.NOTEBOOKS), str(kill_after)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr
    journal = toy / ".toy.commit.json"
    assert journal.is_file() and not runner.is_up_to_date("toy")  # half moved: never reported up to date
    assert runner.recover_folder(toy) == ["toy"]  # what `cnneff claims` and the next `cnneff run` do first
    after = tree(toy)
    assert {json.loads(after[f"toy/{f}"])["x"] for f in ("details.json", "metrics.json", "fig.txt")} == {2}
    assert after["toy.ipynb"] != before["toy.ipynb"] and runner.is_up_to_date("toy")  # the new run, whole
    assert sorted(json.loads(after["toy.stamp.json"])["files"]) == ["toy/details.json", "toy/fig.txt",
                                                                   "toy/metrics.json"]
    assert sorted(p.name for p in toy.iterdir()) == ["toy", "toy.ipynb", "toy.stamp.json"]


def test_files_the_previous_run_made_and_this_one_did_not_are_removed(toy, capsys, monkeypatch):
    good_run(toy, capsys)
    (toy / "toy" / "runs").mkdir()
    (toy / "toy" / "runs" / "sweep.json").write_text("{}")  # not produced by a run (a resumable sweep): kept
    fake_papermill(monkeypatch, x=3)
    import papermill

    real = papermill.execute_notebook

    def without_figure(*a, **k):
        real(*a, **k)
        (Path(os.environ["CNNEFF_OUTPUT_DIR"]) / "cpu" / "toy" / "fig.txt").unlink()

    monkeypatch.setattr(papermill, "execute_notebook", without_figure)
    assert cli.main(["run", "toy"]) == 0
    assert sorted(tree(toy / "toy")) == ["details.json", "metrics.json", "runs/sweep.json"]


# --------------------------------------------------------------------------- 2. split folders


def _images(root: Path, classes, n=6, seed=0):
    rng = np.random.default_rng(seed)
    for k, c in enumerate(classes):
        for i in range(n):
            a = np.clip(rng.integers(0, 60, (24, 24, 3)) + 90 * k, 0, 255).astype(np.uint8)
            (root / c).mkdir(parents=True, exist_ok=True)
            Image.fromarray(a, "RGB").save(root / c / f"{i}.png")


def face_mask_12k(root: Path, n=6) -> Path:
    """Face-Mask-12K's layout: Train/ Test/ Validation/, each with WithMask/ WithoutMask/."""
    for split, m in (("Train", n), ("Test", 3), ("Validation", 3)):
        _images(root / split, ["WithMask", "WithoutMask"], m)
    return root


@pytest.mark.parametrize("names", [("Train", "Test", "Validation"), ("train", "valid", "TEST"), ("TRAIN", "Val")])
def test_split_folders_in_any_letter_case_are_splits(tmp_path, monkeypatch, names):
    monkeypatch.setenv("CNNEFF_CACHE", "off")
    for name in names:
        _images(tmp_path / "ds" / name, ["WithMask", "WithoutMask"], 10)
    s = data.image_folder(tmp_path / "ds", image_size=8)
    assert s.classes == ["WithMask", "WithoutMask"] and len(s.val) == 20
    if len(names) == 3:
        assert len(s.train) == 20 and len(s.test) == 20  # every split from its own folder
    else:
        assert len(s.train) == 18 and len(s.test) == 2  # no test folder: 10 % of each class split off train


@pytest.mark.parametrize("layout,expect", [
    ("classes_like_splits", "class folders named like splits (Test, Train)"),
    ("split_lacks_a_class", "(lacks WithoutMask); use the same class names"),
    ("two_val_folders", "2 folders for one split (Val, validation)"),
    ("no_train", "but no train/"),
    ("split_beside_other", "mixes split folders"),
])
def test_split_layouts_that_cannot_be_read_are_refused(tmp_path, capsys, monkeypatch, layout, expect):
    monkeypatch.setenv("CNNEFF_CACHE", "off")
    root = tmp_path / "ds"
    if layout == "classes_like_splits":
        _images(root / "train", ["Train", "Test"])
    elif layout == "split_lacks_a_class":
        _images(root / "Train", ["WithMask", "WithoutMask", "Incorrect"])
        _images(root / "Test", ["WithMask", "Incorrect"])
    elif layout == "two_val_folders":
        for d in ("train", "Val", "validation"):
            _images(root / d, ["a", "b"])
    elif layout == "no_train":
        for d in ("Test", "Validation"):
            _images(root / d, ["a", "b"])
    else:
        _images(root / "train", ["a", "b"])
        _images(root, ["masked"])
    before = tree(root)
    code = cli.main(["train", "--model", "mobilenet_v2", "--data", f"folder:{root}", "--image-size", "32"])
    assert code == 2 and expect in one_line(capsys.readouterr().err)
    assert tree(root) == before


def test_train_json_reports_the_classes_warns_about_a_large_subset_and_prints_no_bars(tmp_path):
    root = face_mask_12k(tmp_path / "Face Mask Dataset", n=8)
    env = {**os.environ, **NICE, "CNNEFF_CACHE": str(tmp_path / "cache")}
    p = subprocess.run([sys.executable, "-m", "cnneff.cli", "train", "--model", "mobilenet_v2", "--data",
                        f"folder:{root}", "--image-size", "32", "--epochs", "1", "--subset", "1000", "--json",
                        "--threads", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["classes"] == ["WithMask", "WithoutMask"] and out["train_images"] == 16 and out["test_images"] == 6
    lines = p.stderr.strip().splitlines()
    assert all(x.startswith("cnneff: ") for x in lines), p.stderr  # no progress bars
    assert lines.count(f"cnneff: warning: --subset 1000 is more than the 16 training images of "
                       f"folder:{root.resolve()}; training on all 16") == 1


# --------------------------------------------------------------------------- 3. names, not paths


@pytest.mark.parametrize("given", ["ABS", "../notebooks/toy", "notebooks/toy", "toy.ipynb", "./toy"])
def test_run_takes_notebook_names_not_paths(toy, capsys, tmp_path, given):
    outside = tmp_path / "elsewhere" / "toy.ipynb"
    outside.parent.mkdir()
    outside.write_bytes((runner.params.NOTEBOOKS / "toy.ipynb").read_bytes())
    source = outside.read_bytes()
    assert cli.main(["run", str(outside.with_suffix("")) if given == "ABS" else given]) == 2
    line = one_line(capsys.readouterr().err)
    assert "valid names: toy or 'all'" in line and "last good run" not in line
    assert outside.read_bytes() == source and not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- 4. checks before a run starts


def _no_cuda_device():
    import torch

    return f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"


def test_a_device_this_machine_lacks_is_refused_before_anything_runs(toy, capsys):
    dev = _no_cuda_device()
    (runner.params.PARAMS / "gpu" / "toy.yaml").write_text(f"device: {dev}\n")
    assert cli.main(["run", "toy", "--profile", "gpu"]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"parameter 'device' is '{dev}' (params/gpu/toy.yaml)" in line and "nothing was run" in line
    assert not (toy.parent / "gpu").exists()


def test_data_root_that_does_not_exist_is_refused(toy, capsys, monkeypatch, tmp_path):
    (runner.params.PARAMS / "gpu" / "toy.yaml").write_text('weights: "${DATA_ROOT}/weights/w.pth"\n')
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "nonexistent"))
    assert cli.main(["run", "all", "--profile", "gpu", "--paper-data"]) == 2
    assert "is not an existing folder" in one_line(capsys.readouterr().err)
    assert not (toy.parent / "gpu").exists()


def test_every_missing_input_is_named_with_where_it_comes_from(toy, capsys, monkeypatch, tmp_path):
    (runner.params.PARAMS / "gpu" / "toy.yaml").write_text(
        'weights: "${DATA_ROOT}/weights/mobilenet_v2-b0353104.pth"\n'
        'device: "cpu"\n')
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DATA_ROOT", str(root))
    assert cli.main(["run", "toy", "--profile", "gpu", "--paper-data", "-p", "x", "2"]) == 2
    err = capsys.readouterr().err
    assert "1 input(s) the run needs do not exist" in one_line(err)
    listed = err.strip().splitlines()[1:]
    assert listed == [f"  {root}/weights/mobilenet_v2-b0353104.pth  (toy.weights): torchvision's "
                      "MobileNet_V2_Weights.IMAGENET1K_V1 state dict "
                      "(https://download.pytorch.org/models/mobilenet_v2-b0353104.pth)"]
    assert not (toy.parent / "gpu").exists() and not any(toy.parent.glob("gpu+*"))


def test_the_real_gpu_profile_is_checked_before_any_notebook_starts(monkeypatch, tmp_path):
    """check_runs only checks (it never executes): the gpu profile on this machine is refused up front."""
    from cnneff.runner import check_runs, notebook_names

    monkeypatch.setenv("DATA_ROOT", str(tmp_path))  # exists, but holds none of the papers' data sets
    names = [n for n in notebook_names() if n != "scorecard"]
    with pytest.raises(runner.RunError) as e:
        check_runs(names, profile="gpu", out=tmp_path / "results", require_data_root=True)
    msg = str(e.value)
    import torch

    assert ("needs a CUDA GPU" in msg) if not torch.cuda.is_available() else ("input(s) the run needs" in msg)
    if "input(s)" in msg:
        assert f"{tmp_path}/rmfd" in msg and "RMFD / MFDD" in msg and f"{tmp_path}/deepweeds" in msg
    assert not (tmp_path / "results").exists()


def test_make_reproduce_refuses_a_missing_data_root_at_once(tmp_path):
    root = Path(runner.params.__file__).resolve().parents[3]
    t0 = time.perf_counter()
    p = subprocess.run(["make", "-s", "--no-print-directory", "reproduce", f"DATA_ROOT={tmp_path}/nonexistent"],
                       cwd=root, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and time.perf_counter() - t0 < 10
    assert "is not an existing folder" in one_line(p.stderr)


# --------------------------------------------------------------------------- 5. one folder per distinct run


def test_different_requests_never_share_a_folder():
    names = {runner.run_folder("cpu", {"data": v}) for v in ("folder:/data/rmfd a", "folder:/data/rmfd_a",
                                                             "folder:/data/rmfd/a")}
    assert len(names) == 3 and all(n.startswith("cpu+data=folder_data_rmfd_a-") for n in names)
    long = ["efficientnet_b0"] * 12
    a, b = runner.run_folder("cpu", {"models": long + ["b1"]}), runner.run_folder("cpu", {"models": long + ["b2"]})
    assert a != b and len(a) < 70 and len(b) < 70
    from cnneff.paths import base_profile

    assert base_profile(a) == "cpu" and runner.run_folder("cpu", {"x": 2}) == runner.run_folder("cpu", {"x": 2})


def test_a_folder_made_for_other_parameters_is_never_reused(toy, capsys):
    folder = toy.parent / runner.run_folder("cpu", {"x": 2})
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"profile": "cpu", "parameters": {"x": 3}}))
    (folder / "toy.ipynb").write_text("{}")
    before = tree(folder)
    assert cli.main(["run", "toy", "-p", "x", "2"]) == 2
    assert "was made for another run" in one_line(capsys.readouterr().err)
    assert tree(folder) == before


def test_book_toc_and_claims_take_a_hashed_run_folder(tmp_path):
    root = Path(runner.params.__file__).resolve().parents[3]
    name = runner.run_folder("cpu", {"data": "folder:/data/rmfd a"})
    folder = root / "_build" / "test-faults" / name
    try:
        (folder / ".toy.staging").mkdir(parents=True)
        (folder / "toy.ipynb").write_text("{}")
        (folder / "toy.failed.ipynb").write_text("{}")
        (folder / ".toy.staging" / "toy.ipynb").write_text("{}")
        (folder / ".toy.running.ipynb").write_text("{}")
        p = subprocess.run([sys.executable, str(root / "scripts" / "book_toc.py"), str(folder)], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        chapters = [x for x in p.stdout.splitlines() if name in x and "file:" in x]
        assert chapters == [f"      - file: _build/test-faults/{name}/toy"]
    finally:
        import shutil

        shutil.rmtree(root / "_build" / "test-faults", ignore_errors=True)


# --------------------------------------------------------------------------- 6. the run lock


def test_a_second_run_of_the_same_notebook_into_the_same_folder_is_refused(toy, capsys):
    before = good_run(toy, capsys)
    from cnneff.runner.lock import run_lock

    with run_lock(toy, "toy"):
        assert cli.main(["run", "toy"]) == 2
        line = one_line(capsys.readouterr().err)
        assert f"already running into {toy} (process {os.getpid()} holds" in line and "nothing was run" in line
        assert {k: v for k, v in tree(toy).items() if k != ".toy.lock"} == before


def test_a_dead_runs_lock_and_staging_are_taken_over_with_a_notice(toy, capsys, monkeypatch):
    before = good_run(toy, capsys)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (toy / ".toy.lock").write_text(f"{dead.pid}\n")
    (toy / ".toy.staging" / "out").mkdir(parents=True)
    (toy / ".toy.staging" / "toy.ipynb").write_text("half")
    (toy / ".toy.running.ipynb").write_text("an older version's leftover")
    fake_papermill(monkeypatch, x=5)
    assert cli.main(["run", "toy"]) == 0
    err = capsys.readouterr().err
    assert f"cnneff: notice: taking over {toy / '.toy.lock'} from process {dead.pid}" in err
    assert sorted(p.name for p in toy.iterdir()) == ["toy", "toy.ipynb", "toy.stamp.json"]
    assert json.loads(tree(toy)["toy/metrics.json"])["x"] == 5 and tree(toy) != before


# --------------------------------------------------------------------------- 7. threads in the run identity


def test_a_resume_with_another_thread_count_is_refused_naming_threads(tmp_path):
    import torch

    from cnneff.train import CheckpointError, fit
    from tiny import tiny_data, tiny_model

    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fit(tiny_model(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint_dir=tmp_path)
        saved = (tmp_path / "last.pt").read_bytes()
        torch.set_num_threads(2)
        with pytest.raises(CheckpointError, match=r"differs in threads 1 -> 2\);"):
            fit(tiny_model(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint_dir=tmp_path)
        assert (tmp_path / "last.pt").read_bytes() == saved
    finally:
        torch.set_num_threads(old)


def test_metrics_provenance_records_the_thread_count():
    import torch

    from cnneff.session import provenance

    assert provenance()["torch_threads"] == torch.get_num_threads()


# --------------------------------------------------------------------------- 8. the smaller items


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinite_learning_rates_are_refused_before_the_data_loads(tmp_path, capsys, value):
    code = cli.main(["train", "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", f"--lr={value}"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "must be a finite number" in line and "(--lr)" in line and "nope" not in line


def test_a_yaml_alias_names_its_parameter(toy, capsys):
    assert cli.main(["run", "toy", "-p", "x", "&a [*a]"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "-p x '&a [*a]'" in line and "aliases" in line
    assert not (toy.parent).exists()


@pytest.mark.parametrize("key,value,rule", [
    ("repeats", "0", "at least 1"), ("image_size", "-1", "at least 1"), ("seeds", "[]", "at least one seed"),
    ("seeds", "[-1]", "integers >= 0"), ("device", "cdua", "unknown device"), ("fraction", "1.5", "between 0 and 1"),
    ("fraction", ".nan", "NaN and infinities"), ("fraction", ".inf", "NaN and infinities"),
])
def test_parameter_ranges_are_checked_before_any_kernel_starts(toy, capsys, monkeypatch, key, value, rule):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a kernel started"))
    assert cli.main(["run", "toy", "-p", key, value]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"parameter {key!r}" in line and rule in line
    assert not toy.parent.exists()


def test_a_batch_that_cannot_fit_in_memory_is_refused_with_the_estimate(tmp_path, capsys):
    code = cli.main(["train", "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope",
                     "--batch-size", "100000000", "--image-size", "224", "--device", "cpu"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "--batch-size 100000000 needs about" in line and "of activations per 224 px image" in line
    assert "pass --batch-size" in line and "nope" not in line


def test_sigterm_stops_a_run_with_one_line_and_cleans_up_and_a_second_run_meanwhile_is_refused(toy, capsys,
                                                                                                tmp_path):
    before = good_run(toy, capsys)
    pidfile = tmp_path / "kernel.pid"
    env = {**os.environ, **NICE, "CNNEFF_RESULTS_DIR": str(toy.parent), "TOY_SLEEP": "120",
           "TOY_PIDFILE": str(pidfile), "PYTHONPATH": str(tmp_path)}
    (tmp_path / "sitecustomize.py").write_text(  # the child sees the toy notebooks/ folder
        f"import cnneff.runner.params as p, pathlib\np.NOTEBOOKS = pathlib.Path({str(runner.params.NOTEBOOKS)!r})\n")
    p = subprocess.Popen([sys.executable, "-m", "cnneff.cli", "run", "toy"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            if pidfile.is_file() and pidfile.read_text():
                break
            time.sleep(0.1)
        assert (toy / ".toy.staging").is_dir() and (toy / ".toy.lock").is_file()
        assert cli.main(["run", "toy"]) == 2  # a second run of it into the same folder, from another process
        assert f"already running into {toy} (process {p.pid} holds" in one_line(capsys.readouterr().err)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("Executing:")]  # papermill's bar
    assert p.returncode == 2 and lines == [one_line(err)]
    assert "stopped by SIGTERM while toy ran" in err
    assert tree(toy) == before and sorted(x.name for x in toy.iterdir()) == ["toy", "toy.ipynb", "toy.stamp.json"]
    kernel = int(pidfile.read_text())
    for _ in range(100):
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(kernel, signal.SIGKILL)
        pytest.fail("the kernel outlived cnneff run")


def test_hostile_weights_are_refused_in_a_whole_sentence_without_running_them(tmp_path, capsys):
    import torch

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"w": Payload()}, tmp_path / "w.pth")
    code = cli.main(["train", "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--weights",
                     str(tmp_path / "w.pth")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and not marker.exists()
    assert "asks to import the Python object posix.system, which a state dict never needs; refused without " \
           "running it); pass a file saved with torch.save(model.state_dict())" in line
