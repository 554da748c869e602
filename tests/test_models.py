"""Pinned counts (measured on torchvision/timm builds) and the papers' tables."""
import subprocess
import sys

import pytest
import torch

from cnneff import claims
from cnneff.counting import Counts, count
from cnneff.models import MODELS, UnknownModelError, build_model, model_names, native_image_size, twisted_b0
from cnneff.models.simplified import mac_table
from cnneff.scaling import inverse_giant


def test_efficientnet_b0():
    c = count(build_model("efficientnet_b0"), 224)
    assert c.params == 5_288_548
    assert round(c.macs / 1e6, 1) == 385.8


def test_efficientnet_v2_s_face_mask_baseline():
    # paper 000, Table 1: 20.18M params, 2.84G "FLOPs" (multiply-adds) with a 2-class head
    c = count(build_model("efficientnet_v2_s", num_classes=2), 224)
    assert c.params == 20_180_050
    assert round(c.macs / 1e6, 1) == 2848.6


def test_mobilenet_v2():
    assert count(build_model("mobilenet_v2"), 224).params == 3_504_872


@pytest.mark.parametrize("name,paper_mmacs", [("tinynet_b", 202), ("tinynet_c", 100), ("tinynet_d", 52), ("tinynet_e", 24)])
def test_tinynet_macs_within_2_percent(name, paper_mmacs):
    m = build_model(name)
    macs = count(m, m.image_size).macs / 1e6
    assert abs(macs - paper_mmacs) / paper_mmacs <= 0.02


def test_tinynets_equal_timm_definitions():
    import timm

    for k in "abcde":
        ours, theirs = build_model(f"tinynet_{k}"), timm.create_model(f"tinynet_{k}")
        assert ours.image_size == theirs.pretrained_cfg["input_size"][-1]
        assert count(ours, ours.image_size) == count(theirs, ours.image_size)


def test_twist_identity_is_b0_and_sizes_follow_r():
    assert count(twisted_b0(), 224) == count(build_model("efficientnet_b0"), 224)
    assert build_model("tinynet_a").image_size == 192  # int(224 * 0.86)
    assert native_image_size("efficientnet_b0_rwd", r=0.5) == 112
    assert build_model("efficientnet_b0_rwd", r=0.5, w=0.5, d=0.5).image_size == 112


