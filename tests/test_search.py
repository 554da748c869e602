"""cnneff.search: costs, sampling, Pareto selection, tiny formula, sweeps (local and on Ray)."""
import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from cnneff import search
from cnneff.counting import count
from cnneff.data import ImageSet, Splits
from cnneff.models import tinynet_rwd, twisted_b0


# ---------------------------------------------------------------- costs
@pytest.mark.parametrize("r,w,d,base,classes,chans", [
    (1.0, 1.0, 1.0, 224, 1000, 3), (0.86, 1.0, 1.2, 224, 1000, 3), (0.475, 0.51, 0.6, 224, 1000, 3),
    (1.6, 2.68, 0.7, 64, 100, 1), (0.85, 0.99, 2.19, 48, 10, 1), (2.75, 0.4, 2.1, 32, 10, 3),
])
def test_twist_costs_equal_the_counter(r, w, d, base, classes, chans):
    side = search.image_side(r, base)
    ours = search.twist_costs(r, w, d, base, classes, chans)
    assert ours == count(twisted_b0(r, w, d, num_classes=classes, in_chans=chans), side, in_chans=chans)


def test_twist_costs_below_32_pixels_match_a_forward_pass():
    from torch.utils.flop_counter import FlopCounterMode

    m = twisted_b0(0.4, 0.8, 1.3, num_classes=10, in_chans=1).eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        m(torch.zeros(1, 1, 12, 12))
    assert search.twist_costs(0.4, 0.8, 1.3, 30, 10, 1).macs == fc.get_total_flops() // 2  # int(30 * 0.4) = 12


def test_image_side_is_timms():
    assert search.image_side(0.86) == 192 == twisted_b0(0.86, 1.0, 1.2).image_size
    assert search.image_side(0.35, 32) == 11


# ---------------------------------------------------------------- sampling and tuning
def test_sample_random_is_seeded_and_bounded():
    a = search.sample_random(12, seed=3)
    b = search.sample_random(12, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a[["r", "w", "d"]].equals(search.sample_random(12, seed=4)[["r", "w", "d"]])
    assert a[["r", "w", "d"]].stack().between(*search.RANGE).all()
    assert a["c"].between(*search.MAC_BOUNDS).all()
    assert list(a["id"]) == [f"s{i:03d}" for i in range(12)]


def test_sample_around_hits_the_target():
    a = search.sample_around(5, 0.5, seed=1)
    assert ((a["c"] / 0.5 - 1).abs() <= 0.03).all()
    assert a["w"].between(*search.RANGE).all()


def test_solvers():
    w = search.solve_multiplier(0.5, "w")
    assert w["within"] and w["status"] == "ok" and w["r"] == w["d"] == 1.0 and w["w"] < 1
    under = search.solve_multiplier(0.25, "d")  # B0 at one block per stage still costs ~0.45 C0 (paper: 173M)
    assert under["status"] == "underflow" and 0.4 < under["c"] < 0.5
    g = search.inverse_giant_at(0.5)
    assert g["within"] and 1.0 < g["phi"] < 1.5
    t = search.tuned_width(0.25, *tinynet_rwd()["c"][::2])  # the paper's TinyNet-C (r, d), width re-tuned
    assert t["within"] and abs(t["w"] - tinynet_rwd()["c"][1]) < 0.05


# ---------------------------------------------------------------- Pareto and non-dominated sorting
def test_nondominated_sort_by_hand():
    # minimize both: (1,5) (2,2) (5,1) are mutually non-dominated; (3,3) is dominated by (2,2);
    # (4,4) by (3,3); (2,2) twice: equal points share a front.
    f = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [4, 4], [2, 2]])
    assert search.nondominated_sort(f).tolist() == [0, 0, 0, 1, 2, 0]


def test_pareto_front_accuracy_up_cost_down():
    acc = [0.5, 0.6, 0.55, 0.7, 0.65]
    macs = [10, 20, 25, 40, 50]
    assert search.pareto_front(acc, macs).tolist() == [True, True, False, True, False]


def test_crowding_distance_and_select_top():
    f = np.array([[0, 4], [1, 2], [2, 1.5], [4, 0]], dtype=float)
    cd = search.crowding_distance(f)
    assert np.isinf(cd[[0, 3]]).all() and np.isfinite(cd[[1, 2]]).all()
    rng = np.random.default_rng(0)
    df = pd.DataFrame(dict(accuracy=rng.uniform(0, 1, 40), macs=rng.uniform(1, 100, 40)))
    out = search.select_top(df, 0.2)
    assert out["selected"].sum() == 8
    assert out.loc[out["selected"], "front"].max() <= out.loc[~out["selected"], "front"].min()
    front = out["front"] == 0
    assert front.sum() > 8 or out.loc[front, "selected"].all()  # the Pareto front comes first


def test_spearman_table():
    df = pd.DataFrame(dict(r=[1, 2, 3, 4], d=[4, 3, 2, 1], w=[1, 3, 2, 4], macs=[10, 20, 30, 40]))
    t = search.spearman_table(df).set_index("dimension")["spearman"]
    assert t["r"] == pytest.approx(1.0) and t["d"] == pytest.approx(-1.0) and t["w"] == pytest.approx(0.8)


