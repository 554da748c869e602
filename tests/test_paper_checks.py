"""The paper-internal checks that issue 26's ledger added (cnneff.scorecard.paper_checks), each both ways:
a stated value that agrees with the paper's other numbers ("consistent") and one that does not ("paper
inconsistent"), on the paper tables of claims.yaml; and the verdicts the review expected of its 26 claims."""
import pytest

from cnneff import claims
from cnneff.scorecard import PAPER_CHECKS, judge

BY_ID = {c["id"]: c for c in claims.load()["claims"]}


def V(claim: dict) -> str:
    return judge(claim, None)["verdict"]


def _claim(check: str, **kw) -> dict:
    return dict(id="t", paper="000", where="-", what="-", unit="", notebook="nb", kind="paper_inconsistent",
                check=check, **kw)


def test_row_is_best():
    c = _claim("row_is_best", value=1, table="face_mask_table1", column="mrt_flops_m", tolerance=0,
               rows=["Sparse training"])
    assert V(c) == "consistent" and judge(c, None)["ours"] == 1.0  # 820.55 is the largest rate
    assert V(dict(c, rows=["Pruned 30%", "Pruned 50%"])) == "paper inconsistent"
    assert "Sparse training's 820.55" in judge(dict(c, rows=["Low-reso"]), None)["reason"]


def test_sum_and_share_of_parts():
    rows = ["selected masked from RMFRD", "selected masked from MFDD", "selected unmasked from RMFRD"]
    total = _claim("sum_of_parts", table="face_mask_data", rows=rows, column="images", tolerance=0.0001)
    assert V(dict(total, value=40000)) == "consistent" and V(dict(total, value=20000)) == "paper inconsistent"
    share = _claim("share_of_total", table="face_mask_data", rows=rows, column="images", share=0.1, tolerance=0.05)
    assert V(dict(share, value=4000)) == "consistent" and V(dict(share, value=2000)) == "paper inconsistent"
    assert judge(dict(share, value=4000), None)["ours"] == pytest.approx(4000)


def test_bit_budget_ratio():
    c = _claim("bit_budget_ratio", table="face_mask_table1", row="Baseline", column="params_m", bits=[16, 32],
               tolerance=0.1)
    assert judge(dict(c, value=0.5), None)["ours"] == pytest.approx(0.0023535, rel=1e-3)  # Eq. 3's codebook term
    assert V(dict(c, value=0.5)) == "paper inconsistent" and V(dict(c, value=0.00235)) == "consistent"
    assert V(dict(c, value=1.0, bits=[16, 16])) == "consistent"


def test_cell_ratio():
    side = _claim("cell_ratio", table="simplified_input", row_a="this experiment (resize)", row_b="ImageNet (resize)",
                  column="side", tolerance=0)
    assert V(dict(side, value=0.25)) == "consistent" and V(dict(side, value=0.5)) == "paper inconsistent"
    latency = _claim("cell_ratio", table="tinynet_table4", key="key", row_a="tinynet_e", row_b="efficientnet_bm4",
                     column="latency_ms", value=1.0)
    assert V(dict(latency, tolerance=0.25)) == "consistent"  # 0.795: within a 25 % reading of "similar"
    assert V(dict(latency, tolerance=0.1)) == "paper inconsistent"  # not within 10 %


def test_pareto_nondominated():
    c = _claim("pareto_nondominated", value=1.0, table="tinynet_table3_all", key="key", x="macs_m", y="top1",
               tolerance=0, rows=["tinynet_b", "tinynet_c", "tinynet_d", "tinynet_e"])
    assert V(c) == "consistent"
    bm = dict(c, rows=["efficientnet_bm4", "efficientnet_bm3"])  # 24M 56.7 % and 51M 65.0 % are beaten
    row = judge(bm, None)
    assert row["verdict"] == "paper inconsistent" and row["ours"] == 0.0 and "tinynet_e" in row["reason"]
    alone = dict(c, rows=["tinynet_a"])  # without its RA twin among the rows named, TinyNet-A + RA dominates it
    assert V(alone) == "paper inconsistent" and "tinynet_a_ra" in judge(alone, None)["reason"]


