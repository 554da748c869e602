"""cnneff.data: loaders, splits, cache, errors and the engine helpers, on tiny
synthetic image folders (plus the real Fashion-MNIST and ELPV files when present)."""
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnneff import data
from cnneff.data import DataError, FolderImages, ImageSet

COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30)}


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    """Never touch the real data/cache: every test gets its own cache folder."""
    monkeypatch.setenv("CNNEFF_CACHE", str(tmp_path / "cache"))


def _img(path: Path, colour, seed: int, size=(40, 30), mode="RGB"):
    """A noisy image around ``colour``: unique per seed, class visible in the mean."""
    rng = np.random.default_rng(seed)
    a = np.clip(np.array(colour)[None, None] + rng.integers(-20, 21, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(a, "RGB")
    if mode != "RGB":
        im = im.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def _folder(root: Path, n=20, classes=COLOURS, mode="RGB", ext=".png", start=0):
    for k, (c, colour) in enumerate(classes.items()):
        for i in range(n):
            _img(root / c / f"{c}{i:03d}{ext}", colour, seed=start + 1000 * k + i, mode=mode)
    return root


@pytest.fixture
def folder(tmp_path):
    return _folder(tmp_path / "imgs")


# --------------------------------------------------------------------------- image_folder


def test_image_folder_shapes_split_and_labels(folder):
    s = data.image_folder(folder, image_size=16)
    assert s.name == f"folder:{folder.resolve()}"
    assert s.classes == ["blue", "green", "red"] and s.channels == 3 and s.image_size == 16
    assert isinstance(s.train, ImageSet)
    assert (len(s.train), len(s.val), len(s.test)) == (48, 6, 6)
    assert s.class_counts() == {"train": [16] * 3, "val": [2] * 3, "test": [2] * 3}
    for part in (s.train, s.val, s.test):
        assert part.images.dtype == torch.uint8 and part.images.is_contiguous()
        assert part.images.shape[1:] == (3, 16, 16) and part.labels.dtype == torch.int64
    x, y = s.train[0]
    assert x.shape == (3, 16, 16) and isinstance(y, int)
    # labels match the pixels: each class's dominant channel is its colour
    dominant = s.train.images.float().mean((2, 3)).argmax(1)
    assert torch.equal(dominant, torch.tensor([2, 1, 0])[s.train.labels])  # blue, green, red
    # the three splits are disjoint
    flat = lambda p: {bytes(im.numpy()) for im in p.images}  # noqa: E731
    assert not (flat(s.train) & flat(s.test)) and not (flat(s.val) & flat(s.test))


def test_image_folder_seeded(folder):
    a = data.image_folder(folder, image_size=8, seed=0)
    b = data.image_folder(folder, image_size=8, seed=0)
    c = data.image_folder(folder, image_size=8, seed=1)
    assert torch.equal(a.test.images, b.test.images) and torch.equal(a.train.labels, b.train.labels)
    assert not torch.equal(a.test.images, c.test.images)


def test_subset_is_stratified_and_proportional(folder):
    s = data.image_folder(folder, image_size=8, subset=24)
    assert s.class_counts()["train"] == [8, 8, 8]
    assert len(s.val) == len(s.test) == 3  # at least one per class
    full = data.image_folder(folder, image_size=8)
    assert {bytes(i.numpy()) for i in s.test.images} <= {bytes(i.numpy()) for i in full.test.images}
    with pytest.raises(ValueError, match="subset"):
        data.image_folder(folder, image_size=8, subset=0)


def test_cache_hit_is_fast_identical_and_invalidated(folder, monkeypatch, tmp_path):
    a = data.image_folder(folder, image_size=16)
    assert a.cache and Path(a.cache).is_file() and Path(a.cache).parent == tmp_path / "cache"

    def boom(*a, **k):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(data.files, "_decode_many", boom)
    t = time.perf_counter()
    b = data.image_folder(folder, image_size=16)
    assert time.perf_counter() - t < 1.0
    for part in ("train", "val", "test"):
        assert torch.equal(getattr(a, part).images, getattr(b, part).images)
        assert torch.equal(getattr(a, part).labels, getattr(b, part).labels)
    # a subset is cut from the cached full decode, not decoded
    sub = data.image_folder(folder, image_size=16, subset=12)
    assert len(sub.train) == 12 and Path(sub.cache).is_file()
    # a changed file changes the key
    _img(folder / "red" / "red000.png", COLOURS["red"], seed=99, size=(50, 50))
    with pytest.raises(AssertionError, match="decoded again"):
        data.image_folder(folder, image_size=16)


def test_cache_off(folder, monkeypatch):
    monkeypatch.setenv("CNNEFF_CACHE", "off")
    assert data.cache_dir() is None
    assert data.image_folder(folder, image_size=8).cache == ""


def test_split_subfolders(tmp_path):
    root = tmp_path / "ds"
    _folder(root / "train", n=10)
    _folder(root / "val", n=3, start=100)
    _folder(root / "test", n=4, start=200)
    s = data.image_folder(root, image_size=8)
    assert (len(s.train), len(s.val), len(s.test)) == (30, 9, 12)
    # no test/: 10 % of train per class is split off
    root2 = tmp_path / "ds2"
    _folder(root2 / "train", n=10)
    _folder(root2 / "valid", n=3, start=100)
    s2 = data.image_folder(root2, image_size=8)
    assert (len(s2.train), len(s2.val), len(s2.test)) == (27, 9, 3)
    # a val class that train lacks
    _folder(root2 / "valid", n=1, classes={"purple": (200, 0, 200)}, start=300)
    with pytest.raises(DataError, match="purple"):
        data.image_folder(root2, image_size=8)


def test_grayscale_and_mixed_modes(tmp_path):
    gray = _folder(tmp_path / "gray", n=5, mode="L")
    s = data.image_folder(gray, image_size=8)
    assert s.channels == 1 and s.train.images.shape[1] == 1
    mixed = _folder(tmp_path / "mixed", n=5, mode="L")
    _img(mixed / "red" / "rgba.png", COLOURS["red"], seed=5, mode="RGBA")
    _img(mixed / "blue" / "pal.bmp", COLOURS["blue"], seed=6, mode="P")
    _img(mixed / "green" / "pic.JPEG", COLOURS["green"], seed=7)
    s = data.image_folder(mixed, image_size=8)
    assert s.channels == 3 and s.train.images.shape[1] == 3
    assert sum(len(p) for p in (s.train, s.val, s.test)) == 18
    f = data.image_folder(gray, image_size=8, stream=True)
    assert f.channels == 1 and f.train[0][0].shape == (1, 8, 8)


def test_streaming_matches_in_memory(folder):
    mem = data.image_folder(folder, image_size=12, stream=False)
    st = data.image_folder(folder, image_size=12, stream=True)
    assert isinstance(st.train, FolderImages) and st.cache == ""
    assert torch.equal(st.train.labels, mem.train.labels)
    loader = torch.utils.data.DataLoader(st.train, batch_size=8, num_workers=0)
    x, y = next(iter(loader))
    assert x.dtype == torch.uint8 and x.shape == (8, 3, 12, 12) and y.dtype == torch.int64
    assert torch.equal(x, mem.train.images[:8]) and torch.equal(y, mem.train.labels[:8])
    assert len(st.train.subset([0, 2])) == 2


def test_large_folder_streams_by_default(folder, monkeypatch):
    monkeypatch.setattr(data.files, "STREAM_THRESHOLD", 10)
    assert isinstance(data.image_folder(folder, image_size=8).train, FolderImages)


# --------------------------------------------------------------------------- bad input


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; pass the folder that holds one sub-folder per class"):
        data.image_folder(tmp_path / "nope")


def test_empty_class_and_one_class(tmp_path):
    root = _folder(tmp_path / "a", n=3)
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"empty holds no .*images.*notes.txt"):
        data.image_folder(root)
    one = _folder(tmp_path / "b", n=3, classes={"red": COLOURS["red"]})
    with pytest.raises(DataError, match="only 'red'.*at least two"):
        data.image_folder(one)


def test_corrupt_file(folder):
    bad = folder / "green" / "broken.jpg"
    bad.write_bytes(b"this is not a JPEG")
    (folder / "green" / "readme.txt").write_text("ignored: not an image extension")
    with pytest.raises(DataError, match="broken.jpg: cannot read image.*skip_corrupt=True"):
        data.image_folder(folder, image_size=8)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        s = data.image_folder(folder, image_size=8, skip_corrupt=True)
    assert s.skipped == 1 and sum(len(p) for p in (s.train, s.val, s.test)) == 60
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        st = data.image_folder(folder, image_size=8, skip_corrupt=True, stream=True)
    assert st.skipped == 1 and sum(len(p) for p in (st.train, st.val, st.test)) == 60
    st = data.image_folder(folder, image_size=8, stream=True)
    idx = [p for p, _ in st.train.items + st.val.items + st.test.items].index(str(bad))
    part = [st.train, st.val, st.test]
    sizes = np.cumsum([0] + [len(p) for p in part])
    k = int(np.searchsorted(sizes, idx, side="right") - 1)
    with pytest.raises(DataError, match="broken.jpg"):
        part[k][idx - sizes[k]]


# --------------------------------------------------------------------------- deepweeds


def _deepweeds(root: Path, n=6):
    species = ["Chinee apple", "Lantana", "Negative"]
    labels = {"Chinee apple": 0, "Lantana": 1, "Negative": 8}
    rows = ["Filename,Label,Species"]
    for k, sp in enumerate(species):
        for i in range(n):
            name = f"2017{k}{i:03d}-0.jpg"
            _img(root / "images" / name, list(COLOURS.values())[k], seed=10 * k + i, size=(32, 32))
            rows.append(f"{name},{labels[sp]},{sp}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_deepweeds(tmp_path):
    root = _deepweeds(tmp_path / "dw", n=10)
    s = data.deepweeds(root, image_size=16)
    assert s.classes == ["Chinee apple", "Lantana", "Negative"] and s.channels == 3
    assert s.licence and s.name.startswith("deepweeds:")
    assert s.class_counts() == {"train": [8] * 3, "val": [1] * 3, "test": [1] * 3}
    with open(root / "labels.csv", "a") as f:
        f.write("gone-1.jpg,1,Lantana\ngone-2.jpg,8,Negative\n")
    with pytest.raises(DataError, match=r"names 2 image\(s\) not in .*images: gone-1.jpg, gone-2.jpg"):
        data.deepweeds(root)
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        data.deepweeds(tmp_path / "elsewhere")


# --------------------------------------------------------------------------- cifar


def test_cifar10_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py does not exist.*python version"):
        data.cifar10(tmp_path)


def test_cifar10_fake_batches(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tvc

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = list(range(10)) * 2
        with open(base / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), "labels": labels}, f)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names}, f)
    monkeypatch.setattr(tvc.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tvc, "check_integrity", lambda *a, **k: True)
    s = data.cifar10(base, image_size=16, val_fraction=0.1)  # the batches folder itself is accepted too
    assert s.classes == names and s.channels == 3 and s.name == "cifar10"
    assert (len(s.train), len(s.val), len(s.test)) == (90, 10, 20)
    assert s.train.images.shape[1:] == (3, 16, 16) and s.train.images.dtype == torch.uint8


