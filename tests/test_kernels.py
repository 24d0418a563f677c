"""The layout-friendly padding and normalization statistics agree with PyTorch's own."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from styletool.nn import kernels
from styletool.nn.kernels import channel_moments, memory_format, pad2d

LAYOUTS = [torch.contiguous_format, torch.channels_last]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("pad", [1, 4])
def test_padding_equals_pytorch_and_keeps_the_layout(layout, mode, pad):
    x = torch.randn(2, 5, 9, 7).contiguous(memory_format=layout)
    got = pad2d(x, pad, mode)
    torch.testing.assert_close(got, F.pad(x, (pad,) * 4, mode=mode), rtol=0, atol=0)
    assert memory_format(got) == layout


def test_padding_refuses_a_reflection_wider_than_the_map():
    with pytest.raises(ValueError, match="reflection padding of 4"):
        pad2d(torch.zeros(1, 1, 4, 9), 4, "reflect")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_channel_moments_are_exact_even_far_from_zero(layout, monkeypatch):
    # A large mean next to a small spread is where a one-pass sum of squares loses the variance.
    monkeypatch.setattr(kernels, "_CHUNK_ELEMENTS", 40)  # several row blocks even on a small map
    x = (torch.randn(3, 4, 33, 17, dtype=torch.float64) * 0.01 + 300).float().contiguous(memory_format=layout)
    mean, var = channel_moments(x)
    expected_var, expected_mean = torch.var_mean(x.double(), dim=(2, 3), keepdim=True, unbiased=False)
    torch.testing.assert_close(mean.double(), expected_mean, rtol=1e-6, atol=0)
    torch.testing.assert_close(var.double(), expected_var, rtol=1e-3, atol=0)