# ---------------------------------------------------------------- tiny formula
def test_gp_tiny_formula_recovers_synthetic_curves():
    rng = np.random.default_rng(0)
    c = rng.uniform(0.05, 1.0, 25)
    r = 0.5 + 0.4 * np.sqrt(c) + rng.normal(0, 0.01, c.size)
    d = 0.5 + 0.6 * c + rng.normal(0, 0.01, c.size)
    f = search.fit_tiny_formula(c, r, d)
    p = f.predict([0.25, 0.5])
    assert np.allclose(p["r"], 0.5 + 0.4 * np.sqrt([0.25, 0.5]), atol=0.03)
    assert np.allclose(p["d"], 0.5 + 0.6 * np.array([0.25, 0.5]), atol=0.03)
    assert np.allclose(p["w"], np.sqrt(p["c"] / (p["r"] ** 2 * p["d"])))
    assert (p["r_std"] > 0).all()
    nets = search.derive_tinynets(f)
    assert list(nets["name"]) == list("ABCDE")
    assert ((nets["c_actual"] / nets["c"] - 1).abs() <= 0.07).all()  # channels come in steps of 8


def test_held_out_error_small_on_a_curve_large_on_noise():
    rng = np.random.default_rng(1)
    c = np.sort(rng.uniform(0.05, 1.0, 12))
    smooth = search.held_out_error(c, 0.5 + 0.4 * np.sqrt(c), 0.5 + 0.6 * c)
    assert list(smooth.columns) == ["c", "r", "r_pred", "r_error", "d", "d_pred", "d_error"] and len(smooth) == 12
    assert np.allclose(smooth["r_error"], smooth["r_pred"] - smooth["r"])
    assert smooth["r_error"].abs().median() < 0.03 and smooth["d_error"].abs().median() < 0.03
    noise = search.held_out_error(c, rng.uniform(0.35, 2.8, 12), rng.uniform(0.35, 2.8, 12))
    assert noise["r_error"].abs().median() > 0.2 and noise["d_error"].abs().median() > 0.2
    with pytest.raises(ValueError, match="at least three points"):
        search.held_out_error(c[:2], c[:2], c[:2])


# ---------------------------------------------------------------- sweeps
def _tiny_splits(n_train=64, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.randint(0, 2, (n,), generator=g)
        x = (torch.rand(n, 1, size, size, generator=g) * 90 + y[:, None, None, None] * 120).to(torch.uint8)
        return ImageSet(x, y, ["dark", "bright"])

    return Splits("tiny-synthetic", make(n_train), make(32), make(32), ["dark", "bright"], 1, size)


SPECS = pd.DataFrame([dict(id=f"t{i}", r=0.5, w=w, d=0.35, kind="test") for i, w in enumerate((0.35, 0.4, 0.5, 0.6))])
TRAIN = dict(epochs=1, batch_size=32, bn_recalibration_batches=1)


def test_sweep_writes_files_and_resumes(tmp_path):
    data = _tiny_splits()
    kw = dict(base_resolution=32, train=TRAIN, backend="local")
    first = search.run_sweep(SPECS.iloc[:3], tmp_path, data, **kw)
    assert first["trained_now"].all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t0.json", "t1.json", "t2.json"]
    rec = json.loads((tmp_path / "t1.json").read_text())
    assert {"r", "w", "d", "params", "macs", "accuracy", "seconds", "fingerprint"} <= set(rec)
    assert rec["image_size"] == 16 and 0 <= rec["accuracy"] <= 1
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}

    # a "killed" sweep: t1 never finished, t3 is new; finished models are skipped
    (tmp_path / "t1.json").unlink()
    again = search.run_sweep(SPECS, tmp_path, data, **kw)
    assert again.set_index("id")["trained_now"].to_dict() == dict(t0=False, t1=True, t2=False, t3=True)
    assert (tmp_path / "t0.json").stat().st_mtime_ns == stamps["t0.json"]
    assert again.set_index("id").loc["t1", "accuracy"] == first.set_index("id").loc["t1", "accuracy"]  # deterministic

    # another seed is another result
    reseeded = search.run_sweep(SPECS.iloc[:1].assign(seed=1), tmp_path, data, **kw)
    assert reseeded["trained_now"].all() and reseeded["seed"].tolist() == [1]

    # other training settings: nothing is reused
    other = search.run_sweep(SPECS.iloc[:1], tmp_path, data, **{**kw, "train": {**TRAIN, "lr": 1e-3}})
    assert other["trained_now"].all()


def test_sweep_on_ray_with_two_workers_gives_the_same_files(tmp_path):
    pytest.importorskip("ray")
    data = _tiny_splits()
    local = search.run_sweep(SPECS, tmp_path / "local", data, base_resolution=32, train=TRAIN, backend="local")
    ray = search.start_ray(workers=2, threads_per_worker=1)
    try:
        assert ray.cluster_resources()["CPU"] == 2
        on_ray = search.run_sweep(SPECS, tmp_path / "ray", data, base_resolution=32, train=TRAIN, backend="ray")
    finally:
        ray.shutdown()
    assert on_ray["trained_now"].all()
    assert on_ray["worker"].nunique() == 2  # two single-thread worker processes shared the models
    assert os.getpid() not in {int(w.split(":")[1]) for w in on_ray["worker"]}
    cols = ["id", "r", "w", "d", "image_size", "params", "macs", "c", "accuracy", "val_accuracy", "train_loss"]
    pd.testing.assert_frame_equal(on_ray[cols], local[cols])
    for i in SPECS["id"]:
        a = json.loads((tmp_path / "local" / f"{i}.json").read_text())
        b = json.loads((tmp_path / "ray" / f"{i}.json").read_text())
        assert {k: v for k, v in a.items() if k not in ("seconds", "train_seconds", "cpu_seconds", "worker")} == \
               {k: v for k, v in b.items() if k not in ("seconds", "train_seconds", "cpu_seconds", "worker")}
