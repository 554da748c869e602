"""cnneff.session (the notebooks' first and last call), cnneff.evaluation, the
int8 preparation of timm networks and stats.interval_table."""
import json
import math

import pytest
import torch
from torch import nn

from cnneff import session as session_mod
from cnneff.compress import int8_ready, quantize_int8, training_memory_bytes
from cnneff.stats import format_interval, interval_table, mean_interval


# ----------------------------------------------------------------------------
# session
# ----------------------------------------------------------------------------
def test_session_records_every_declared_parameter_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(tmp_path))
    before = torch.get_num_threads()
    try:
        from cnneff.runner import notebook_parameters

        declared = notebook_parameters("tinynet_tables")  # the defaults of its parameters cell
        ns = {**declared, "profile": "cpu", "threads": 1, "latency_repeats": 7, "unrelated": 3}
        s = session_mod.start("tinynet_tables", ns, theme=False)
        assert s.parameters == {**declared, "profile": "cpu", "threads": 1, "latency_repeats": 7}  # declared only
        assert torch.get_num_threads() == 1
        metrics = {"paper_data": False}
        path = s.save(metrics)
    finally:
        torch.set_num_threads(before)
    written = json.loads(path.read_text())
    assert written["parameters"]["latency_repeats"] == 7
    hw = written["hardware"]
    assert {"git_commit", "git_dirty", "cpu", "torch"} <= set(hw)
    assert hw["git_dirty"] in (True, False, None)
    assert written["wall_seconds"] >= 0 and "cpu_seconds" in written


def test_session_names_a_declared_parameter_that_is_missing():
    with pytest.raises(NameError, match="latency_repeats"):
        session_mod.start("tinynet_tables", {"profile": "cpu", "threads": 1}, theme=False)


# ----------------------------------------------------------------------------
# int8: timm's "same" padding and BatchNormAct2d
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lite0():
    from cnneff.models import build_model

    torch.manual_seed(0)
    m = build_model("efficientnet_lite0", num_classes=2).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a wrong fold would show
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return m


@pytest.mark.parametrize("side", [97, 96])  # odd: symmetric padding; even: a ZeroPad2d in front
def test_int8_ready_is_the_same_network(lite0, side):
    x = torch.randn(2, 3, side, side)
    ready = int8_ready(lite0, side)
    names = {type(m).__name__ for m in ready.modules()}
    assert "Conv2dSame" not in names and "BatchNormAct2d" not in names
    assert ("ZeroPad2d" in names) == (side % 2 == 0)
    with torch.no_grad():
        assert torch.allclose(lite0(x), ready(x), atol=1e-5)


def test_quantize_int8_traces_lite0_and_stays_close(lite0):
    torch.manual_seed(1)
    calib = torch.randn(16, 3, 65, 65)
    q, _ = quantize_int8(lite0, calib)
    assert any("quantized" in type(m).__module__ for m in q.modules())
    with torch.no_grad():
        ref, out = lite0(calib[:4]), q(calib[:4])
    assert out.shape == ref.shape and (out - ref).abs().max() < 0.5 * ref.abs().max() + 0.5


def test_training_memory_halves_with_fp16():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 2))
    fp32 = training_memory_bytes(m, torch.float32, 16, 4)
    fp16 = training_memory_bytes(m, torch.float16, 16, 4)
    assert fp32 > 0 and fp16 == pytest.approx(fp32 / 2, rel=0.01)


# ----------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------
def test_classifier_row_units():
    from cnneff.data import ImageSet
    from cnneff.evaluation import classifier_row

    torch.manual_seed(0)
    images = torch.randint(0, 255, (12, 1, 32, 32), dtype=torch.uint8)
    labels = torch.tensor([0, 1] * 6)
    test = ImageSet(images, labels, ["a", "b"])
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    row = classifier_row(model, test, None, 32, latency_repeats=2, threads=1)
    assert 0 <= row["test_accuracy"] <= 1 and math.isnan(row["robustness"])
    assert row["params_m"] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    assert row["macs_m"] > 0 and row["latency_ms"] > 0 and len(row["latency_times_ms"]) == 2


# ----------------------------------------------------------------------------
# interval tables
# ----------------------------------------------------------------------------
def test_interval_table_means_intervals_and_dashes():
    rows = [dict(m="a", acc=0.80, ms=5.0), dict(m="a", acc=0.84, ms=6.0), dict(m="a", acc=0.82, ms=5.5),
            dict(m="b", acc=0.70, ms=float("nan"))]
    t = interval_table(rows, "m", {"acc": ("accuracy (%)", 100), "ms": ("latency (ms)", 1)}, ratio_columns=["ms"])
    assert list(t.index) == ["a", "b"] and list(t["n"]) == [3, 1]
    assert t.loc["a", "accuracy (%)"] == format_interval(mean_interval([0.80, 0.84, 0.82]), 1, 100)
    assert t.loc["a", "accuracy (%)"].startswith("82.0 [")
    assert t.loc["b", "accuracy (%)"] == "70.0"  # one value: no interval
    assert t.loc["b", "latency (ms)"] == "-"  # nothing measured