def test_upper_bound_fraction():
    c = _claim("upper_bound_fraction", table="tinynet_table3_all", key="key", base_row="efficientnet_b0",
               column="macs_m", c_table="tinynet_rwd", tolerance=0.004)
    assert V(dict(c, row="tinynet_a", c_row="a", value=339)) == "consistent"  # 339 <= 0.9 x 387
    assert V(dict(c, row="tinynet_b", c_row="b", value=202)) == "paper inconsistent"  # 202 > 0.5 x 387 = 193.5
    assert V(dict(c, row="tinynet_b", c_row="b", value=193)) == "consistent"
    assert judge(dict(c, c_row="b", value=202), None)["ours"] == pytest.approx(193.5)


def test_less_than():
    c = _claim("less_than", value=1, column="r", tolerance=0)
    bm1 = dict(table="inverse_giant_tuned", key="phi", row=1)
    tiny_b = dict(table="tinynet_rwd", key="name", row="b")
    order = lambda a, b: dict(c, table_a=a["table"], key_a=a["key"], row_a=a["row"],  # noqa: E731
                              table_b=b["table"], key_b=b["key"], row_b=b["row"])
    assert V(order(bm1, tiny_b)) == "paper inconsistent"  # 0.86 is not below 0.84
    assert V(order(tiny_b, bm1)) == "consistent"


def test_not_below_base_reads_its_precondition_from_the_table():
    c = dict(BY_ID["004-tinynet-a-below-b0"])
    assert "why" not in c and c["rwd_table"] == "tinynet_rwd"
    row = judge(c, None)
    assert row["verdict"] == "paper inconsistent" and "w = 1" in row["reason"] and "d = 1.2" in row["reason"]
    narrow = dict(c, row="tinynet_b", rwd_row="b")  # w = 0.75 < 1: no bound, nothing to contradict
    assert V(narrow) == "consistent" and "no bound" in judge(narrow, None)["reason"]
    assert V(dict(c, tolerance=0.5)) == "consistent"


def test_every_new_check_is_registered_and_used():
    for name in ("row_is_best", "sum_of_parts", "share_of_total", "bit_budget_ratio", "cell_ratio",
                 "pareto_nondominated", "upper_bound_fraction", "less_than"):
        assert name in PAPER_CHECKS
        assert any(c.get("check") == name for c in BY_ID.values()), name


INCONSISTENT = ["000-data-total-vs-s41", "000-data-test-vs-s41", "000-mrt-minutes-ranking", "000-eq3-bit-budget",
                "001-head-filters", "003-v2-better-accuracy", "004-s1-vs-s32-cost-bound",
                "004-s1-giant-resolution-reduction", "004-c-fraction-b", "004-c-fraction-c", "004-c-fraction-d",
                "004-c-fraction-e"]
CONSISTENT = [f"000-{r}-{q}-pct-printed" for r in ("prune30", "prune50", "prune70", "sparse")
              for q in ("params", "flops")] \
    + ["000-lowres-flops-pct-printed", "000-mrt-flops-ranking", "001-input-quarter",
       "004-t4-similar-latency-from-table", "004-t3-tinynets-on-front", "004-c-fraction-a"]


@pytest.mark.parametrize("cid", INCONSISTENT)
def test_the_reviewed_errata_come_out_paper_inconsistent(cid):
    assert V(BY_ID[cid]) == "paper inconsistent", judge(BY_ID[cid], None)["reason"]


@pytest.mark.parametrize("cid", CONSISTENT)
def test_the_reviewed_agreements_come_out_consistent(cid):
    assert V(BY_ID[cid]) == "consistent", judge(BY_ID[cid], None)["reason"]


def test_numbers_typed_twice_agree():
    """A stated value that a paper table also holds is typed twice: the two must agree."""
    t3 = claims.paper_table("tinynet_table3_all").set_index("key")
    rwd = claims.paper_table("tinynet_rwd").set_index("name")
    t1 = claims.paper_table("face_mask_table1").set_index("model")
    for c in BY_ID.values():
        if c.get("check") == "upper_bound_fraction":
            assert t3.loc[c["row"], c["column"]] == c["value"], c["id"]
        if c["id"].startswith("004-tinynet-") and c["id"].endswith("-within-c"):
            assert rwd.loc[c["id"].split("-")[2], "c"] == c["value"], c["id"]
        if c["id"].endswith("-pct-printed"):
            assert c["row"] in t1.index and c["column"] in t1.columns, c["id"]
    t4 = claims.paper_table("simplified_table4").set_index("operation")
    assert t4.loc["Conv (1x1/1), Batch Norm, ReLU", "filters"] == BY_ID["001-head-filters"]["value"]
