"""Nothing silently wrong, nothing lost (issue 15): checkpoints that know their
run, safe checkpoint writes, and one clear line for every bad input.

Each case is checked where the user meets it: ``fit`` for the engine, the
``cnneff`` command line (in-process ``cli.main`` for speed; one subprocess
test checks exit status and the absence of a traceback), the data loaders, the
runner and the compression routines.  The fault-injection test kills a tiny
training run five times at random points and checks that the resumed run ends
exactly where an uninterrupted run does."""
import io
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from cnneff import cli, data, runner
from cnneff.train import CheckpointError, TrainError, fit, resolve_device
from cnneff.train.checkpoint import locked

HELPERS = Path(__file__).parent / "helpers"
sys.path.insert(0, str(HELPERS))
from tiny import tiny_data, tiny_model  # noqa: E402

COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30)}


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNEFF_CACHE", str(tmp_path / "cache"))


def _img(path: Path, colour, seed: int, size=(40, 30)):
    rng = np.random.default_rng(seed)
    a = np.clip(np.array(colour)[None, None] + rng.integers(-20, 21, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a, "RGB").save(path)


def _folder(root: Path, n=20):
    for k, (c, colour) in enumerate(COLOURS.items()):
        for i in range(n):
            _img(root / c / f"{c}{i:03d}.png", colour, seed=1000 * k + i)
    return root


def quick(**kw):
    args = dict(epochs=1, batch_size=32, lr=0.1, progress=False, seed=1)
    args.update(kw)
    model = args.pop("model", None) or tiny_model()
    return fit(model, args.pop("data", None) or tiny_data(), **args)


def train_cli(capsys, *args):
    """Run ``cnneff train`` in-process; returns (exit status, stderr)."""
    code = cli.main(["train", "--threads", "1", *args])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.startswith("cnneff: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- 1. run identity


def no_load(model: nn.Module) -> nn.Module:
    """``model``, failing the test if anything tries to load a state dict into it."""

    def refuse(*a, **k):
        raise AssertionError("a checkpoint of another run reached load_state_dict")

    model.load_state_dict = refuse
    return model


def _other_data():
    d = tiny_data(seed=7)  # same image count, other pixels
    return d


@pytest.mark.parametrize("change,field", [
    (dict(data=None), "train_set"),  # replaced below by other data of the same size
    (dict(image_size=24), "image_size 32 -> 24"),
    (dict(weight_decay=1e-3), "weight_decay"),
    (dict(augment=False), "augment true -> false"),
    (dict(precision="bf16"), "precision fp32 -> bf16"),
    (dict(label_smoothing=0.1), "label_smoothing"),
    # settings the identity once left out: now every TrainConfig field that changes the result is in it
    (dict(final_lr_ratio=0.1), "final_lr_ratio 0.0 -> 0.1"),
    (dict(eval_batch_size=64), "eval_batch_size 256 -> 64"),
    (dict(zero_init_residual=True), "zero_init_residual false -> true"),
    (dict(data="smaller"), "test_set"),  # same train/val, a smaller test split
])
def test_checkpoint_of_another_run_is_refused_naming_the_fields(tmp_path, change, field):
    quick(checkpoint_dir=tmp_path)
    before = (tmp_path / "last.pt").read_bytes()
    if change.get("data") == "smaller":
        change = dict(data=tiny_data(n_test=32))
    elif "data" in change:
        change = dict(data=_other_data())
    with pytest.raises(CheckpointError) as e:
        quick(checkpoint_dir=tmp_path, model=no_load(tiny_model()), **change)
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "last.pt") in msg and "another run" in msg
    assert field in msg and "--checkpoint-dir" in msg and "--restart" in msg
    assert (tmp_path / "last.pt").read_bytes() == before  # nothing lost


def test_another_model_never_reaches_load_state_dict(tmp_path):
    quick(checkpoint_dir=tmp_path)
    bigger = no_load(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                   nn.Flatten(), nn.Linear(4, 2)))
    bigger.cnneff_name = "bigger"
    with pytest.raises(CheckpointError, match=r"differs in model Sequential -> bigger, architecture") as e:
        quick(checkpoint_dir=tmp_path, model=bigger)
    assert len(str(e.value)) < 400  # one line, not 20 KB of state-dict keys


