"""The experiment protocols of cnneff.experiments: paper 000's Table 1 helpers (counts of trained and
untrained networks, the cost of a paired replicate, what a data folder holds) and paper 001's arms
(shared initial weights, the network without shortcuts, MACs below the counter's 32 px)."""
import pandas as pd
import pytest
import torch

from cnneff.counting import count
from cnneff.experiments import se_blocks
from cnneff.experiments.table1 import (class_folder_counts, pruned_name, replicate_cost, row_key, trained_counts,
                                       untrained_counts)


def _rows():
    """A Table 1 of two seeds as Table1.seed_rows writes it (the columns the helpers read)."""
    rows = []
    for seed, scale in ((0, 1.0), (1, 1.1)):
        for name, params, macs, secs in (("Baseline", 20.0, 2800.0, 10.0), ("Pruned 30%", 15.0, 2000.0, 3.0),
                                         ("Pruned 50%", 6.0, 900.0, 2.0), ("Sparse training", 5.0, 800.0, 6.0),
                                         ("Low-reso", 20.0, 700.0, 4.0)):
            rows.append(dict(row=name, seed=seed, count_params_m=params * scale, count_macs_m=macs,
                             seconds=secs, train_macs=1e9 * secs))
    return pd.DataFrame(rows)


def test_row_names_and_keys():
    assert pruned_name(0.3) == "Pruned 30%" and pruned_name(0.29) == "Pruned 29%" and pruned_name(0.7) == "Pruned 70%"
    assert row_key(pruned_name(0.5)) == "pruned_50" and row_key("int8 (ours)") == "int8_ours"


def test_trained_counts_pair_each_row_with_its_seeds_baseline():
    c = trained_counts(_rows())
    assert list(c.index) == ["Baseline", "Pruned 30%", "Pruned 50%", "Sparse training"]  # Low-reso is no count row
    assert c.loc["Pruned 30%", "params_change_pct"] == pytest.approx(-25.0)  # 15/20 in both seeds
    assert c.loc["Sparse training", "macs_change_pct"] == pytest.approx(100 * (800 / 2800 - 1))
    assert c.loc["Baseline", "params_m"] == pytest.approx(21.0) and pd.isna(c.loc["Baseline", "params_change_pct"])


def test_replicate_cost_adds_the_baseline_to_the_arms():
    secs, macs = replicate_cost(_rows(), ["Sparse training", "Pruned 50%"])
    assert secs == [18.0, 18.0] and macs == [18e9, 18e9]
    assert replicate_cost(_rows(), ["Low-reso"])[0] == [14.0, 14.0]


def test_untrained_counts_prune_the_seeded_network():
    c = untrained_counts("mobilenet_v2", 2, [0.5], 0.5, 64, seed=0)
    assert set(c.index) == {"Baseline", "Pruned 50%", "Sparse training"}
    assert c.loc["Pruned 50%", "params_m"] < c.loc["Baseline", "params_m"]
    assert c.loc["Pruned 50%", "macs_change_pct"] == pytest.approx(c.loc["Sparse training", "macs_change_pct"])
    again = untrained_counts("mobilenet_v2", 2, [0.5], 0.5, 64, seed=0)
    assert again.equals(c)  # the seed fixes which channels go


def test_class_folder_counts(tmp_path):
    for cls, persons, per in (("face", 3, 2), ("masked", 2, 1)):
        for p in range(persons):
            d = tmp_path / cls / f"person{p}"
            d.mkdir(parents=True)
            for i in range(per):
                (d / f"{i}.jpg").write_bytes(b"x")
            (d / "notes.txt").write_text("not an image")
    c = class_folder_counts(tmp_path)
    assert c.loc["face", "images"] == 6 and c.loc["face", "persons"] == 3
    assert c.loc["masked", "images"] == 2 and c.loc["masked", "persons"] == 2
    with pytest.raises(FileNotFoundError, match="class folders"):
        class_folder_counts(tmp_path / "face" / "person0")


def test_arms_share_their_initial_weights():
    std = se_blocks.arm_model("standard", 10, seed=3).state_dict()
    se = se_blocks.arm_model("se", 10, seed=3).state_dict()
    assert all(torch.equal(std[k], se[k]) for k in std)  # only the gates are new
    assert any(".se." in k for k in se) and not any(".se." in k for k in std)
    other = se_blocks.arm_model("se", 10, seed=3, shared_init=False).state_dict()
    assert not all(torch.equal(std[k], other[k]) for k in std)
    plain = se_blocks.arm_model("plain", 10, seed=3)
    assert all(torch.equal(std[k], v) for k, v in plain.state_dict().items())
    assert not any(b.identity for b in plain.blocks)
    with pytest.raises(ValueError, match="unknown arm"):
        se_blocks.arm_model("resnet", 10, seed=0)


def test_forward_macs_below_the_counters_side():
    net = se_blocks.arm_model("standard", 10, seed=0)
    assert se_blocks.forward_macs(net, 32) == count(net, 32).macs
    assert se_blocks.forward_macs(net, 16) == pytest.approx(count(net, 32).macs / 4)


def test_run_arms_alternates_and_records_costs():
    from types import SimpleNamespace

    from helpers.tiny import tiny_data

    from cnneff.train import TrainConfig

    d = tiny_data(n_train=16, n_val=8, n_test=8, size=16)
    splits = SimpleNamespace(train=d.train, val=d.val, test=d.test, num_classes=2, image_size=16)
    cfg = TrainConfig(epochs=1, batch_size=8, image_size=16, augment=False, device="cpu", progress=False)
    runs, hist = se_blocks.run_arms(["standard", "plain"], [0, 1], splits, cfg)
    assert runs["block"].tolist() == ["standard", "plain", "plain", "standard"]  # the order alternates by seed
    assert len(hist) == 4 and (runs["seconds"] > 0).all()
    assert runs["train_macs"].iloc[0] == pytest.approx(se_blocks.forward_macs(
        se_blocks.arm_model("standard", 2, 0), 16) * 16 * 3)


def _embedded(name):
    """The parameters of the gpu profile's embedded evidence run of ``name`` (no DATA_ROOT)."""
    import yaml

    from cnneff.paths import PARAMS
    from cnneff.runner.params import notebook_parameters

    out = dict(notebook_parameters(name))
    values = yaml.safe_load((PARAMS / "gpu" / f"{name}.yaml").read_text())
    values.pop("paper_data")
    for k, v in {**values, **values.pop("embedded")}.items():
        out[k] = {**out[k], **v} if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def test_the_evidence_runs_of_papers_000_and_001_fit_their_gpu_share():
    """The embedded runs decide with ten seeds or more and, by the plan's estimate, take at most
    2.5 GPU-minutes together; the paper-scale runs price every arm."""
    from cnneff.plan import gpu_minutes, notebook_jobs, paper_parameters

    names = ("make_efficientnetv2_more_efficient", "simplified_efficientnet")
    runs = {n: _embedded(n) for n in names}
    assert all(len(p["seeds"]) >= 10 for p in runs.values())
    assert sum(gpu_minutes(j) for n in names for j in notebook_jobs(n, runs[n])) <= 2.5
    jobs = notebook_jobs("simplified_efficientnet", paper_parameters("simplified_efficientnet"))
    assert {j.what.split()[0] for j in jobs} == {"standard", "se", "condconv", "plain"}
    assert sum(gpu_minutes(j) for j in notebook_jobs(names[0], paper_parameters(names[0]))) > 60 * 24  # V2-S, 300 px