# --------------------------------------------------------------------------- real data sets


def test_fashion_mnist():
    root = Path(data.FASHION_MNIST_ROOT)
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("apt-get install dataset-fashion-mnist")
    s = data.fashion_mnist(image_size=32, subset=500)
    assert s.classes[0] == "T-shirt/top" and s.classes[-1] == "Ankle boot" and s.channels == 1
    assert s.train.images.shape == (500, 1, 32, 32) and s.class_counts()["train"] == [50] * 10
    assert len(s.test) == round(500 / 54000 * 10000) and len(s.val) == round(500 / 54000 * 6000)
    assert set(s.test.labels.tolist()) == set(range(10))


def test_fashion_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.fashion_mnist(tmp_path)


@pytest.fixture(scope="session")
def elpv_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("elpv-cache")


def test_elpv_binary(elpv_cache, monkeypatch):
    pytest.importorskip("elpv_dataset")
    monkeypatch.setenv("CNNEFF_CACHE", str(elpv_cache))
    s = data.elpv(image_size=32)  # decodes 2,329 PNGs once (a few seconds)
    counts = s.class_counts()
    assert [sum(c) for c in zip(*counts.values())] == [1508, 821]
    assert s.classes == ["functional", "defective"] and s.channels == 1 and s.licence == "CC-BY-NC-SA 4.0"
    assert counts == {"train": [1206, 657], "val": [151, 82], "test": [151, 82]}
    sub = data.elpv(image_size=32, subset=400)  # cut from the cache
    assert len(sub.train) == 400 and sub.train.images.shape[1:] == (1, 32, 32)
    for part in (sub.train, sub.val, sub.test):
        assert abs(part.labels.float().mean().item() - 821 / 2329) < 0.02
    big_test = data.elpv(image_size=32, val_fraction=0.05, test_fraction=0.25)  # a larger test split
    assert big_test.class_counts()["test"] == [377, 205] and len(big_test.val) == 116
    assert len(big_test.train) + len(big_test.val) + len(big_test.test) == 2329
    with pytest.raises(ValueError, match="leave at least 10 % for training"):
        data.elpv(image_size=32, val_fraction=0.5, test_fraction=0.5)


