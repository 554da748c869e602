import pytest
import torch
from torch import nn

from cnneff.compress import NetworkSlimming, bn_gammas, prune_channels, quantize_int8, to_half, weight_file_bytes
from cnneff.counting import count
from cnneff.models import build_model


def _trained_like(model):
    """Give BatchNorm scales distinct values, as after training (init is all ones)."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.01
    return model


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0", "efficientnet_v2_s"])
def test_pruning_makes_real_smaller_models_and_keeps_the_head(name):
    torch.manual_seed(0)
    m = build_model(name, num_classes=2).eval()
    before = count(m, 64)
    pruned, rep = prune_channels(m, 0.5, 64)
    assert count(m, 64) == before  # the input model is untouched
    assert rep.params_after < before.params and rep.macs_after < before.macs
    assert rep.params_after == count(pruned, 64).params
    assert pruned(torch.randn(2, 3, 64, 64)).shape == (2, 2)  # 2-class head intact, SE/residuals consistent
    assert (rep.channels["channels_after"] > 0).all()
    assert rep.channels["kept"].min() >= 0.1 - 1e-9  # max_layer_ratio=0.9 floor


def test_more_pruning_removes_more():
    torch.manual_seed(0)
    m = build_model("mobilenet_v2", num_classes=2)
    reps = [prune_channels(m, r, 64)[1] for r in (0.3, 0.5, 0.7)]
    assert reps[0].params_after > reps[1].params_after > reps[2].params_after


def test_slimming_cuts_the_smallest_gammas():
    torch.manual_seed(0)
    m = _trained_like(build_model("mobilenet_v2", num_classes=2))
    pruned, rep = NetworkSlimming.prune(m, 0.5, 64)
    assert rep.method == "network slimming" and rep.params_after < rep.params_before
    # the kept gammas are on average larger than the original ones
    assert bn_gammas(pruned).mean() > bn_gammas(m).mean()


@pytest.mark.parametrize("ratio", [0, 1, -0.1, 1.5, "0.5", True])
def test_ratio_outside_0_1_is_refused(ratio):
    m = build_model("mobilenet_v2", num_classes=2)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        prune_channels(m, ratio, 64)


def test_slimming_needs_batchnorm_and_layers_are_never_emptied():
    with pytest.raises(ValueError, match="BatchNorm"):
        NetworkSlimming.prune(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(2)), 0.5, 32)
    m = build_model("mobilenet_v2", num_classes=2)
    with pytest.raises(ValueError, match="pruned to nothing"):
        prune_channels(m, 0.5, 64, max_layer_ratio=1.0)


def test_fp16_halves_the_weight_file():
    m = build_model("mobilenet_v2", num_classes=2)
    h, rep = to_half(m, 64)
    assert next(h.parameters()).dtype == torch.float16 and next(m.parameters()).dtype == torch.float32
    assert weight_file_bytes(h) / weight_file_bytes(m) == pytest.approx(0.5, abs=0.02)
    assert rep.method == "fp16" and rep.file_ratio == pytest.approx(0.5, abs=0.02)
    assert rep.params_after == rep.params_before and rep.macs_after == rep.macs_before


def test_int8_quantization_stays_close():
    torch.manual_seed(0)
    m = build_model("mobilenet_v2", num_classes=2).eval()
    calib = torch.randn(16, 3, 64, 64)
    q, rep = quantize_int8(m, calib)
    assert rep.method == "int8" and rep.image_size == 64 and rep.file_ratio < 0.5
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        ref, out = m(x), q(x)
    assert out.shape == ref.shape
    assert (out - ref).abs().max() < 0.5 * ref.abs().max() + 1e-3
    assert weight_file_bytes(q) < 0.4 * weight_file_bytes(m)
    with pytest.raises(ValueError, match="calibration"):
        quantize_int8(m, torch.zeros(4, 3, 64, 64, dtype=torch.uint8))
