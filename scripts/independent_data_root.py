"""Write a second, independent DATA_ROOT for ``make rehearsal DATA_ROOT=DIR``: the papers' data sets and
ImageNet weight files laid out as their publishers ship them, with synthetic content.

Usage: ``python scripts/independent_data_root.py DIR [--seed N] [--no-weights]`` (DIR must be new or empty;
``--no-weights`` writes the data sets only, as tests/test_rehearsal.py does).

Why: the rehearsal tree and the loaders that read it come from one author, so a loader could pass by reading
only what its own writer writes.  This script was written from the publishers' documentation and the path
contract in lib/cnneff/rehearsal/expected.py (copied, not imported), without reading the project's writer or
importing anything from ``cnneff``.  Under DIR it writes:

- rmfd/{face,masked}/<person>/*.jpg (the book's form), rmfd_afdb/AFDB_{face,masked_face}_dataset/<person>/;
- deepweeds/images/YYYYMMDD-HHMMSS-N.jpg (256 px) + labels.csv (Filename,Label,Species; 8 = Negative);
- cifar/cifar-10-batches-py/, cifar/cifar-100-python/: protocol-2 pickles as the official Python 2 files
  (text as py2 ``str``: bytes under ``encoding='bytes'``, str under ``'latin1'``);
- imagenet100{,_64}/{train,val}/<wnid>/ (mini-ImageNet's 100 classes; _64 at 64 px) and imagenet/{train,val}/
  with all 1,000 ILSVRC-2012 wnids, a few JPEGs grayscale or CMYK as in the real ImageNet;
- rps/{paper,rock,scissors}/*.png and rps-test-set/ beside it (rps.zip and rps-test-set.zip each unpack to
  their own folder), 300 x 300 RGBA;
- weights/<file>: random weights from torchvision's / timm's own model code, saved with torch.save (DeiT's
  wrapped as ``{"model": state_dict}`` like Facebook's checkpoint, unless --plain-state-dicts);
- INDEPENDENT_TREE.txt (not REHEARSAL.json, the project's writer's marker).

Images are per-class gratings and colour blobs (numpy + PIL) that a CNN can learn a little; class looks are
fixed, each image's jitter follows --seed, and the same seed gives the same bytes.  The tree is written into
DIR.partial and renamed to DIR at the end.
"""
from __future__ import annotations

import argparse
import gc
import io
import pickle
import shutil
import struct
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WEIGHTS = {  # path under DATA_ROOT -> publisher's architecture (copied from expected.py's WEIGHT_FILES)
    "mobilenet_v2-b0353104.pth": "torchvision mobilenet_v2",
    "efficientnet_b0_rwightman-7f5810bc.pth": "torchvision efficientnet_b0",
    "tinynet_e.pth": "timm tinynet_e", "efficientnet_b0_ra-3dd342df.pth": "timm efficientnet_b0",
    "efficientnet_b1_rwightman-bac287d4.pth": "torchvision efficientnet_b1",
    "efficientnet_b2_rwightman-c35c1473.pth": "torchvision efficientnet_b2",
    "efficientnet_b4_rwightman-23ab8bcd.pth": "torchvision efficientnet_b4",
    "efficientnet_b6_lukemelas-24a108a5.pth": "torchvision efficientnet_b6",
    "efficientnet_b7_lukemelas-c5b4e57e.pth": "torchvision efficientnet_b7",
    "efficientnet_v2_s-dd5fe13b.pth": "torchvision efficientnet_v2_s",
    "efficientnet_v2_m-dc08266a.pth": "torchvision efficientnet_v2_m",
    "resnetrs350_i256_ema-5a1aa8f1.pth": "timm resnetrs350",
    "deit_base_patch16_224-b5f2ef4d.pth": "timm deit_base_patch16_224",
    "tinynet_a.pth": "timm tinynet_a", "tinynet_b.pth": "timm tinynet_b", "tinynet_c.pth": "timm tinynet_c",
    "tinynet_d.pth": "timm tinynet_d", "mnasnet_a1-d9418771.pth": "timm semnasnet_100",
    "mobilenetv2_050-3d30d450.pth": "timm mobilenetv2_050",
    "mobilenetv3_small_050_lambc-4b7bbe87.pth": "timm mobilenetv3_small_050",
    "mobilenetv3_small_075_lambc-384766db.pth": "timm mobilenetv3_small_075",
    "shufflenetv2_x1_5-3c479a10.pth": "torchvision shufflenet_v2_x1_5",
    "shufflenetv2_x0.5-f707e7126e.pth": "torchvision shufflenet_v2_x0_5",
}
WRAPPED = {"deit_base_patch16_224": "model"}  # Facebook's DeiT checkpoints hold {"model": state_dict}
PERSONS = ("aidai anhu baibaihe baijingting chenkun dengchao fanbingbing huangbo jiangwen liuyifei wangfei "
           "zhouxun").split()
