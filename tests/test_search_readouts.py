"""Paper 004's readings of a trained sweep (cnneff.search.readouts, pairs), registry models in a sweep
(Table 2's ResNets), Table 3's trained rows (cnneff.search.table3) and the weight files its rows name."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from cnneff import search
from cnneff.claims import paper_table
from cnneff.data import ImageSet, Splits


def _results(rows):
    base = dict(kind="random", label="", r=1.0, w=1.0, d=1.0, seconds=2.0, train_macs=1e6, train_images=100,
                epochs=3, seed=0, val_curve=None)
    return pd.DataFrame([{**base, **r} for r in rows])


def test_repeat_specs_and_common_seeds():
    specs = pd.DataFrame([dict(id="bm1", kind="inverse giant", label="B^-1", r=0.8, w=0.9, d=0.8)])
    rep = search.repeat_specs(specs, [1, 2])
    assert rep["id"].tolist() == ["bm1_seed1", "bm1_seed2"] and rep["seed"].tolist() == [1, 2]
    assert rep["kind"].eq("inverse giant (seed)").all() and rep["label"].iloc[0] == "B^-1, seed 1"
    assert search.repeat_specs(specs, []).empty
    res = _results([dict(id="a", accuracy=0.5), dict(id="a_seed1", accuracy=0.6, seed=1),
                    dict(id="a_seed2", accuracy=0.7, seed=2), dict(id="b", accuracy=0.4),
                    dict(id="b_seed2", accuracy=0.3, seed=2)])
    assert search.on_common_seeds(res, "a", "b") == ([0.5, 0.7], [0.4, 0.3])
    assert search.on_common_seeds(res, "a", "b", seeds=[2]) == ([0.7], [0.3])
    assert search.on_common_seeds(res, "a", "b", seeds=[1]) == ([], [])


def test_front_gap_and_best_under():
    sweep = _results([dict(id="s0", macs=100, accuracy=0.60), dict(id="s1", macs=200, accuracy=0.70),
                      dict(id="s2", macs=400, accuracy=0.65)])
    giants = _results([dict(id="bm1", macs=250, accuracy=0.62), dict(id="bm1_seed1", macs=250, accuracy=0.66, seed=1),
                       dict(id="bm2", macs=120, accuracy=0.55), dict(id="bm3", macs=50, accuracy=0.5)])
    gap, table = search.front_gap(sweep, giants)
    by = table.set_index("id")
    assert by.loc["bm1", "front"] == 0.70 and by.loc["bm1", "giant"] == pytest.approx(0.64)  # mean of the seeds
    assert by.loc["bm2", "gap"] == pytest.approx(0.05) and math.isnan(by.loc["bm3", "front"])  # nothing that cheap
    assert gap == pytest.approx((0.06 + 0.05) / 2)
    assert search.best_under(sweep, 399)["id"] == "s1" and search.best_under(sweep, 99) is None


def test_around_readouts_read_figure_2():
    rng = np.random.default_rng(0)
    r = np.linspace(0.4, 2.4, 24)
    acc = 0.7 - 0.1 * (r - 1.1) ** 2 + rng.normal(0, 0.005, len(r))  # best near r = 1.1, falling on both sides
    around = pd.DataFrame(dict(r=r, d=rng.uniform(0.5, 2, len(r)), w=np.sqrt(0.5 / r ** 2), accuracy=acc))
    out = search.around_readouts(around)
    assert 0.8 <= out["around_best_r"] <= 1.4
    assert out["around_rho_acc_r_below_08"]["ci_low"] > 0  # rising below 0.8
    assert out["around_acc_mid_r_minus_high_r"]["ci_low"] > 0  # dropping above 1.4
    assert 0 < out["around_top_share_w_below_1"] <= 1 and out["around_top_d_span"] >= 0
    assert {"effect", "ci_low", "ci_high", "n", "method"} <= set(out["around_neg_rho_acc_w"])
    assert search.around_readouts(around.iloc[:2]) == {}


def test_min_epoch_gap_and_replicate_costs():
    res = _results([dict(id="ours_E", accuracy=0.7, val_curve=[0.6, 0.7, 0.75]),
                    dict(id="ours_E_seed1", seed=1, accuracy=0.7, val_curve=[0.5, 0.7, 0.7]),
                    dict(id="bm4", accuracy=0.6, val_curve=[0.55, 0.6, 0.7], seconds=3.0),
                    dict(id="bm4_seed1", seed=1, accuracy=0.6, val_curve=[0.52, 0.6, 0.6], seconds=3.0)])
    gap = search.min_epoch_gap(res, "ours_E", "bm4")
    assert gap["per_seed"] == pytest.approx([0.05, -0.02]) and gap["n"] == 2
    assert gap["effect"] == pytest.approx(0.015)
    assert search.min_epoch_gap(res, "ours_E", "nothing")["n"] == 0
    seconds, macs = search.replicate_costs(res, [("ours_E", "bm4")])
    assert seconds == [5.0, 5.0] and macs == pytest.approx(2 * 1e6 * 100 * 3 * 3)
    none, nan = search.replicate_costs(res, [("x", "y")])
    assert none == [] and math.isnan(nan)


def test_signal_over_noise():
    out = search.signal_over_noise([0.6, 0.7, 0.8, 0.9], 0.02)
    assert out["ratio"] > 1 and 0 < out["icc"] <= 1
    assert search.signal_over_noise([0.70, 0.71, 0.69], 0.05)["between_sd"] == 0.0  # noise explains it all
    assert math.isnan(search.signal_over_noise([0.7, 0.8], float("nan"))["ratio"])


def _tiny_splits(classes=2, n=64, size=24):
    g = torch.Generator().manual_seed(0)

    def make(k):
        y = torch.arange(k) % classes
        x = (torch.rand(k, 1, size, size, generator=g) * 60 + 100 * y.view(-1, 1, 1, 1)).to(torch.uint8)
        return ImageSet(x, y, [f"c{i}" for i in range(classes)])

    return Splits("tiny", make(n), make(16), make(16), [f"c{i}" for i in range(classes)], 1, size)


def test_a_registry_model_trains_in_a_sweep_with_its_val_curve(tmp_path):
    specs = pd.DataFrame([dict(id="resnet18", kind="ResNet", label="ResNet-18", builder="torchvision:resnet18",
                               r=1.0, w=1.0, d=1.0), dict(id="t0", kind="random", r=0.5, w=0.35, d=0.35)])
    res = search.run_sweep(specs, tmp_path, _tiny_splits(), base_resolution=16, backend="local",
                           train=dict(epochs=2, batch_size=32, bn_recalibration_batches=1), costs=search.PAPER_SCALE)
    by = res.set_index("id")
    assert by.loc["resnet18", "builder"] == "torchvision:resnet18" and by.loc["t0", "builder"] == ""
    assert by.loc["resnet18", "macs"] > 1e9 and by.loc["resnet18", "params"] > 1e7  # counted at 224 px, 1000 classes
    assert by.loc["resnet18", "train_macs"] < by.loc["resnet18", "macs"] / 100  # trained at 16 px, 2 classes
    assert len(by.loc["t0", "val_curve"]) == 2 and by.loc["t0", "train_images"] == 64
    again = search.run_sweep(specs, tmp_path, _tiny_splits(), base_resolution=16, backend="local",
                             train=dict(epochs=2, batch_size=32, bn_recalibration_batches=1), costs=search.PAPER_SCALE)
    assert not again["trained_now"].any()  # a registry model resumes like a twist


def test_train_and_score_wants_the_1000_classes():
    from cnneff.train import TrainConfig

    with pytest.raises(ValueError, match="1,000 ImageNet-1k classes"):
        search.train_and_score("tinynet_e", 16, _tiny_splits(), TrainConfig.preset("tinynet_imagenet"), "x")


def test_table3_trained_row_end_to_end(tmp_path, monkeypatch):
    """A row without published weights: trained on ImageNet-1k's train/ and scored on val/ like a weight file."""
    from cnneff import data
    from cnneff.rehearsal.layouts import write_imagenet_train, write_imagenet_val
    from cnneff.train import TrainConfig

    monkeypatch.setenv("CNNEFF_CACHE", str(tmp_path / "cache"))
    write_imagenet_val(tmp_path)
    write_imagenet_train(tmp_path)
    splits = data.load(f"folder:{tmp_path}/imagenet", image_size=24, subset=1000, seed=0)
    out = search.train_and_score("timm:mobilenetv3_small_050", 24, splits, TrainConfig.preset("tinynet_imagenet"),
                                 f"imagenet-val:{tmp_path}/imagenet", limit=20, batch_size=20)
    assert out["n"] == 20 and 0 <= out["top1"] <= out["top5"] <= 1 and out["image_size"] == 24
    assert out["epochs"] == 1 and out["train_images"] == len(splits.train) and out["mapping"] == "by name"