def test_import_parses_no_claims():
    # claims.yaml is read when a TinyNet / B^-1 is first built or its size asked for, not at import
    code = (
        "import cnneff.models\n"
        "from cnneff.claims import load\n"
        "from cnneff.models import MODELS, build_model, model_names\n"
        "assert load.cache_info().currsize == 0, 'import parsed claims.yaml'\n"
        "assert 'tinynet_a' in model_names() and 'efficientnet_bm1' in MODELS\n"
        "assert load.cache_info().currsize == 0, 'listing the names parsed claims.yaml'\n"
        "assert build_model('tinynet_a').image_size == 192\n"
        "assert load.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_inverse_giant_formula():
    for phi in range(1, 5):
        r, w, d = inverse_giant(phi)
        assert r == pytest.approx(1.15**-phi) and w == pytest.approx(1.1**-phi) and d == pytest.approx(1.2**-phi)
    # B^-phi shrink monotonically, tuned or not
    for suffix in ("", "_integer"):
        macs = [count(m, m.image_size).macs for m in (build_model(f"efficientnet_bm{p}{suffix}") for p in range(1, 5))]
        assert macs == sorted(macs, reverse=True)
    # the untuned integer-phi models: the plain formula with tiny conventions
    m = build_model("efficientnet_bm2_integer")
    assert m.image_size == 169 and count(m, 169) == count(twisted_b0(*inverse_giant(2)), 169)


def test_scaled_b0_conventions():
    from cnneff.models import scaled_b0

    assert count(scaled_b0(), 224) == count(build_model("efficientnet_b0"), 224)
    m = scaled_b0(0.5, 0.5, 0.5)
    assert m.image_size == 112 and m.conv_stem.out_channels == 16 and m.num_features == 640
    assert [len(s) for s in m.blocks] == [1, 1, 1, 2, 2, 2, 1]  # max(1, round(n * 0.5)), round half to even
    # EfficientNet's ceil depth keeps B0's 16 blocks at d = 0.8
    assert sum(len(s) for s in scaled_b0(d=0.8, depth_trunc="ceil").blocks) == 16
    assert sum(len(s) for s in scaled_b0(d=0.8).blocks) == 13
    with pytest.raises(ValueError, match="depth_trunc"):
        scaled_b0(depth_trunc="floor")
    with pytest.raises(ValueError, match="multiplier w"):
        scaled_b0(w=0)


def test_simplified_table4_all_rows():
    paper = claims.paper_table("simplified_table4")
    ours = mac_table(build_model("simplified_efficientnet", num_classes=100), 56)
    assert len(ours) == len(paper) == 14
    assert list(ours["operation"]) == list(paper["operation"])
    assert list(ours["filters"]) == list(paper["filters"])  # total 13,580 included
    assert ours["filters"].iloc[-1] == 13_580
    # Every row but the linear one (and so the total) matches the paper exactly.
    assert list(ours["macs"].iloc[:12]) == list(paper["macs"].iloc[:12])
    assert ours["macs"].iloc[12] == 1280 * 100
    assert paper["macs"].iloc[12] == 1280 * 100 * 7 * 7  # the paper ran the Linear at all 7x7 positions
    assert paper["macs"].iloc[13] - ours["macs"].iloc[13] == 6_144_000
    assert ours["macs"].iloc[13] == 2_634_117_120


def test_simplified_block_types():
    x = torch.randn(2, 3, 56, 56)
    sizes = {}
    for block in ("standard", "se", "condconv"):
        m = build_model("simplified_efficientnet", num_classes=10, block=block).eval()
        assert m(x).shape == (2, 10)
        sizes[block] = count(m, 56)
    assert sizes["standard"].macs < sizes["se"].macs < sizes["condconv"].macs
    # the middle conv is a full 3x3 conv, not depthwise
    first = build_model("simplified_efficientnet").blocks[0].conv[0]
    assert first.groups == 1 and first.kernel_size == (3, 3)
    with pytest.raises(ValueError, match="block type"):
        build_model("simplified_efficientnet", block="mbconv")


def test_condconv_mixes_experts_per_image():
    m = build_model("simplified_efficientnet", num_classes=10, block="condconv").eval()
    a, b = torch.randn(1, 3, 56, 56), torch.randn(1, 3, 56, 56)
    together = m(torch.cat([a, b]))
    assert torch.allclose(together, torch.cat([m(a), m(b)]), atol=1e-4)


@pytest.mark.parametrize("side", [4, 32])
def test_condconv_expert_sum_path_equals_timms_mixed_kernel(side):
    from timm.layers import CondConv2d as Timm
    from cnneff.models.simplified import CondConv2d

    torch.manual_seed(0)
    ours = CondConv2d(8, 12, 3, stride=2, padding=1, num_experts=4, bias=True)
    ref = Timm(8, 12, 3, stride=2, padding=1, num_experts=4, bias=True)
    ref.load_state_dict(ours.state_dict())
    torch.nn.init.normal_(ours.bias), ref.bias.data.copy_(ours.bias.data)
    x, r = torch.randn(5, 8, side, side), torch.rand(5, 4)
    y_ours, y_ref = ours(x, r), ref(x, r)
    assert torch.allclose(y_ours, y_ref, atol=1e-5)
    y_ours.square().sum().backward(), y_ref.square().sum().backward()
    assert torch.allclose(ours.weight.grad, ref.weight.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name,params,macs", [
    ("efficientnet_b4_fused0", 19_341_616, 4_393_771_024),
    ("efficientnet_b4_fused3", 20_002_408, 7_777_632_544),
    ("efficientnet_b4_fused5", 43_213_432, 21_125_229_856),
    ("efficientnet_b4_fused7", 134_278_840, 34_177_104_160),
])
def test_fused_b4_pinned_counts(name, params, macs):
    # 3x3 fused convs in stages 1-3, later stages' own kernels, SE kept (see cnneff.models.fused.FUSED_KERNELS);
    # the comparison with the paper is in test_paper_counts.py
    assert count(build_model(name), 380) == Counts(params, macs)


