import pytest
import torch
from torch import nn

from cnneff.counting import check_image_size, count, count_macs, count_params, per_layer, separable_costs


def test_conv_macs_match_the_formula():
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True)
    # output 16 x 16 x 16 for a 32 px input: k^2 * Cin * Cout * H * W
    assert count_macs(conv, 32, in_chans=8) == 9 * 8 * 16 * 16 * 16


def test_depthwise_and_linear():
    dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
    assert count_macs(dw, 32, in_chans=8) == 9 * 8 * 32 * 32
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    assert count_macs(net, 32) == 3 * 32 * 32 * 10


def test_bn_activation_pooling_are_free():
    net = nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    assert count_macs(net, 32) == 0


def test_per_layer_sums_to_totals():
    import torchvision

    m = torchvision.models.mobilenet_v2(num_classes=10)
    df = per_layer(m, 64)
    c = count(m, 64)
    assert df["macs"].sum() == c.macs
    assert df["params"].sum() == c.params == count_params(m)
    assert c.flops == 2 * c.macs
    assert set(df.columns) == {"layer", "type", "params", "macs", "out_channels"}


def test_ops_in_a_container_forward_are_attributed_to_it():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.w = nn.Parameter(torch.ones(4, 4))

        def forward(self, x):
            x = x.mean((2, 3))  # (B, 4)
            return self.fc(x) @ self.w  # the matmul belongs to Gate itself

    df = per_layer(Gate(), 32, in_chans=4)
    own = df.set_index("layer").loc["(root)", "macs"]
    assert own == 16 and df["macs"].sum() == 32


def test_counting_does_not_change_the_model():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    count_macs(m, 32)
    assert m.training
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k])


@pytest.mark.parametrize("bad", [31, 0, -5, 64.0, "64", True, None])
def test_bad_image_sizes(bad):
    with pytest.raises(ValueError, match="image size"):
        check_image_size(bad)


def test_separable_costs_follow_the_formula():
    """Paper 002's section 3.2: standard k^2 C C' HW against k^2 C HW + C C' HW."""
    net = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(), nn.Conv2d(8, 16, 1))
    standard, separable = separable_costs(net, 32)
    hw = 32 * 32
    assert standard == 9 * 8 * 16 * hw and separable == 9 * 8 * hw + 8 * 16 * hw
    assert standard / separable == pytest.approx(9 * 16 / (9 + 16))
    assert separable_costs(nn.Conv2d(3, 8, 3), 32) == (0, 0)  # no depthwise convolution, nothing to compare