# --------------------------------------------------------------------------- helpers


def test_robustness_set():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (60, 3, 16, 16), dtype=torch.uint8, generator=g)
    test = ImageSet(imgs, torch.arange(60) % 3, ["a", "b", "c"])
    r = data.robustness_set(test, seed=3)
    assert len(r.transforms) == 60 and set(r.transforms) == {"hflip", "rotate", "noise"}
    assert torch.equal(r.labels, test.labels) and r.images.dtype == torch.uint8
    again = data.robustness_set(test, seed=3)
    assert again.transforms == r.transforms and torch.equal(again.images, r.images)
    assert data.robustness_set(test, seed=4).transforms != r.transforms
    for i, t in enumerate(r.transforms):
        flipped = torch.equal(r.images[i], imgs[i].flip(-1))
        assert flipped == (t == "hflip")
        assert not torch.equal(r.images[i], imgs[i])
        assert (10 <= abs(float(r.angles[i])) <= 30) == (t == "rotate")
    assert torch.equal(test.images, imgs)  # the input is untouched


def test_load_dispatcher(folder, monkeypatch):
    s = data.load(f"folder:{folder}", image_size=8, subset=6)
    assert len(s.train) == 6 and s.name.startswith("folder:")
    seen = {}
    monkeypatch.setitem(data.SOURCES, "elpv-4class", (lambda **kw: seen.update(kw), None, {"task": "4class"}))
    data.load("elpv-4class", image_size=32)
    assert seen == {"task": "4class", "image_size": 32}
    with pytest.raises(ValueError, match="unknown data source 'mnist'; valid: fashion-mnist.*cifar100:PATH"):
        data.load("mnist")
    with pytest.raises(ValueError, match="needs a path: folder:PATH"):
        data.load("folder")