def test_restart_discards_the_old_run(tmp_path):
    quick(checkpoint_dir=tmp_path)
    r = quick(checkpoint_dir=tmp_path, lr=0.5, restart=True)
    assert len(r.history) == 1
    again = quick(checkpoint_dir=tmp_path, lr=0.5)  # the new run now owns the folder: a rerun resumes it
    assert again.history.drop(columns=["epoch_seconds", "images_per_second"]).equals(
        r.history.drop(columns=["epoch_seconds", "images_per_second"]))


def test_checkpoint_without_identity_is_refused(tmp_path):
    quick(checkpoint_dir=tmp_path)
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    del saved["identity"]
    torch.save(saved, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="does not record its run.*--restart"):
        quick(checkpoint_dir=tmp_path)


# --------------------------------------------------------------------------- 2. unreadable checkpoint, writes, lock


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_unreadable_checkpoint_names_the_file_and_the_fix(tmp_path, damage):
    quick(checkpoint_dir=tmp_path)
    ck = tmp_path / "last.pt"
    good = ck.read_bytes()
    ck.write_bytes({"garbage": b"not a checkpoint at all", "truncated": good[: len(good) // 2], "empty": b""}[damage])
    with pytest.raises(CheckpointError) as e:
        quick(checkpoint_dir=tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and str(ck) in msg and "unreadable" in msg and "delete it or pass --restart" in msg
    assert len(quick(checkpoint_dir=tmp_path, restart=True).history) == 1  # --restart recovers
    torch.load(ck, weights_only=True)


def test_failed_checkpoint_write_keeps_the_previous_one_and_no_temp_file(tmp_path, monkeypatch):
    quick(checkpoint_dir=tmp_path, epochs=2)
    before = (tmp_path / "last.pt").read_bytes()
    real = torch.save

    def disk_full(obj, f, *a, **k):
        buf = io.BytesIO()
        real(obj, buf)
        f.write(buf.getvalue()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint .*last.pt \(no space left on device\); free"):
        quick(checkpoint_dir=tmp_path, epochs=3, restart=True)
    assert (tmp_path / "last.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "last.pt"]


def test_each_write_uses_its_own_temp_file_and_stale_ones_are_removed(tmp_path, monkeypatch):
    import tempfile

    names = []
    real = tempfile.mkstemp

    def spy(*a, **k):
        fd, name = real(*a, **k)
        names.append(name)
        return fd, name

    (tmp_path / ".last.pt.left-by-a-killed-run.tmp").write_bytes(b"half")
    monkeypatch.setattr(tempfile, "mkstemp", spy)
    quick(checkpoint_dir=tmp_path, epochs=2)
    ours = [Path(n) for n in names if Path(n).name.startswith(".last.pt.")]
    assert len(ours) == 2 and len(set(ours)) == 2 and all(n.parent == tmp_path for n in ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "last.pt"]


def test_a_folder_in_use_is_refused(tmp_path, capsys):
    with locked(tmp_path):
        with pytest.raises(CheckpointError, match=rf"{tmp_path} is in use by a running fit.*another --checkpoint-dir"):
            quick(checkpoint_dir=tmp_path)
        # the command line says so before it loads any data (the data path does not even exist)
        code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope",
                              "--checkpoint-dir", str(tmp_path))
        assert code == 2 and "in use by a running fit" in one_line(err)
    assert len(quick(checkpoint_dir=tmp_path).history) == 1  # released: usable again


def test_unwritable_checkpoint_folder_is_refused_before_the_data_loads(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(CheckpointError, match="cannot write to checkpoint folder"):
        quick(checkpoint_dir=blocker / "ck")
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope",
                          "--checkpoint-dir", str(blocker / "ck"))
    line = one_line(err)
    assert code == 2 and "cannot write to checkpoint folder" in line and "writable --checkpoint-dir" in line


def test_unreadable_checkpoint_is_reported_by_the_cli_before_the_data_loads(tmp_path, capsys):
    (tmp_path / "last.pt").write_bytes(b"")
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope",
                          "--checkpoint-dir", str(tmp_path))
    assert code == 2 and "last.pt is unreadable" in one_line(err)


# --------------------------------------------------------------------------- 3-7. one clear line per bad input


def test_unknown_model_is_reported_before_the_data_loads(tmp_path, capsys):
    for name in ("efficientnet_b9", "timm:resnet999", "torchvision:resnet999"):
        code, err = train_cli(capsys, "--model", name, "--data", f"folder:{tmp_path}/nope")
        line = one_line(err)
        assert code == 2 and name.split(":")[-1] in line and "nope" not in line


@pytest.mark.parametrize("device,msg", [("cdua", "unknown device 'cdua'"), ("cuda:0", "needs a CUDA GPU")])
def test_bad_device_is_one_line(tmp_path, capsys, device, msg):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(TrainError, match=msg):
        resolve_device(device)
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--device", device)
    assert code == 2 and msg in one_line(err)


def test_garbage_weights_file(tmp_path, capsys):
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"\x00garbage, not a state dict")
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--weights", str(bad))
    line = one_line(err)
    assert code == 2 and str(bad) in line and "not a readable PyTorch state dict" in line
    torch.save([1, 2], bad)
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--weights", str(bad))
    assert code == 2 and "not a state dict of tensors" in one_line(err)


def test_weights_of_another_architecture(tmp_path, capsys):
    folder = _folder(tmp_path / "imgs", n=6)
    w = tmp_path / "w.pth"
    torch.save(tiny_model().state_dict(), w)
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{folder}", "--weights", str(w),
                          "--image-size", "32")
    assert code == 2 and "fits none of mobilenet_v2's tensors" in one_line(err)


def test_subset_of_one_is_refused(tmp_path, capsys):
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--subset", "1")
    assert code == 2 and "--subset 1" in one_line(err) and "--subset 2 or more" in err
    with pytest.raises(TrainError, match="BatchNorm needs at least 2"):
        quick(data=tiny_data(n_train=1))


def test_image_size_below_what_the_network_takes(tmp_path, capsys):
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{tmp_path}/nope", "--image-size", "16")
    assert code == 2 and "at least 32" in one_line(err) and "--image-size" in err


def test_empty_test_split_is_refused_before_training(tmp_path, capsys):
    folder = _folder(tmp_path / "few", n=4)
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{folder}", "--json", "--image-size",
                          "32")
    line = one_line(err)
    assert code == 2 and "test split empty" in line and "blue 4" in line and "add images" in line
    assert capsys.readouterr().out == ""  # no null metrics printed


def test_skip_corrupt_lists_every_skipped_file(tmp_path, capsys):
    folder = _folder(tmp_path / "imgs", n=8)
    bad = [folder / "green" / "broken.jpg", folder / "red" / "broken.png"]
    for p in bad:
        p.write_bytes(b"this is not an image")
    code, err = train_cli(capsys, "--model", "mobilenet_v2", "--data", f"folder:{folder}", "--image-size", "32",
                          "--epochs", "1", "--json")
    assert code == 2 and "--skip-corrupt" in one_line(err)
    args = ["--model", "mobilenet_v2", "--data", f"folder:{folder}", "--image-size", "32", "--epochs", "1", "--json",
            "--skip-corrupt"]
    code, err = train_cli(capsys, *args)
    assert code == 0 and "skipped 2 unreadable image file(s)" in err and "--verbose lists them all" in err
    code, err = train_cli(capsys, *args, "--verbose")
    assert code == 0 and all(f"  {p}" in err.splitlines() for p in map(str, bad))
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        s = data.image_folder(folder, image_size=8, skip_corrupt=True)  # the library keeps the list too
    assert sorted(s.skipped_files) == sorted(map(str, bad))


def test_streamed_set_skips_files_truncated_after_a_valid_header(tmp_path):
    folder = _folder(tmp_path / "imgs", n=6)
    cut = folder / "blue" / "blue000.png"
    raw = cut.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])  # the header parses, the pixels do not
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        s = data.image_folder(folder, image_size=8, stream=True, skip_corrupt=True)
    assert s.skipped == 1 and s.skipped_files == [str(cut)]
    for part in (s.train, s.val, s.test):  # a whole epoch reads without an error
        for i in range(len(part)):
            part[i]


