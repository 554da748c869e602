"""Registry models against the papers' own counts: EfficientNetV2's Fused-MBConv
B4 variants (paper 003) and the tuned EfficientNet-B^-1..B^-4 (paper 004,
Table 3).  Every paper value is read from claims.yaml, none is typed here."""
import pytest
import torch

from cnneff import claims, search
from cnneff.counting import count
from cnneff.models import (INVERSE_GIANT_TUNED_PHI, MODELS, build_model, inverse_giant_tuned, tinynet_rwd,
                           tune_inverse_giant_phi)
from cnneff.models.tiny import TINYNET_KEYS
from cnneff.scaling import inverse_giant

# Our counts may differ from the paper's by at most (relative):
FUSED_TOL = dict(params=0.02, macs=0.04)  # issue 18: within 2 % (params) and 4 % (MACs) of every row
BM_TOL = dict(params=0.03, macs=0.04)  # B^-4's 1.3M is rounded to 0.1M (ours 1.34M); B^-3's 51M (ours 49.8M)


def _rel(ours, paper):
    return abs(ours / paper - 1)


def _rows(table, prefix):
    t = claims.paper_table(table)
    return [r for _, r in t.iterrows() if str(r["name"]).startswith(prefix)]


FUSED = _rows("fused_mbconv", "efficientnet_b4_fused")
BM = _rows("tinynet_table3", "efficientnet_bm")


def test_paper_rows_are_there():
    assert [r["name"] for r in FUSED] == [f"efficientnet_b4_fused{n}" for n in (0, 3, 5, 7)]
    assert [r["name"] for r in BM] == [f"efficientnet_bm{p}" for p in range(1, 5)]


@pytest.mark.parametrize("row", FUSED, ids=lambda r: r["name"])
def test_fused_b4_variants_near_paper(row):
    c = count(build_model(row["name"]), 380)  # B4's 380 px, 1000 classes
    assert _rel(c.params / 1e6, row["params_m"]) <= FUSED_TOL["params"]
    assert _rel(c.macs / 1e9, row["flops_b"]) <= FUSED_TOL["macs"]  # the paper's "FLOPs" are multiply-adds


@pytest.mark.parametrize("row", BM, ids=lambda r: r["name"])
def test_tuned_inverse_giant_near_paper(row):
    m = build_model(row["name"])
    c = count(m, m.image_size)
    assert _rel(c.params / 1e6, row["params_m"]) <= BM_TOL["params"]
    assert _rel(c.macs / 1e6, row["macs_m"]) <= BM_TOL["macs"]


def test_tuned_bm1_is_the_papers():
    tuned = claims.paper_table("inverse_giant_tuned").set_index("phi").loc[1]
    spec = MODELS["efficientnet_bm1"]
    assert (spec.defaults["r"], spec.defaults["w"], spec.defaults["d"]) == (tuned["r"], tuned["w"], tuned["d"])
    assert build_model("efficientnet_bm1").image_size == int(224 * tuned["r"])


def test_bm4_head_narrows_with_width():
    # a 1280-wide head would leave no room for the paper's 1.3M: its classifier alone has 1.28M
    paper_params = claims.paper_table("tinynet_table3").set_index("name").loc["efficientnet_bm4", "params_m"] * 1e6
    assert 1280 * 1000 + 1000 >= (1 - BM_TOL["params"]) * paper_params
    m = build_model("efficientnet_bm4")
    assert m.num_features < 1280
    assert build_model("efficientnet_bm4_integer").num_features == 1280  # the untuned, tiny-convention model


@pytest.mark.parametrize("phi", sorted(INVERSE_GIANT_TUNED_PHI))
def test_tuned_phi_is_rederived_from_the_claims(phi):
    target = claims.paper_table("tinynet_table3").set_index("name").loc[f"efficientnet_bm{phi}", "macs_m"] * 1e6
    p = tune_inverse_giant_phi(target, phi)
    assert p == INVERSE_GIANT_TUNED_PHI[phi]
    assert inverse_giant_tuned(phi) == inverse_giant(p)
    assert p > phi  # rounding keeps the integer-phi models too costly: the tuned phi is larger


