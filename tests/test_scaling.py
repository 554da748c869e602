"""Compound scaling has one home (issue 13): cnneff.scaling."""
import pytest

from cnneff import models, scaling, search, transfer


def test_b0_constants_and_variants():
    assert scaling.B0_STAGE_REPEATS == (1, 2, 2, 3, 3, 4, 1)
    assert [scaling.B_VARIANTS[p][2] for p in range(8)] == [224, 240, 260, 300, 380, 456, 528, 600]
    assert scaling.B_VARIANTS[1][:2] == (1.0, 1.1)


def test_image_side_is_the_one_rounding():
    assert scaling.image_side(0.86) == 192  # TinyNet-A
    assert scaling.image_side(1.0) == 224 and scaling.image_side(0.5, 32) == 16
    assert search.image_side is scaling.image_side
    assert models.native_image_size("tinynet_a") == 192
    with pytest.raises(ValueError, match="r must be > 0"):
        scaling.image_side(0)


def test_check_rwd_names_the_bad_multiplier():
    assert scaling.check_rwd(1, 0.5, 2) == (1.0, 0.5, 2.0)
    with pytest.raises(ValueError, match="multiplier w must be a positive number"):
        scaling.check_rwd(1.0, -1, 1.0)
    with pytest.raises(ValueError, match="multiplier d"):
        models.twisted_b0(1.0, 1.0, 0)


def test_one_inverse_giant_formula():
    assert models.tiny.inverse_giant is scaling.inverse_giant  # the registry's B^-phi use scaling's formula
    r, w, d = scaling.inverse_giant(1)
    assert (r, w, d) == pytest.approx((1 / 1.15, 1 / 1.1, 1 / 1.2))


def test_torchvision_rounding():
    assert scaling.round_channels_tv(1280 * 1.1) == 1408
    assert scaling.round_channels_tv(32 * 0.25) == 8
    assert scaling.repeats_tv(1.1) == [2, 3, 3, 4, 4, 5, 2]
    assert "compound_coefficients" not in transfer.__all__  # one home: cnneff.scaling
    assert scaling.compound_coefficients(1)["macs_factor"] == pytest.approx(1.2 * 1.1 ** 2 * 1.15 ** 2)