def test_fused_b4_kernel_options():
    from cnneff.models import fused_arch, fused_b4
    from cnneff.scaling import B0_ARCH

    arch = fused_arch(B0_ARCH, 5, kernel={1: 3, 2: 3, 3: 3}, squeeze_excite=True)
    assert arch[2] == ["er_r2_k3_s2_e6_c40_se0.25"]  # stage 3: 5x5 -> 3x3
    assert arch[4] == ["er_r3_k5_s1_e6_c112_se0.25"]  # stage 5 keeps its 5x5
    assert arch[5] == ["ir_r4_k5_s2_e6_c192_se0.25"]  # stage 6 not fused
    assert fused_arch(B0_ARCH, 5, kernel=3)[4] == ["er_r3_k3_s1_e6_c112"]
    assert fused_arch(B0_ARCH, 3)[2] == ["er_r2_k5_s2_e6_c40"]  # kernel=None keeps each stage's
    with pytest.raises(ValueError, match="kernel"):
        fused_arch(B0_ARCH, 3, kernel="3x3")
    # stage 3's own 5x5 kernel kept (the former registry variant)
    assert count(fused_b4(3, kernel=None, squeeze_excite=False), 380) == Counts(20_958_110, 10_084_980_352)


def test_v2s_architecture_table_matches_paper():
    from cnneff.models import describe_stages

    ours = describe_stages(build_model("efficientnet_v2_s"))
    paper = claims.paper_table("v2s_architecture")
    assert list(ours["operator"]) == list(paper["operator"])
    assert list(ours["channels"]) == list(paper["channels"])
    assert list(ours["layers"]) == list(paper["layers"])
    assert list(ours["stride"].iloc[:-1]) == list(paper["stride"].iloc[:-1].astype(int))


def test_lite0_imagenet_weights_see_a_cat():
    import torch.nn.functional as F
    from skimage import data

    m = build_model("efficientnet_lite0", pretrained=True).eval()
    img = torch.from_numpy(data.chelsea()).permute(2, 0, 1).float()[None] / 255
    x = (F.interpolate(img, size=(224, 224), mode="bilinear", antialias=True) - 0.5) / 0.5
    with torch.no_grad():
        top = m(x).argmax(1).item()
    assert 281 <= top <= 285  # ImageNet cat classes (tabby .. Egyptian cat)
    # a new head keeps the backbone weights
    m2 = build_model("efficientnet_lite0", pretrained=True, num_classes=2)
    assert m2.classifier.out_features == 2
    assert torch.equal(m2.conv_stem.weight, m.conv_stem.weight)


def test_every_registry_model_builds_and_counts():
    for name in model_names():
        m = build_model(name, num_classes=10)
        assert m.image_size == native_image_size(name) and m.image_size >= 32
        assert count(m, m.image_size).macs > 0, name


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownModelError) as e:
        build_model("efficientnet_b9")
    msg = str(e.value)
    assert "efficientnet_b9" in msg and all(n in msg for n in MODELS)


def test_hub_weights_are_refused_offline():
    with pytest.raises(ValueError, match="local state dict"):
        build_model("torchvision:resnet18", weights="DEFAULT")
    with pytest.raises(ValueError, match="local state dict"):
        build_model("timm:resnet18", pretrained=True)


def test_one_name_one_model_for_the_tuned_b_minus_1():
    """B^-1's tuned (r, w, d) gives two networks, one per set of conventions: the registry's
    efficientnet_bm1 (EfficientNet's: stem and head scale with width) and twisted_b0 (TinyNet's). They
    must differ, and the notebook must never print the twisted one under the registry's name."""
    import json

    from cnneff.counting import count
    from cnneff.models import build_model, twisted_b0
    from cnneff.paths import ROOT

    registry = build_model("efficientnet_bm1")
    twisted = twisted_b0(r=0.86, w=0.89, d=0.8)
    assert count(registry, registry.image_size).macs != count(twisted, twisted.image_size).macs
    nb = json.loads((ROOT / "notebooks" / "architectures_and_costs.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'print(f"B^-1 tuned' not in code and "TinyNet's conventions" in code