def test_every_table3_weight_file_is_listed_and_loads_into_its_row():
    from cnneff.imagenet import load_published_weights
    from cnneff.models import build_model
    from cnneff.rehearsal import WEIGHT_FILES
    from cnneff.rehearsal.weights import publisher_model

    files = {w.path: w for w in WEIGHT_FILES}
    rows = paper_table("tinynet_table3_all")
    named = rows.dropna(subset=["weights"])
    assert len(named) == 14 and set(named["weights"]) <= set(files)
    for _, row in named.iterrows():
        w = files[row["weights"]]
        assert w.model == row["builder"], (row["key"], w.model)
        path = f"/tmp/cnneff-test-{row['key']}.pth"
        torch.save(publisher_model(w).state_dict(), path)
        try:
            assert load_published_weights(build_model(row["builder"]), path)["mapping"] in ("by name", "by position")
        finally:
            import os

            os.remove(path)


def test_the_plan_prices_the_full_runs():
    from cnneff.plan import gpu_minutes, notebook_jobs, paper_parameters

    tables = notebook_jobs("tinynet_tables", paper_parameters("tinynet_tables"))
    trained = [j for j in tables if j.what.endswith("trained on ImageNet-1k")]
    scored = [j for j in tables if "published weights" in j.what]
    assert len(trained) == 15 and len(scored) == 14
    assert sum(gpu_minutes(j) for j in trained) > 60 * 24  # 450 epochs of ImageNet-1k per row: days of GPU time
    cube = notebook_jobs("tinynet_rubiks_cube", paper_parameters("tinynet_rubiks_cube"))
    assert any(j.what.startswith("Table 2: resnet50") for j in cube)
    assert sum(gpu_minutes(j) for j in cube) > 60  # 100 twists x 100 epochs of ImageNet-100


def test_seed_spread_pools_only_the_repeated_models():
    res = _results([dict(id="s000", accuracy=0.6), dict(id="s000_seed1", seed=1, accuracy=0.64),
                    dict(id="s001", accuracy=0.9), dict(id="s002", accuracy=0.5)])
    sd, n = search.seed_spread(res, r"s\d{3}")
    assert n == 1 and sd == pytest.approx(np.std([0.6, 0.64], ddof=1))
    assert search.seed_spread(res.iloc[2:], r"s\d{3}") == (pytest.approx(math.nan, nan_ok=True), 0)