WEEDS = ("Chinee apple", "Lantana", "Parkinsonia", "Parthenium", "Prickly acacia", "Rubber vine", "Siam weed",
         "Snake weed", "Negative")
CIFAR10 = "airplane automobile bird cat deer dog frog horse ship truck".split()
CIFAR100 = {  # coarse label -> its five fine labels (the CIFAR page's table, in the pickles' spelling)
    "aquatic_mammals": "beaver dolphin otter seal whale", "fish": "aquarium_fish flatfish ray shark trout",
    "flowers": "orchid poppy rose sunflower tulip", "food_containers": "bottle bowl can cup plate",
    "fruit_and_vegetables": "apple mushroom orange pear sweet_pepper",
    "household_electrical_devices": "clock keyboard lamp telephone television",
    "household_furniture": "bed chair couch table wardrobe", "insects": "bee beetle butterfly caterpillar cockroach",
    "large_carnivores": "bear leopard lion tiger wolf",
    "large_man-made_outdoor_things": "bridge castle house road skyscraper",
    "large_natural_outdoor_scenes": "cloud forest mountain plain sea",
    "large_omnivores_and_herbivores": "camel cattle chimpanzee elephant kangaroo",
    "medium_mammals": "fox porcupine possum raccoon skunk",
    "non-insect_invertebrates": "crab lobster snail spider worm",
    "people": "baby boy girl man woman", "reptiles": "crocodile dinosaur lizard snake turtle",
    "small_mammals": "hamster mouse rabbit shrew squirrel",
    "trees": "maple_tree oak_tree palm_tree pine_tree willow_tree",
    "vehicles_1": "bicycle bus motorcycle pickup_truck train", "vehicles_2": "lawn_mower rocket streetcar tank tractor",
}
COUNTS = dict(rmfd_face=(8, 5), rmfd_masked=(7, 5), deepweeds=(12, 24), cifar10=(5, 24, 60), cifar100=(600, 200),
              in100=(6, 3), in1k=(2, 1), rps=(12, 5))  # (per-class) sizes; each >= the project's writer's


def proto(*key: int | str) -> dict:
    """A class's look, a function of its key: three colours, a grating's angle and frequency, blob count/size."""
    rng = np.random.default_rng([zlib.crc32(k.encode()) if isinstance(k, str) else k for k in key])
    return dict(colours=rng.uniform(0, 255, (3, 3)), angle=rng.uniform(0, np.pi), freq=rng.uniform(1.5, 9),
                blobs=int(rng.integers(1, 5)), radius=rng.uniform(0.08, 0.25))


