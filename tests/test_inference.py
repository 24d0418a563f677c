"""The fast inference form of the transformer network computes what the trained network computes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from styletool import TransformerNet
from styletool.nn.inference import for_inference, subpixel_upsample_conv, subpixel_weights
from styletool.nn.kernels import memory_format

from networks import trained_like


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (130, 97), (5, 9)])
def test_fast_network_matches_the_plain_one(size):
    net = trained_like()
    photos = torch.rand(2, 3, *size)
    with torch.inference_mode():
        expected = net(photos)
        got = for_inference(net)(photos)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-4


def test_fast_network_folds_a_style_or_a_blend_of_styles():
    net = trained_like(num_styles=3)
    photo = torch.rand(1, 3, 48, 40)
    blend = torch.tensor([0.2, 0.5, 0.3])
    with torch.inference_mode():
        for style in (0, 2, blend):
            assert (for_inference(net, style)(photo) - net(photo, style=style)).abs().max() < 1e-4
        # Different styles really give different pictures, so the check above means something.
        assert (for_inference(net, 0)(photo) - for_inference(net, 2)(photo)).abs().mean() > 1e-2


def test_fast_network_needs_the_right_style_argument():
    with pytest.raises(ValueError, match="pass style"):
        for_inference(TransformerNet(num_styles=2))
    with pytest.raises(ValueError, match="one style"):
        for_inference(TransformerNet(), style=0)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("shape", [(1, 4, 5, 7), (2, 3, 1, 1), (1, 2, 6, 6)])
def test_subpixel_convolution_equals_upsample_then_convolve(shape, layout):
    torch.manual_seed(1)
    x = torch.randn(*shape)
    weight, bias = torch.randn(5, shape[1], 3, 3), torch.randn(5)
    upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
    # Reflection padding of a 2x2 upsampled single pixel is defined (pad 1 < size 2).
    expected = F.conv2d(F.pad(upsampled, (1, 1, 1, 1), mode="reflect"), weight, bias)
    x = x.contiguous(memory_format=layout)
    got = subpixel_upsample_conv(x, subpixel_weights(weight), bias.repeat(4), 5)
    assert torch.allclose(got, expected, atol=1e-5)
    assert memory_format(got) == memory_format(x)  # the layers keep the layout they are given


@pytest.mark.slow
def test_compiled_network_matches_the_plain_one():
    from styletool import fast_network

    net = trained_like()
    photo = torch.rand(1, 3, 64, 48)
    compiled = fast_network(net, device=torch.device("cpu"), compile=True)
    with torch.inference_mode():
        assert (compiled(photo) - net(photo)).abs().max() < 1e-4
