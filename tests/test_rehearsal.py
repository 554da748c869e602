"""cnneff.rehearsal: the rehearsal tree (every data set and weight file the full run expects under
DATA_ROOT, small, in the publishers' layouts) is written, read back through cnneff.data.load and the
gpu profile's own parameters, and refuses to overwrite what may be real data."""
import argparse
import json
import re
from pathlib import Path

import pytest
import torch
import yaml

from cnneff import data
from cnneff.data import DataError
from cnneff.rehearsal import DATASETS, MARKER, WEIGHT_FILES, add_rehearsal_data_parser, data_root_status, \
    expected_table, is_rehearsal, rehearsal_data
from cnneff.rehearsal.layouts import write_deepweeds, write_rmfd
from cnneff.rehearsal.names import CIFAR100_SUPERCLASSES, DEEPWEEDS_SPECIES, IMAGENET100_WNIDS, cifar100_fine_names

ROOT = Path(__file__).resolve().parents[1]
GPU_PARAMS = sorted((ROOT / "params" / "gpu").glob("*.yaml"))


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    """Never touch the real data/cache."""
    monkeypatch.setenv("CNNEFF_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The whole rehearsal tree, written once: (root, summary)."""
    root = tmp_path_factory.mktemp("data_root")
    return root, rehearsal_data(root)


# --------------------------------------------------------------------------- the tree and its summary


def test_the_summary_counts_what_is_on_disk(tree):
    root, s = tree
    assert s["root"] == str(root.resolve()) and s["seed"] == 0
    on_disk = sum(1 for p in root.rglob("*") if p.is_file())
    assert s["files"] == on_disk
    assert s["bytes"] <= sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    names = [d["name"] for d in s["datasets"]]
    assert names == ["rmfd", "rmfd_afdb", "deepweeds", "cifar10", "cifar100", "imagenet100", "imagenet100_64",
                     "imagenet", "imagenet_train", "rps"]
    assert [w["path"] for w in s["weights"]] == [w.path for w in WEIGHT_FILES]
    marker = json.loads((root / MARKER).read_text())
    assert marker["written_by"] == "cnneff rehearsal-data" and marker["complete"] and marker["files"] == s["files"]


def test_every_expected_path_exists_and_the_table_lists_them(tree, monkeypatch):
    root, _ = tree
    status = data_root_status(root)
    assert all(r["present"] for r in status), [r["path"] for r in status if not r["present"]]
    assert len(status) == len(DATASETS) + len(WEIGHT_FILES)
    table = expected_table()
    assert list(table["kind"]).count("weights") == len(WEIGHT_FILES)
    assert table["origin"].str.len().min() > 10
    monkeypatch.delenv("DATA_ROOT", raising=False)
    with pytest.raises(ValueError, match="DATA_ROOT is not set"):
        data_root_status()
    assert is_rehearsal(root) and not is_rehearsal(root / "rmfd") and not is_rehearsal()
    monkeypatch.setenv("DATA_ROOT", str(root))
    assert is_rehearsal()


def test_published_layouts(tree):
    root, _ = tree
    afdb = root / "rmfd_afdb"
    assert len([d for d in (afdb / "AFDB_face_dataset").iterdir() if d.is_dir()]) >= 3
    assert len([d for d in (afdb / "AFDB_masked_face_dataset").iterdir() if d.is_dir()]) >= 3
    assert sorted(p.name for p in (root / "rmfd").iterdir()) == ["face", "masked"]
    header, *rows = (root / "deepweeds" / "labels.csv").read_text().splitlines()
    assert header == "Filename,Label,Species"
    pairs = {(int(r.split(",")[1]), r.split(",")[2]) for r in rows}
    assert pairs == set(enumerate(DEEPWEEDS_SPECIES)) and (8, "Negative") in pairs
    assert all((root / "deepweeds" / "images" / r.split(",")[0]).is_file() for r in rows)
    c10, c100 = root / "cifar" / "cifar-10-batches-py", root / "cifar" / "cifar-100-python"
    assert sorted(p.name for p in c10.iterdir()) == sorted([f"data_batch_{i}" for i in range(1, 6)]
                                                          + ["test_batch", "batches.meta"])
    assert sorted(p.name for p in c100.iterdir()) == ["meta", "test", "train"]
    for split in ("train", "val"):
        assert sorted(p.name for p in (root / "imagenet100" / split).iterdir()) == list(IMAGENET100_WNIDS)
    val = sorted(p.name for p in (root / "imagenet" / "val").iterdir())
    assert val == data.published.imagenet_wnids() and len(val) == 1000
    assert all(re.match(r"ILSVRC2012_val_\d{8}\.JPEG$", p.name) for p in (root / "imagenet" / "val").rglob("*.JPEG"))
    for folder in ("rps", "rps-test-set"):
        assert sorted(p.name for p in (root / folder).iterdir()) == ["paper", "rock", "scissors"]
    assert all(p.suffix == ".png" for p in (root / "rps").rglob("*") if p.is_file())


def test_class_name_lists():
    wnids = data.published.imagenet_wnids()
    assert len(set(wnids)) == 1000 and wnids == sorted(wnids) and all(re.match(r"^n\d{8}$", w) for w in wnids)
    assert wnids[:2] == ["n01440764", "n01443537"] and wnids[-1] == "n15075141"
    assert len(set(IMAGENET100_WNIDS)) == 100 and list(IMAGENET100_WNIDS) == sorted(IMAGENET100_WNIDS)
    assert set(IMAGENET100_WNIDS) <= set(wnids)
    fine = cifar100_fine_names()
    assert len(set(fine)) == 100 and len(CIFAR100_SUPERCLASSES) == 20
    assert list(CIFAR100_SUPERCLASSES) == sorted(CIFAR100_SUPERCLASSES)


def test_writing_is_seeded(tmp_path):
    a, b, c = (tmp_path / n for n in "abc")
    write_deepweeds(a, 0), write_deepweeds(b, 0), write_deepweeds(c, 1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files if f.suffix == ".jpg")


# --------------------------------------------------------------------------- read back through cnneff.data


LOADS = {  # spec under DATA_ROOT -> (classes, (train, val, test), channels)
    "folder:{}/rmfd": (["face", "masked"], (48, 6, 6)),
    "rmfd:{}/rmfd_afdb": (["face", "masked"], (48, 6, 6)),
    "deepweeds:{}/deepweeds": (list(DEEPWEEDS_SPECIES), (80, 10, 10)),
    "cifar10-unverified:{}/cifar": (10, (90, 10, 50)),
    "cifar100-unverified:{}/cifar": (100, (400, 100, 200)),
    "folder:{}/imagenet100": (list(IMAGENET100_WNIDS), (400, 200, 100)),
    "folder:{}/imagenet100_64": (list(IMAGENET100_WNIDS), (400, 200, 100)),
    "imagenet-val:{}/imagenet": (1000, (0, 0, 1000)),
    "folder:{}/rps": (["paper", "rock", "scissors"], (24, 3, 3)),
}


def _loads(spec: str, classes) -> "data.Splits":
    """``data.load(spec)`` at 24 px, checked: its classes (a list of names, or a count) and a first image
    of uint8 3 x 24 x 24 with a label in range.  Returns the splits."""
    s = data.load(spec, image_size=24)
    assert (s.classes == classes) if isinstance(classes, list) else (s.num_classes == classes)
    x, y = (s.train if len(s.train) else s.test)[0]
    assert x.dtype == torch.uint8 and tuple(x.shape) == (3, 24, 24) and 0 <= y < s.num_classes
    return s


@pytest.mark.parametrize("spec", list(LOADS), ids=lambda s: s.split(":")[0] + ":" + s.rsplit("/", 1)[-1])
def test_every_rehearsal_set_loads_through_cnneff_data(tree, spec):
    root, _ = tree
    classes, sizes = LOADS[spec]
    s = _loads(spec.format(root), classes)
    assert (len(s.train), len(s.val), len(s.test)) == sizes
    assert s.channels == 3 and s.image_size == 24
    assert all(min(c) >= 1 for part, c in s.class_counts().items() if sizes[("train", "val", "test").index(part)])


def test_the_gpu_profiles_data_and_weights_read_the_tree(tree, monkeypatch):
    """Every ${DATA_ROOT} value of params/gpu/*.yaml resolves to something in the tree that its reader
    accepts: data sources through cnneff.data.load, weight files through the transfer code path."""
    from cnneff.runner import expand_data_root
    from cnneff.transfer import pretrained_model

    root, _ = tree
    monkeypatch.setenv("DATA_ROOT", str(root))
    seen = set()
    for path in GPU_PARAMS:
        values = yaml.safe_load(path.read_text()) or {}
        flat = {k: v for k, v in values.items() if not isinstance(v, dict) or k not in ("paper_data", "embedded")}
        flat.update(values.get("paper_data") or {})  # the settings a run on DATA_ROOT uses
        for key, value in flat.items():
            if not (isinstance(value, str) and "DATA_ROOT" in value):
                continue
            resolved = expand_data_root(value, path.stem, key)
            if key.endswith("weights"):
                model = pretrained_model("mobilenet_v2", 9, resolved, seed=0)
                assert model.classifier[-1].out_features == 9
            elif key == "weights_root":  # the folder whose weights/ holds the publishers' files
                assert (Path(resolved) / "weights").is_dir(), resolved
            else:  # the rehearsal's pickles are not the official ones: read them unverified, as its profile does
                s = data.load(re.sub(r"^(cifar10|cifar100):", r"\1-unverified:", resolved), image_size=16)
                assert (len(s.test) or len(s.val)) and (len(s.train) or resolved.startswith("imagenet-val:")), resolved
            seen.add(resolved)
    assert len(seen) >= 4, seen


def test_every_weight_file_the_gpu_profiles_name_is_in_the_table():
    named = {m for p in GPU_PARAMS for m in re.findall(r"\$\{DATA_ROOT\}/(weights/[\w.-]+\.pth)", p.read_text())}
    assert named and named <= {w.path for w in WEIGHT_FILES}


def test_the_cifar_pickles_are_python_2_byte_strings_as_published(tree):
    """The official python-version files were written by Python 2's cPickle: loaded with
    encoding="bytes" their keys are b"data", b"labels"; with "latin1" (torchvision) plain str."""
    import pickle
    import pickletools

    root = tree[0]
    for path, labels in ((root / "cifar" / "cifar-10-batches-py" / "data_batch_1", b"labels"),
                         (root / "cifar" / "cifar-100-python" / "train", b"fine_labels")):
        raw = path.read_bytes()
        ops = {op.name for op, _, _ in pickletools.genops(raw)}
        assert "SHORT_BINSTRING" in ops and not ops & {"BINUNICODE", "SHORT_BINUNICODE"}, ops
        as_bytes, as_latin1 = pickle.loads(raw, encoding="bytes"), pickle.loads(raw, encoding="latin1")
        assert {b"data", labels, b"filenames", b"batch_label"} <= set(as_bytes)
        assert (as_bytes[b"data"] == as_latin1["data"]).all() and as_latin1["data"].shape[1] == 3072
    meta = pickle.loads((root / "cifar" / "cifar-10-batches-py" / "batches.meta").read_bytes(), encoding="bytes")
    assert meta[b"num_cases_per_batch"] == 20 and meta[b"num_vis"] == 3072 and len(meta[b"label_names"]) == 10


def test_the_strict_cifar_loaders_refuse_the_rehearsal_pickles(tree):
    """cifar10:/cifar100: check the official md5 sums; the rehearsal tree needs the -unverified sources."""
    root, _ = tree
    for spec in (f"cifar10:{root}/cifar", f"cifar100:{root}/cifar"):
        with pytest.raises(DataError, match="md5"):
            data.load(spec)


def test_the_images_carry_their_class(tree):
    """A nearest-centroid rule on colour statistics separates the shape/colour classes, and the mask band's
    blue-minus-red separates RMFD's masked faces from the unmasked ones."""
    root, _ = tree
    for spec in (f"deepweeds:{root}/deepweeds", f"cifar10-unverified:{root}/cifar", f"folder:{root}/rps"):
        s = data.load(spec, image_size=16)
        feats = lambda part: torch.cat([part.images.float().mean((2, 3)), part.images.float().amax((2, 3)),  # noqa
                                        part.images.float().amin((2, 3))], 1)
        x, y = feats(s.train), s.train.labels
        centres = torch.stack([x[y == k].mean(0) for k in range(s.num_classes)])
        accuracy = (torch.cdist(feats(s.test), centres).argmin(1) == s.test.labels).float().mean().item()
        assert accuracy >= 0.8, (spec, accuracy)
    s = data.load(f"folder:{root}/rmfd", image_size=32)
    every = torch.cat([s.train.images, s.val.images, s.test.images]).float()
    labels = torch.cat([s.train.labels, s.val.labels, s.test.labels])
    band = every[:, :, 17:23, 12:20]
    blue_minus_red = (band[:, 2] - band[:, 0]).mean((1, 2))
    assert ((blue_minus_red > -30) == (labels == 1)).all()


# --------------------------------------------------------------------------- refusals and the command


def test_a_non_empty_folder_is_refused_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty.*--force") as e:
        rehearsal_data(tmp_path)
    assert "\n" not in str(e.value)


def test_force_never_overwrites_what_may_be_real_data(tmp_path):
    (tmp_path / "deepweeds").mkdir()
    (tmp_path / "deepweeds" / "labels.csv").write_text("Filename,Label,Species\n")
    with pytest.raises(ValueError, match=f"no {MARKER}"):
        rehearsal_data(tmp_path, force=True)
    assert (tmp_path / "deepweeds" / "labels.csv").read_text() == "Filename,Label,Species\n"
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        rehearsal_data(tmp_path / "a_file")


def test_force_replaces_an_earlier_rehearsal_tree(tmp_path, monkeypatch, capsys):
    from cnneff.rehearsal import layouts

    monkeypatch.setattr(layouts, "WRITERS", (layouts.write_rmfd,))  # the command's logic, one small layout
    monkeypatch.setattr("cnneff.rehearsal.weights.WEIGHT_FILES", WEIGHT_FILES[2:3])
    p = argparse.ArgumentParser()
    add_rehearsal_data_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(["rehearsal-data", str(tmp_path / "dr")])
    assert args.func(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == ["rmfd", "rmfd_afdb", "weights", "wrote"]
    stale = tmp_path / "dr" / "rmfd" / "face" / "stale.jpg"
    stale.write_bytes(b"x")
    args = p.parse_args(["rehearsal-data", str(tmp_path / "dr"), "--force", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert not stale.exists() and [d["name"] for d in out["datasets"]] == ["rmfd", "rmfd_afdb"]
    assert out["weights"][0]["format"] == "timm"


def test_rmfd_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="AFDB_face_dataset"):
        data.load(f"rmfd:{tmp_path}")
    write_rmfd(tmp_path, 0)
    release = tmp_path / "release"
    release.mkdir()
    inner = release / "self-built-masked-face-recognition-dataset"
    (tmp_path / "rmfd_afdb").rename(inner)
    s = data.load(f"rmfd:{release}", image_size=16)  # the archive's own top folder is accepted
    assert s.classes == ["face", "masked"] and sum(map(sum, s.class_counts().values())) == 60
    for f in (inner / "AFDB_masked_face_dataset").rglob("*.jpg"):
        f.unlink()
    with pytest.raises(DataError, match="holds no images"):
        data.load(f"rmfd:{release}")


def test_imagenet_val_loader_checks_the_class_folders(tmp_path):
    from PIL import Image

    val = tmp_path / "val"
    for wnid in data.published.imagenet_wnids()[:999]:
        (val / wnid).mkdir(parents=True)
        Image.new("RGB", (8, 6)).save(val / wnid / "a.JPEG")
    with pytest.raises(DataError, match="999 WordNet-id folders"):
        data.load(f"imagenet-val:{tmp_path}")
    (val / "n99999999").mkdir()
    Image.new("RGB", (8, 6)).save(val / "n99999999" / "a.JPEG")
    with pytest.raises(DataError, match="lacks the ImageNet-1k class folder"):
        data.load(f"imagenet-val:{val}")
    (val / "cats").mkdir()
    Image.new("RGB", (8, 6)).save(val / "cats" / "a.JPEG")
    with pytest.raises(DataError, match="not WordNet ids.*cats"):
        data.load(f"imagenet-val:{tmp_path}")


def test_imagenet_val_subset_is_a_seeded_sample(tree):
    root, _ = tree
    a = data.load(f"imagenet-val:{root}/imagenet", subset=50)
    b = data.load(f"imagenet-val:{root}/imagenet", subset=50)
    assert len(a.test) == 50 and a.test.items == b.test.items
    assert len(set(y for _, y in a.test.items)) > 40  # spread over the classes, not the first 50 folders


# --------------------------------------------------------------------------- a tree someone else wrote
INDEPENDENT = {  # spec -> classes: the publishers' layouts as scripts/independent_data_root.py writes them
    "rmfd:{}/rmfd_afdb": ["face", "masked"], "folder:{}/rmfd": ["face", "masked"],
    "deepweeds:{}/deepweeds": list(DEEPWEEDS_SPECIES), "cifar10-unverified:{}/cifar": 10,
    "cifar100-unverified:{}/cifar": 100, "folder:{}/imagenet100": list(IMAGENET100_WNIDS),
    "folder:{}/imagenet100_64": list(IMAGENET100_WNIDS), "imagenet-val:{}/imagenet": 1000,
    "folder:{}/rps": ["paper", "rock", "scissors"],
}


@pytest.fixture(scope="module")
def independent_tree(tmp_path_factory):
    """The data sets of scripts/independent_data_root.py (which shares no code with cnneff.rehearsal and
    writes CIFAR as the official Python 2 pickles, DeepWeeds at 256 px, RPS as RGBA PNGs, some ImageNet
    JPEGs grayscale or CMYK), written once without its weight files."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("independent") / "data"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "independent_data_root.py"), str(root), "--no-weights"],
                   check=True, capture_output=True, timeout=600)
    return root


@pytest.mark.parametrize("spec", list(INDEPENDENT), ids=lambda s: s.split(":")[0] + ":" + s.rsplit("/", 1)[-1])
def test_a_tree_someone_else_wrote_loads_through_cnneff_data(independent_tree, spec):
    _loads(spec.format(independent_tree), INDEPENDENT[spec])


def test_a_tree_someone_else_wrote_is_not_taken_for_the_rehearsal_writer_s(independent_tree):
    assert not is_rehearsal(independent_tree)  # its results are still labelled by the rehearsal profile
