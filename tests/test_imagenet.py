"""cnneff.imagenet: published ImageNet weights (torchvision and timm formats, random stand-ins from the
rehearsal writer) evaluated on the rehearsal ImageNet-1k val tree through the publisher's transform."""
import argparse
import json
import math

import pytest
import torch

from cnneff.imagenet import _torch_transform, add_evaluate_parser, evaluate_imagenet, key_style, \
    load_published_weights, publisher_transform, read_state_dict
from cnneff.models import build_model
from cnneff.rehearsal.layouts import write_imagenet_val
from cnneff.rehearsal.weights import write_weights
from cnneff.stats import binomial_interval


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A DATA_ROOT with the rehearsal ImageNet val folder and the random weight files."""
    r = tmp_path_factory.mktemp("data_root")
    write_imagenet_val(r, 0)
    write_weights(r, 0)
    return r


def _check(r, n):
    assert r["n"] == n
    for k in ("top1", "top5"):
        low, high = r[f"{k}_interval"]
        assert 0 <= low <= r[k] <= high <= 1
        wilson = binomial_interval(r[k], n)
        assert r[f"{k}_interval"] == pytest.approx([wilson.low, wilson.high])
    assert r["top1"] <= r["top5"] <= 0.2  # random weights: near chance (1/1000, 5/1000)
    assert r["seconds"] > 0 and r["images_per_second"] > 0


def test_torchvision_format_weights(root):
    r = evaluate_imagenet("mobilenet_v2", root / "weights/mobilenet_v2-b0353104.pth", f"imagenet-val:{root}/imagenet",
                          limit=40, device="cpu")
    _check(r, 40)
    assert (r["format"], r["mapping"]) == ("torchvision", "by name")
    assert (r["image_size"], r["resize_size"], r["interpolation"]) == (224, 256, "bilinear")
    assert r["mean"] == [0.485, 0.456, 0.406] and r["transform"].endswith("IMAGENET1K_V1")
    assert r["published"] == pytest.approx({"top1": 0.71878, "top5": 0.90286})
    json.dumps(r)  # the result is plain JSON


def test_timm_format_weights(root):
    r = evaluate_imagenet("tinynet_e", str(root / "weights/tinynet_e.pth"), f"{root}/imagenet", limit=60,
                          device="cpu", batch_size=16)
    _check(r, 60)
    assert (r["format"], r["mapping"]) == ("timm", "by name")
    assert (r["image_size"], r["resize_size"], r["interpolation"]) == (106, 121, "bicubic")  # crop_pct 0.875
    assert r["published"] is None and r["transform"] == "timm tinynet_e.in1k"


def test_timm_keys_load_by_position_into_torchvisions_network(root):
    """timm's EfficientNet-B0 file in torchvision's B0: the same logits as timm's own network."""
    import timm

    path = root / "weights/efficientnet_b0_ra-3dd342df.pth"
    ours = build_model("efficientnet_b0")
    assert load_published_weights(ours, path) == {"format": "timm", "mapping": "by position"}
    theirs = timm.create_model("efficientnet_b0", pretrained=False)
    theirs.load_state_dict(torch.load(path, weights_only=True))
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), theirs.eval()(x), atol=1e-5)
    t = publisher_transform("efficientnet_b0", ours, path)
    assert (t.crop, t.resize, t.interpolation, t.source) == (224, 256, "bicubic", "timm efficientnet_b0.ra_in1k")
    t = publisher_transform("efficientnet_b0", ours, root / "weights/efficientnet_b0_rwightman-7f5810bc.pth")
    assert t.published == pytest.approx({"top1": 0.77692, "top5": 0.93532})


def test_a_file_that_fits_neither_is_refused_with_one_line(tmp_path):
    import torchvision

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match="fits mobilenet_v2 neither by name nor by position") as e:
        load_published_weights(build_model("mobilenet_v2"), path)
    assert "\n" not in str(e.value)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="not a state dict of tensors"):
        read_state_dict(tmp_path / "list.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable state dict"):
        read_state_dict(tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_state_dict(tmp_path / "missing.pth")


def test_wrapped_and_ddp_files_load(root, tmp_path):
    sd = torch.load(root / "weights/tinynet_e.pth", weights_only=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}, tmp_path / "ckpt.pth")
    assert set(read_state_dict(tmp_path / "ckpt.pth")) == set(sd)
    assert key_style(sd) == "timm" and key_style(build_model("mobilenet_v2").state_dict()) == "torchvision"
    assert key_style(["_conv_stem.weight", "_blocks.0.x"]) == "efficientnet-pytorch" and key_style(["a"]) == "unknown"


def test_the_transform_is_torchvisions_own():
    import torchvision
    from PIL import Image

    im = Image.fromarray(torch.randint(0, 256, (61, 83, 3), dtype=torch.uint8).numpy())
    t = publisher_transform("mobilenet_v2", build_model("mobilenet_v2"), "mobilenet_v2-b0353104.pth")
    ref = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
    assert torch.allclose(_torch_transform(t)(im), ref(im), atol=1e-5)


def test_lite0_keeps_its_own_normalization_and_sizes_scale():
    lite = build_model("efficientnet_lite0")
    t = publisher_transform("efficientnet_lite0", lite)
    assert (t.mean, t.std, t.crop, t.interpolation) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 224, "bicubic")
    t = publisher_transform("mobilenet_v2", build_model("mobilenet_v2"), "x.pth", image_size=160)
    assert (t.crop, t.resize) == (160, math.floor(160 * 256 / 224)) and t.published is None
    t = publisher_transform("simplified_efficientnet", build_model("simplified_efficientnet"))
    assert t.source == "native side, crop 0.875"


def test_evaluate_refuses_data_that_is_not_imagenet(root, tmp_path):
    from PIL import Image

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8)).save(tmp_path / c / f"{i}.png")
    w = root / "weights/tinynet_e.pth"
    with pytest.raises(ValueError, match="imagenet-val:PATH"):
        evaluate_imagenet("tinynet_e", w, f"folder:{tmp_path}")
    from cnneff import data

    with pytest.raises(ValueError, match="2 classes"):
        evaluate_imagenet("tinynet_e", w, data.load(f"folder:{tmp_path}", stream=True, image_size=8))
    with pytest.raises(TypeError, match="image files are needed"):
        evaluate_imagenet("tinynet_e", w, data.load(f"folder:{tmp_path}", image_size=8))
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_imagenet("tinynet_e", w, f"{root}/imagenet", limit=0)


def test_the_command(root, capsys):
    p = argparse.ArgumentParser()
    add_evaluate_parser(p.add_subparsers(dest="command"))
    base = ["evaluate", "tinynet_e", "--weights", str(root / "weights/tinynet_e.pth"),
            "--data", f"imagenet-val:{root}/imagenet", "--limit", "20", "--device", "cpu"]
    args = p.parse_args(base + ["--json"])
    assert args.func(args) == 0
    r = json.loads(capsys.readouterr().out)
    _check(r, 20)
    args = p.parse_args(base)
    assert args.func(args) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("tinynet_e + tinynet_e.pth (timm keys, by name): top-1 ")
    args = p.parse_args(["evaluate", "tinynet_e", "--weights", str(root / "nope.pth"), "--data", "x"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        args.func(args)