def test_tune_inverse_giant_phi_edges():
    assert tune_inverse_giant_phi(1e12, 1) == 1  # phi itself is already cheap enough
    with pytest.raises(ValueError, match="widen span"):
        tune_inverse_giant_phi(1e3, 1, span=0.5)
    with pytest.raises(ValueError, match="positive"):
        tune_inverse_giant_phi(0, 1)
    with pytest.raises(ValueError, match="no tuned"):
        inverse_giant_tuned(5)


def test_tinynets_and_tiny_cs_come_from_the_claims():
    table = claims.paper_table("tinynet_rwd")
    assert tinynet_rwd() == {r["name"]: (r["r"], r["w"], r["d"]) for _, r in table.iterrows()}
    assert search.TINY_CS == {r["name"].upper(): r["c"] for _, r in table.iterrows()}
    assert list(tinynet_rwd()) == list(TINYNET_KEYS) == list("abcde")  # every row registered
    for k, (r, w, d) in tinynet_rwd().items():
        assert MODELS[f"tinynet_{k}"].defaults == dict(r=r, w=w, d=d)


# ----------------------------------------------------------------------------
# Paper 004, Table 3: the small networks the registry adds (FBNet-B and
# ProxylessNAS as architecture data, timm's generators at unregistered widths)
# ----------------------------------------------------------------------------
T3 = claims.paper_table("tinynet_table3_all").set_index("key")


def _t3_counts(key):
    row = T3.loc[key]
    m = build_model(row["builder"])
    side = m.image_size if row.isna()["r"] else 32 * round(224 * row["r"] / 32)  # MobileNet sides: 128/160/192 px
    c = count(m, side)
    return c.params / 1e6, c.macs / 1e6, row


@pytest.mark.parametrize("key", ["proxylessnas_mobile", "mobilenet_v1_050_r086"])
def test_table3_rows_within_printed_precision(key):
    params_m, macs_m, row = _t3_counts(key)
    assert abs(params_m - row["params_m"]) <= 0.05  # Weights printed to 0.1M
    assert abs(macs_m - row["macs_m"]) <= 0.5 + 0.01 * row["macs_m"]  # FLOPs to 1M, plus 1 % for conventions


@pytest.mark.parametrize("key", ["fbnet_b", "mobilenetv3_large_125", "mobilenetv3_small_125"])
def test_table3_macs_within_tolerance(key):
    # FLOPs agree; the parameters differ (see the claims): FBNet-B's released definition has 4.81M against the
    # paper's 4.5M, MobileNetV3-Large 1.25x 7.55M against 7.5M, timm's MobileNetV3-Small 1.25x (a 1024-wide head)
    # 3.21M against 3.6M.
    params_m, macs_m, row = _t3_counts(key)
    assert abs(macs_m - row["macs_m"]) <= 0.5 + 0.01 * row["macs_m"]
    assert params_m > row["params_m"] - 0.5


def test_fbnet_b_and_proxyless_are_their_released_definitions():
    fb, px = build_model("fbnet_b"), build_model("proxylessnas_mobile")
    assert sum(len(s) for s in fb.blocks) == 21 and fb.conv_head.out_channels == 1984  # 22 blocks, one a skip
    assert sum(len(s) for s in px.blocks) == 20 and px.conv_head.out_channels == 1280  # 1 + 21 blocks, two zero ops
    assert isinstance(px.bn1.act, torch.nn.ReLU6) and isinstance(fb.bn1.act, torch.nn.ReLU)


def test_timm_generator_entries_match_timm_where_timm_registers_the_width():
    from cnneff.models.mobile import timm_generator

    for variant, gen, mult, registered in (("mobilenetv3_small_075", "_gen_mobilenet_v3", 0.75, "mobilenetv3_small_075"),
                                           ("semnasnet_075", "_gen_mnasnet_a1", 0.75, "semnasnet_075")):
        module = "mobilenetv3" if "v3" in gen else "efficientnet"
        ours = timm_generator(module, gen, variant, mult)()
        theirs = build_model(f"timm:{registered}")
        assert count(ours, 224) == count(theirs, 224)


def test_min_depth_b0_is_seven_blocks():
    m = build_model("efficientnet_b0_rwd", d=0.01)
    assert [len(s) for s in m.blocks] == [1] * 7