def test_unwritable_cache_warns_once_and_continues(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "imgs", n=6)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("CNNEFF_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(data.cache, "_CACHE_WARNED", set())
    with pytest.warns(UserWarning, match="cannot write the data cache.*continuing without it"):
        s = data.image_folder(folder, image_size=8)
    assert s.cache == "" and len(s.train) == 12
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second load: no second warning
        data.image_folder(folder, image_size=8, subset=6)


def test_deepweeds_csv_with_byte_order_mark(tmp_path):
    root = tmp_path / "dw"
    rows = ["Filename,Label,Species"]
    for k, sp in enumerate(["Chinee apple", "Lantana", "Negative"]):
        for i in range(10):
            name = f"2017{k}{i:03d}-0.jpg"
            _img(root / "images" / name, list(COLOURS.values())[k], seed=10 * k + i, size=(32, 32))
            rows.append(f"{name},{[0, 1, 8][k]},{sp}")
    (root / "labels.csv").write_bytes(("\n".join(rows) + "\n").encode("utf-8-sig"))
    s = data.deepweeds(root, image_size=8)
    assert s.classes == ["Chinee apple", "Lantana", "Negative"] and len(s.train) == 24


def _fake_cifar(base: Path):
    base.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(base / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), "labels": list(range(10)) * 2}, f)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)