def texture(p: dict, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """One H x W x 3 uint8 image of class look ``p``: a jittered grating, ellipses, noise."""
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    ang = p["angle"] + rng.normal(0, 0.15)
    g = 0.5 + 0.5 * np.sin(2 * np.pi * p["freq"] * (xx * np.cos(ang) + yy * np.sin(ang)) + rng.uniform(0, 6.3))
    c = p["colours"] + rng.normal(0, 10, (3, 3))
    img = c[0] * (1 - g)[..., None] + c[1] * g[..., None]
    for _ in range(p["blobs"] + int(rng.integers(0, 2))):
        cx, cy = rng.uniform(0, w / max(w, h)), rng.uniform(0, h / max(w, h))
        rx, ry = p["radius"] * rng.uniform(0.6, 1.4, 2)
        img[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1] = c[2]
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def save(img: Image.Image, path: Path, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)


def face(rng: np.random.Generator, person: str, masked: bool) -> Image.Image:
    """A face-like crop: the person's background and skin tone, eyes, and over the lower half a mask if masked."""
    p, side = proto("person", person), int(rng.integers(96, 161))
    img = Image.fromarray(texture(p, rng, side, side))
    d, s = ImageDraw.Draw(img), side / 100
    skin = tuple(int(v) for v in np.array([225, 180, 150]) * rng.uniform(0.6, 1.05) + rng.normal(0, 6, 3))
    ox, oy = rng.normal(0, 4 * s, 2)
    d.ellipse([20 * s + ox, 12 * s + oy, 80 * s + ox, 92 * s + oy], fill=skin)
    for ex in (37, 63):
        d.ellipse([(ex - 5) * s + ox, 40 * s + oy, (ex + 5) * s + ox, 47 * s + oy], fill=(30, 25, 20))
    if masked:
        colour = [(235, 240, 245), (120, 170, 220), (40, 40, 45)][int(rng.integers(0, 3))]
        d.polygon([(18 * s + ox, 55 * s + oy), (82 * s + ox, 55 * s + oy), (74 * s + ox, 88 * s + oy),
                   (26 * s + ox, 88 * s + oy)], fill=colour)
    else:
        d.arc([38 * s + ox, 62 * s + oy, 62 * s + ox, 76 * s + oy], 20, 160, fill=(150, 60, 60), width=int(2 * s))
    return img


def write_rmfd(root: Path, rng: np.random.Generator) -> int:
    """AFDB_face_dataset/ and AFDB_masked_face_dataset/ as published, and the same files as rmfd/face|masked/."""
    n = 0
    for side, published, (persons, per) in (("face", "AFDB_face_dataset", COUNTS["rmfd_face"]),
                                              ("masked", "AFDB_masked_face_dataset", COUNTS["rmfd_masked"])):
        names = PERSONS[:persons] if side == "face" else PERSONS[-persons:]
        for person in names:
            for i in range(per):
                buf = io.BytesIO()
                face(rng, person, side == "masked").save(buf, "JPEG", quality=int(rng.integers(80, 96)))
                for folder in (root / "rmfd" / side, root / "rmfd_afdb" / published):
                    (folder / person).mkdir(parents=True, exist_ok=True)
                    (folder / person / f"{i // 3}_{i % 3}_0.jpg").write_bytes(buf.getvalue())
                n += 1
    return n


def write_deepweeds(root: Path, rng: np.random.Generator) -> int:
    """images/<date>-<time>-<camera>.jpg (256 px) and labels.csv, rows in file-name order as shipped."""
    per, negative = COUNTS["deepweeds"]
    labels = [c for c in range(8) for _ in range(per)] + [8] * negative
    days = rng.choice(np.arange(600), len(labels), replace=False)
    rows = []
    for label, day in zip(labels, days):
        t = np.datetime64("2016-06-01") + np.timedelta64(int(day), "D")
        hh, mm, ss = rng.integers(7, 18), rng.integers(0, 60), rng.integers(0, 60)
        name = f"{str(t).replace('-', '')}-{hh:02d}{mm:02d}{ss:02d}-{int(rng.integers(0, 3))}.jpg"
        soil = dict(proto("soil"), colours=rng.uniform(60, 140, (3, 3)) * [1.1, 0.85, 0.6])  # Negative: no weed
        look = proto("weed", label) if label < 8 else soil
        save(Image.fromarray(texture(look, rng, 256, 256)), root / "deepweeds" / "images" / name, quality=90)
        rows.append((name, label))
    lines = ["Filename,Label,Species"] + [f"{f},{c},{WEEDS[c]}" for f, c in sorted(rows)]
    (root / "deepweeds" / "labels.csv").write_text("\n".join(lines) + "\n")
    return len(rows)


class Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` (SHORT_BINSTRING / BINSTRING), as the official CIFAR pickles do."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def dump_py2(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        Py2Pickler(f, protocol=2).dump(obj)


def cifar_rows(rng: np.random.Generator, labels: list[int], tag: str) -> np.ndarray:
    """N x 3072 uint8, each row the R, G then B planes of a 32 x 32 image, row-major."""
    return np.stack([texture(proto(tag, c), rng, 32, 32).transpose(2, 0, 1).reshape(-1) for c in labels])


def write_cifar(root: Path, rng: np.random.Generator) -> int:
    """cifar-10-batches-py/ (5 training batches, test_batch, batches.meta) and cifar-100-python/."""
    nb, per_class, n_test = COUNTS["cifar10"]
    out, names = root / "cifar" / "cifar-10-batches-py", [s.encode() for s in CIFAR10]
    train = rng.permutation([c for c in range(10) for _ in range(per_class)])
    splits = [(f"data_batch_{i + 1}", f"training batch {i + 1} of {nb}", b) for i, b in enumerate(np.split(train, nb))]
    splits.append(("test_batch", "testing batch 1 of 1", rng.permutation(np.arange(n_test) % 10)))
    for fname, label, labels in splits:
        labels = [int(c) for c in labels]
        dump_py2({b"batch_label": label.encode(), b"labels": labels, b"data": cifar_rows(rng, labels, "c10"),
                  b"filenames": [f"{CIFAR10[c]}_s_{int(rng.integers(0, 10**6)):06d}.png".encode() for c in labels]},
                 out / fname)
    dump_py2({b"num_cases_per_batch": len(train) // nb, b"label_names": names, b"num_vis": 3072}, out / "batches.meta")
    fine = sorted(f for v in CIFAR100.values() for f in v.split())
    coarse_of = {f: sorted(CIFAR100).index(k) for k, v in CIFAR100.items() for f in v.split()}
    out = root / "cifar" / "cifar-100-python"
    for fname, label, n in (("train", "training batch 1 of 1", COUNTS["cifar100"][0]),
                            ("test", "testing batch 1 of 1", COUNTS["cifar100"][1])):
        labels = [int(c) for c in rng.permutation(np.arange(n) % 100)]
        dump_py2({b"filenames": [f"{fine[c]}_s_{int(rng.integers(0, 10**6)):06d}.png".encode() for c in labels],
                  b"batch_label": label.encode(), b"fine_labels": labels,
                  b"coarse_labels": [coarse_of[fine[c]] for c in labels], b"data": cifar_rows(rng, labels, "c100")},
                 out / fname)
    dump_py2({b"fine_label_names": [f.encode() for f in fine],
              b"coarse_label_names": [c.encode() for c in sorted(CIFAR100)]}, out / "meta")
    return 10 * per_class + n_test + sum(COUNTS["cifar100"])


def imagenet_image(rng: np.random.Generator, wnid: str, side: int | None) -> Image.Image:
    """A class image of varied size (or side x side); about 1 in 30 grayscale and 1 in 90 CMYK, as in ImageNet."""
    w, h = (side, side) if side else tuple(int(v) for v in rng.integers(72, 200, 2))
    img = Image.fromarray(texture(proto("imagenet", wnid), rng, w, h))
    if side is None and rng.random() < 1 / 30:
        return img.convert("L")
    return img.convert("CMYK") if side is None and rng.random() < 1 / 90 else img


def write_imagenet(root: Path, folder: str, wnids: list[str], rng: np.random.Generator, per: tuple[int, int],
                   val_ids: Iterator[int], side: int | None = None) -> int:
    """<folder>/train/<wnid>/<wnid>_<n>.JPEG and <folder>/val/<wnid>/ILSVRC2012_val_<8 digits>.JPEG."""
    n = 0
    for wnid in wnids:
        for k in rng.choice(np.arange(1, 13000), per[0], replace=False):
            save(imagenet_image(rng, wnid, side), root / folder / "train" / wnid / f"{wnid}_{k}.JPEG", quality=90)
        for _ in range(per[1]):
            name = f"ILSVRC2012_val_{next(val_ids):08d}.JPEG"
            save(imagenet_image(rng, wnid, side), root / folder / "val" / wnid / name, quality=90)
        n += sum(per)
    return n


def hand(rng: np.random.Generator, gesture: str) -> Image.Image:
    """A 300 x 300 RGBA CGI-like hand on white: a fist, an open palm or two spread fingers."""
    img = Image.new("RGBA", (300, 300), (255, 255, 255, 255))
    d, tone = ImageDraw.Draw(img), tuple(int(v) for v in rng.uniform(90, 240) * np.array([1, 0.78, 0.62])) + (255,)
    cx, cy = rng.normal(150, 15, 2)
    d.rectangle([cx - 35, cy + 40, cx + 35, 300], fill=tone)  # the wrist, from the bottom edge
    if gesture == "rock":
        d.ellipse([cx - 60, cy - 50, cx + 60, cy + 60], fill=tone)
    elif gesture == "paper":
        d.rounded_rectangle([cx - 55, cy - 20, cx + 55, cy + 60], 20, fill=tone)
        for fx in np.linspace(cx - 45, cx + 45, 4):
            d.rounded_rectangle([fx - 10, cy - 110 + rng.normal(0, 6), fx + 10, cy], 10, fill=tone)
    else:
        d.ellipse([cx - 40, cy - 20, cx + 40, cy + 60], fill=tone)
        for dx in (-1, 1):
            d.line([cx + 12 * dx, cy, cx + dx * rng.uniform(45, 80), cy - 120], fill=tone, width=18)
    return img.rotate(float(rng.uniform(-25, 25)), fillcolor=(255, 255, 255, 255))


def write_rps(root: Path, rng: np.random.Generator) -> int:
    """rps/<class>/<class>NN-NNN.png and rps-test-set/<class>/test<class>NN-NN.png."""
    train, test = COUNTS["rps"]
    for g in ("paper", "rock", "scissors"):
        for i in range(train):
            save(hand(rng, g), root / "rps" / g / f"{g}{i // 5 + 1:02d}-{i % 5:03d}.png")
        for i in range(test):
            save(hand(rng, g), root / "rps-test-set" / g / f"test{g}{i // 4 + 1:02d}-{i % 4:02d}.png")
    return 3 * (train + test)


def write_weights(root: Path, seed: int, plain: bool) -> int:
    """weights/<file>: the publisher's model built with random weights; its state dict saved by torch.save."""
    import timm
    import torch
    import torchvision

    for i, (fname, arch) in enumerate(WEIGHTS.items()):
        torch.manual_seed(seed * 1000 + i)
        lib, name = arch.split()
        model = (torchvision.models.get_model(name, weights=None) if lib == "torchvision"
                 else timm.create_model(name, pretrained=False))
        sd = model.state_dict()
        (root / "weights").mkdir(exist_ok=True)
        torch.save(sd if plain or name not in WRAPPED else {WRAPPED[name]: sd}, root / "weights" / fname)
        del model, sd
        gc.collect()
    return len(WEIGHTS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plain-state-dicts", action="store_true", help="save DeiT's file as a bare state dict too")
    ap.add_argument("--no-weights", action="store_true", help="the data sets only (the unit tests' quick tree)")
    args = ap.parse_args(argv)
    target, tmp = args.dir.resolve(), args.dir.resolve().with_name(args.dir.name + ".partial")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        sys.exit(f"error: {target} is not an empty folder; pass a new or empty DIR (or delete it first)")
    if tmp.exists() and not (tmp / ".partial").exists():
        sys.exit(f"error: {tmp} exists and was not left by this script; move it away and rerun")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / ".partial").touch()
    from timm.data import ImageNetInfo  # timm's copy of the ILSVRC-2012 synsets, and of mini-ImageNet's 100
    from importlib.resources import files

    wnids = list(ImageNetInfo("imagenet-1k").label_names())
    mini = (files("timm.data") / "_info" / "mini_imagenet_synsets.txt").read_text().split()
    assert len(wnids) == 1000 and len(mini) == 100 and set(mini) <= set(wnids)
    val_ids = iter(int(v) for v in np.random.default_rng([args.seed, 99]).permutation(np.arange(1, 50001)))
    jobs = [("rmfd, rmfd_afdb", lambda r: write_rmfd(tmp, r)), ("deepweeds", lambda r: write_deepweeds(tmp, r)),
            ("cifar", lambda r: write_cifar(tmp, r)),
            ("imagenet100", lambda r: write_imagenet(tmp, "imagenet100", sorted(mini), r, COUNTS["in100"], val_ids)),
            ("imagenet100_64", lambda r: write_imagenet(tmp, "imagenet100_64", sorted(mini), r, COUNTS["in100"],
                                                        val_ids, side=64)),
            ("imagenet", lambda r: write_imagenet(tmp, "imagenet", wnids, r, COUNTS["in1k"], val_ids)),
            ("rps, rps-test-set", lambda r: write_rps(tmp, r)),
            ("weights", lambda r: write_weights(tmp, args.seed, args.plain_state_dicts))]
    if args.no_weights:
        jobs.pop()
    report = []
    for k, (name, job) in enumerate(jobs):
        t0 = time.time()
        n = job(np.random.default_rng([args.seed, k]))
        report.append(f"{name}: {n} {'files' if name == 'weights' else 'images'}")
        print(f"{report[-1]} ({time.time() - t0:.1f} s)", flush=True)
    (tmp / "INDEPENDENT_TREE.txt").write_text(
        "Written by scripts/independent_data_root.py (seed %d), independently of `cnneff rehearsal-data`.\n"
        "SYNTHETIC: the images are generated textures and the weights random, in the publishers' layouts and\n"
        "key formats; nothing here is the papers' data. Use: make rehearsal DATA_ROOT=<this folder>\n\n%s\n"
        % (args.seed, "\n".join(report)))
    (tmp / ".partial").unlink()
    if target.exists():
        target.rmdir()
    tmp.rename(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
