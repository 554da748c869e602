"""Papers 002/003's experiment helpers: cnneff.experiments.foray (families trained per seed, their
costs, the transfer arms, the over-fitting interval) and cnneff.experiments.published (the weight
table's files, ImageNet top-1 of published weights), and the Lite0/1/2 registry rows."""
import pandas as pd
import pytest
import torch

from cnneff.data import ImageSet, Splits
from cnneff.experiments.foray import (TransferArms, family_metrics, phase_gain_interval, replicate_metrics,
                                      scaled_sides, seeded_head, train_family)
from cnneff.experiments.published import evaluate_published, pretrained_weights, weight_file
from cnneff.models import build_model, native_image_size
from cnneff.train import TrainConfig


def _splits(n=48, size=32, seed=0) -> Splits:
    """Two learnable classes (bright with a stripe vs dark), stored at ``size`` px."""
    g = torch.Generator().manual_seed(seed)

    def part(k):
        y = torch.arange(k) % 2
        x = (torch.rand(k, 3, size, size, generator=g) * 90 + y[:, None, None, None] * 120).to(torch.uint8)
        return ImageSet(x, y, ["dark", "bright"])
    return Splits("tiny", part(n), part(16), part(16), ["dark", "bright"], 3, size)


def test_scaled_sides_keep_the_native_ratios():
    assert scaled_sides(["efficientnet_b0", "efficientnet_b1", "efficientnet_b2"], 32) == {
        "efficientnet_b0": 32, "efficientnet_b1": 34, "efficientnet_b2": 37}
    assert scaled_sides(["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"], 224) == {
        "efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}
    assert scaled_sides(["efficientnet_b0", "efficientnet_b2"], 0, {"efficientnet_b0": 150, "efficientnet_b2": 300}) \
        == {"efficientnet_b0": 150, "efficientnet_b2": 300}


@pytest.mark.parametrize("name,side", [("efficientnet_lite1", 240), ("efficientnet_lite2", 260)])
def test_lite1_and_lite2_imagenet_weights_see_a_cat(name, side):
    import torch.nn.functional as F
    from skimage import data

    assert native_image_size(name) == side
    m = build_model(name, pretrained=True).eval()
    img = torch.from_numpy(data.chelsea()).permute(2, 0, 1).float()[None] / 255
    x = (F.interpolate(img, size=(side, side), mode="bilinear", antialias=True) - 0.5) / 0.5
    with torch.no_grad():
        assert 281 <= m(x).argmax(1).item() <= 285  # ImageNet cat classes (tabby .. Egyptian cat)


def test_seeded_heads_are_common_random_numbers():
    a, b = build_model("efficientnet_lite0", num_classes=10), build_model("efficientnet_lite2", num_classes=10)
    seeded_head(a, 3), seeded_head(b, 3)
    assert torch.equal(a.classifier.weight, b.classifier.weight) and torch.equal(a.classifier.bias, b.classifier.bias)
    state = torch.random.get_rng_state()
    seeded_head(a, 4)
    assert not torch.equal(a.classifier.weight, b.classifier.weight)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is left as it was


def test_train_family_rotates_the_first_member_and_costs_each_seed():
    data = _splits()
    sides = {"mobilenet_v2": 32, "efficientnet_b0": 32}
    cfg = TrainConfig(epochs=1, batch_size=16, lr=0.01, progress=False, device="cpu", augment=False)
    rows, hist, reps = train_family(sides, {32: data}, cfg, [0, 1], pretrained=False)
    assert rows[["seed", "model"]].values.tolist() == [[0, "mobilenet_v2"], [0, "efficientnet_b0"],
                                                       [1, "mobilenet_v2"], [1, "efficientnet_b0"]]
    assert set(hist) == {(m, s) for m in sides for s in (0, 1)}
    assert (rows["n_test"] == 16).all() and rows["train_macs"].gt(0).all()
    assert reps["seed"].tolist() == [0, 1] and (reps["seconds"] >= rows.groupby("seed")["train_seconds"].sum().values).all()
    assert reps["train_macs"].tolist() == pytest.approx(rows.groupby("seed")["train_macs"].sum().tolist())
    m = family_metrics(rows, hist, {"mobilenet_v2": "scratch_mobilenetv2", "efficientnet_b0": "scratch_b0"})
    assert len(m["scratch_b0_test_acc"]) == 2 and len(m["scratch_b0_epoch_seconds"]) == 2
    cost = replicate_metrics("scaling", reps)
    assert set(cost) == {"scaling_seed_seconds", "scaling_seed_macs"} and len(cost["scaling_seed_macs"]) == 2


def test_phase_gain_interval_is_training_minus_validation_gain():
    h = lambda tr, va: pd.DataFrame({"train_accuracy": [0.1, tr], "val_accuracy": [0.1, va]})  # noqa: E731
    before = {s: h(0.80, 0.70) for s in range(3)}
    after = {0: h(0.90, 0.70), 1: h(0.92, 0.71), 2: h(0.88, 0.70)}
    d = phase_gain_interval(before, after)
    assert d["n"] == 3 and d["effect"] == pytest.approx((0.10 + 0.11 + 0.08) / 3)
    assert d["ci_low"] > 0 and d["method"].endswith("train minus validation accuracy gain")
    one = phase_gain_interval({0: before[0]}, {0: after[0]})
    assert one["n"] == 1 and one["ci_low"] is None


def test_transfer_arms_run_every_setting_from_the_same_start(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "mobilenet_v2.pth"
    torch.save(build_model("mobilenet_v2").state_dict(), path)
    cfg = TrainConfig(epochs=1, batch_size=16, optimizer="rmsprop", lr=1e-3, schedule="constant", progress=False,
                      device="cpu", augment=False)
    arms = TransferArms(_splits(), "mobilenet_v2", str(path), {k: cfg for k in ("(a)", "(b)", "(c)", "(d)")}, 32,
                        unfreeze_units=2)
    arms.seed("ImageNet", 0, first=1)  # (b) first, then (d), then (a) with (c) after it
    settings = [r["setting"] for r in arms.rows]
    assert settings == ["(b) everything unfrozen", "(d) frozen backbone, SGD", "(a) frozen backbone",
                        "(c) + last 2 units"]
    rows = {r["setting"][:3]: r for r in arms.rows}
    assert rows["(a)"]["trainable_params"] == rows["(d)"]["trainable_params"] < rows["(c)"]["trainable_params"]
    assert rows["(c)"]["epochs"] == 2  # it continues from (a)'s epoch
    assert arms.histories[("ImageNet", "(c) + last 2 units", 0)]["epoch"].tolist() == [2]
    arms.seed("random", 1)
    assert [r["setting"] for r in arms.rows[4:]] == ["(a) frozen backbone", "(b) everything unfrozen"]


def test_published_weights_are_checked_before_any_work(tmp_path):
    assert pretrained_weights(["efficientnet_lite0", "efficientnet_lite2"], "") == {
        "efficientnet_lite0": "", "efficientnet_lite2": ""}
    with pytest.raises(FileNotFoundError, match="set weights_root") as e:
        pretrained_weights(["efficientnet_lite1", "efficientnet_b1"], "")
    assert "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="efficientnet_b1_rwightman-bac287d4.pth does not exist"):
        weight_file("efficientnet_b1", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no published ImageNet weights of simplified_efficientnet"):
        weight_file("simplified_efficientnet", str(tmp_path))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "efficientnet_b1_rwightman-bac287d4.pth").write_bytes(b"")
    assert pretrained_weights(["efficientnet_b1"], str(tmp_path)) == {
        "efficientnet_b1": str(tmp_path / "weights" / "efficientnet_b1_rwightman-bac287d4.pth")}


def test_evaluate_published_on_a_rehearsal_val_folder(tmp_path):
    from cnneff.rehearsal.layouts import write_imagenet_val

    write_imagenet_val(tmp_path, 0)
    (tmp_path / "weights").mkdir()
    torch.manual_seed(0)
    torch.save(build_model("mobilenet_v2").state_dict(), tmp_path / "weights" / "mobilenet_v2-b0353104.pth")
    t = evaluate_published({"MobileNetV2": "mobilenet_v2"}, str(tmp_path), f"imagenet-val:{tmp_path}/imagenet",
                           image_size=64, limit=8, device="cpu", batch_size=8)
    row = t.loc["MobileNetV2"]
    assert row["n"] == 8 and 0 <= row["top1"] <= 100 and row["top1_low"] <= row["top1"] <= row["top1_high"]
    assert row["image_size"] == 64 and row["published_top1"] == pytest.approx(71.878)
    assert row["weights"] == "mobilenet_v2-b0353104.pth"