def test_cifar_checksum_failures_are_worded_as_such(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    _fake_cifar(base)
    with pytest.raises(data.DataError) as e:
        data.cifar10(tmp_path)
    msg = str(e.value)
    assert "do not match the official CIFAR-10 md5 checksums" in msg and "data_batch_1" in msg
    assert "download" not in msg.lower()
    (base / "test_batch").unlink()
    with pytest.raises(data.DataError, match="lacks test_batch; extract the complete official CIFAR-10"):
        data.cifar10(tmp_path)


def test_truncated_metrics_json_names_the_file(monkeypatch, tmp_path):
    from cnneff.results import load_metrics, save_metrics

    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(tmp_path))
    path = save_metrics({"n_test": 3}, "architectures_and_costs")
    path.write_text(path.read_text()[:5])
    with pytest.raises(runner.RunError) as e:
        load_metrics("architectures_and_costs")
    assert str(path) in str(e.value) and "cnneff run architectures_and_costs" in str(e.value)


def test_slim_refuses_a_net_whose_gammas_are_all_equal():
    from cnneff.compress import CompressionError, NetworkSlimming

    with pytest.raises(CompressionError, match="all 24 BatchNorm scales .* equal 1.*sparse-train"):
        NetworkSlimming.prune(tiny_model(), 0.5, 32)


# --------------------------------------------------------------------------- runner


