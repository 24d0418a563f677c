"""Colour maths: YCbCr round trip, luminance transfer, mean/covariance matching, SSIM."""

from __future__ import annotations

import torch

from styletool import luminance_ssim, match_color, transfer_luminance
from styletool.perceptual.color import rgb_to_ycbcr, ycbcr_to_rgb


def test_ycbcr_round_trip_and_known_values():
    image = torch.rand(1, 3, 8, 9, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(image)), image, atol=1e-6)
    white = torch.ones(1, 3, 1, 1)
    assert torch.allclose(rgb_to_ycbcr(white).flatten(), torch.tensor([1.0, 0.5, 0.5]), atol=1e-5)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(rgb_to_ycbcr(red).flatten(), torch.tensor([0.299, 0.5 - 0.168736, 1.0]), atol=1e-5)


def test_luminance_transfer_keeps_the_photo_chroma_and_the_result_luma():
    gen = torch.Generator().manual_seed(1)
    photo = 0.25 + 0.5 * torch.rand(1, 3, 16, 16, generator=gen)
    result = 0.25 + 0.5 * torch.rand(1, 3, 16, 16, generator=gen)
    kept = rgb_to_ycbcr(transfer_luminance(result, photo))
    # Equal up to the few pixels whose combination falls outside the RGB cube and is clamped.
    assert (kept[:, 1:] - rgb_to_ycbcr(photo)[:, 1:]).abs().mean() < 0.01
    assert (kept[:, :1] - rgb_to_ycbcr(result)[:, :1]).abs().mean() < 0.01
    assert torch.equal(transfer_luminance(result, photo, strength=0.0), result)


def test_match_color_gives_the_reference_mean_and_covariance():
    gen = torch.Generator().manual_seed(2)
    source = torch.rand(1, 3, 32, 32, generator=gen) * torch.tensor([0.3, 0.6, 0.2]).view(1, 3, 1, 1)
    mix = torch.tensor([[0.4, 0.3, 0.1], [0.1, 0.4, 0.1], [0.2, 0.1, 0.3]])
    reference = torch.einsum("ij,njhw->nihw", mix, torch.rand(1, 3, 24, 24, generator=gen)) + 0.1
    matched = match_color(source, reference)
    m, r = matched.reshape(3, -1).double(), reference.reshape(3, -1).double()
    assert torch.allclose(m.mean(1), r.mean(1), atol=1e-3)
    assert torch.allclose(torch.cov(m, correction=0), torch.cov(r, correction=0), atol=1e-3)
    assert torch.equal(match_color(source, reference, strength=0.0), source)


def test_ssim_is_one_for_identical_images_and_low_for_unrelated_ones():
    gen = torch.Generator().manual_seed(3)
    image = torch.rand(1, 3, 40, 40, generator=gen)
    assert abs(luminance_ssim(image, image) - 1.0) < 1e-9
    assert luminance_ssim(image, torch.rand(1, 3, 40, 40, generator=gen)) < 0.2
    assert 0.5 < luminance_ssim(image, (image + 0.02).clamp(0, 1)) < 1.0