@pytest.fixture
def toy_notebooks(tmp_path, monkeypatch):
    """notebooks/ with two tiny notebooks; the gpu profile of the second needs DATA_ROOT."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("a_first", "b_second"):
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell("data = 'x'\nprofile = 'cpu'")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell("print('ran', data)")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    (tmp_path / "params" / "gpu").mkdir(parents=True)
    (tmp_path / "params" / "gpu" / "b_second.yaml").write_text("data: folder:${DATA_ROOT}/rmfd\n")
    monkeypatch.setattr(runner.params, "NOTEBOOKS", folder)
    monkeypatch.setattr(runner.params, "PARAMS", tmp_path / "params")
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("DATA_ROOT", raising=False)
    return tmp_path / "results"


def test_run_all_checks_data_root_before_running_any(toy_notebooks, capsys):
    assert cli.main(["run", "all", "--profile", "gpu", "--paper-data"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "set DATA_ROOT" in line and "b_second.data" in line and "nothing was run" in line
    assert not (toy_notebooks / "gpu" / "a_first.ipynb").exists()


def test_gpu_profile_without_data_root_runs_on_the_embedded_data(toy_notebooks, capsys):
    assert cli.main(["run", "b_second", "--profile", "gpu"]) == 0
    assert "DATA_ROOT is not set" in capsys.readouterr().out
    executed = (toy_notebooks / "gpu" / "b_second.ipynb").read_text()
    assert "ran x" in executed  # the notebook's own (embedded) data, not the DATA_ROOT path


def test_parameter_types_are_checked_before_anything_runs(toy_notebooks, capsys):
    assert cli.main(["run", "a_first", "-p", "data", "[1, 2]"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "parameter 'data' must be a string like its default 'x'" in line
    assert not (toy_notebooks / runner.run_folder("cpu", {"data": [1, 2]})).exists()


def test_read_only_results_folder_is_refused_without_a_failed_copy(toy_notebooks, monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(blocker / "results"))
    assert cli.main(["run", "a_first"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "is not writable" in line and "CNNEFF_RESULTS_DIR" in line and "failed.ipynb" not in line
    # a run that fails before papermill wrote anything does not claim a kept copy either
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(toy_notebooks))
    import papermill

    def no_write(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(papermill, "execute_notebook", no_write)
    with pytest.raises(runner.RunError) as e:
        runner.run_notebook("a_first")
    failed = toy_notebooks / "cpu" / "a_first.failed.ipynb"
    assert f"papermill's copy was never written; a note holding the error is kept in {failed}" in str(e.value)
    assert "Permission denied" in "".join(json.loads(failed.read_text())["cells"][0]["source"])  # valid, says why


# --------------------------------------------------------------------------- exit status, no traceback


def test_cli_subprocess_exit_status_and_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "cnneff.cli", "train", "--model", "mobilenet_v2", "--data",
                        f"folder:{tmp_path}", "--device", "cdua"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == ["cnneff: error: unknown device 'cdua'; use auto, cpu, cuda or cuda:N "
                                             "(--device)"]


# --------------------------------------------------------------------------- fault injection


def test_killed_five_times_at_random_points_resumes_to_the_same_metrics(tmp_path, monkeypatch):
    import multiprocessing

    # Every run is a child of one fork server that has the engine imported and warmed up already
    # (warm_engine): separate processes, so SIGKILL kills only the run, without paying seven
    # interpreter starts.  The server finds the helpers through PYTHONPATH (Python 3.11 ignores sys.path).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HELPERS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["warm_engine", "fault_worker"])

    def run(ckpt, out, kill=None):
        import fault_worker

        p = ctx.Process(target=fault_worker.run_to, args=(str(ckpt), str(out), kill))
        p.start()
        p.join(120)
        return p.exitcode

    assert run(tmp_path / "ck_full", tmp_path / "full.json") == 0
    # timeline of 4 epochs x 6 steps: "step:s" dies in the step that starts with s steps done (time s),
    # "save:e" while epoch e's checkpoint is written (after step 6 e + 5): any sorted choice is reached in turn
    points = [(s, f"step:{s}") for s in range(24)] + [(6 * e + 5.5, f"save:{e}") for e in range(4)]
    seed = random.randrange(1 << 30)
    kills = [p for _, p in sorted(random.Random(seed).sample(points, 5))]
    ck = tmp_path / "ck"
    for kill in kills:
        assert run(ck, tmp_path / "out.json", kill) == -9, (seed, kills, kill)
        if (ck / "last.pt").exists():
            torch.load(ck / "last.pt", weights_only=True)  # never a half-written checkpoint
    assert run(ck, tmp_path / "out.json") == 0
    assert json.loads((tmp_path / "out.json").read_text()) == json.loads((tmp_path / "full.json").read_text()), \
        (seed, kills)
    assert sorted(x.name for x in ck.iterdir()) == [".lock", "last.pt"]  # no temp file left behind
