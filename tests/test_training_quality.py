"""Real-weight training: a johnson network learns a painting, still shows the photo it was not trained on, and has a strength dial."""

from __future__ import annotations

import pytest
import torch

from styletool import Runtime, StylizeRequest, load_image, luminance_ssim, resize_longest

from conftest import shared_file

LAYERS = ["relu1", "fire3", "fire5", "fire7", "fire9"]


def _judged(starry_johnson, strengths):
    """(style distance as a fraction of the photo's, luminance SSIM) of the held-out photo at each strength."""
    squeezenet = shared_file("weights", "squeezenet1_1-imagenet-features.pth")
    held_out = shared_file("images", "content", f"{starry_johnson.held_out}.jpg")
    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("johnson")
    options_cls = method.Options
    painting = load_image(shared_file("images", "style", "starry_night.jpg")).pixels[None]
    photo = resize_longest(load_image(held_out).pixels[None], 256)
    judge = runtime.backbone("squeezenet1_1", weights=squeezenet)
    gram = runtime.loss("gram", layers=LAYERS)
    with torch.no_grad():
        target = gram.target(judge(resize_longest(painting, 256), LAYERS))
        photo_distance = float(gram(judge(photo, LAYERS), target))
    measures = []
    for strength in strengths:
        request = StylizeRequest(options=options_cls(strength=strength), model=starry_johnson.model)
        result = method.stylize(photo, request, method.prepare(request))
        with torch.no_grad():
            distance = float(gram(judge(result, LAYERS), target)) / photo_distance
        measures.append((distance, luminance_ssim(result, photo)))
    return measures


@pytest.mark.slow
@pytest.mark.xdist_group("starry_johnson")
def test_johnson_training_moves_an_unseen_photo_toward_the_painting(starry_johnson):
    """The ``starry_johnson`` fixture (conftest.py) at the loss defaults; judged by SqueezeNet on the held-out photo."""
    painting_phase = [losses["style"] for losses in starry_johnson.losses if "style" in losses]
    assert sum(painting_phase[-20:]) < 0.8 * sum(painting_phase[:20]), painting_phase
    ((distance, ssim),) = _judged(starry_johnson, [1.0])
    # Measured: 0.46 of the photo's distance, SSIM 0.29 at style weight 3 with the rate dropped for the
    # last fifth (0.39 / 0.37 at 2 and one rate: this run is short, 300 painting steps, and a tenth of
    # the rate for 120 of them costs it; the default 3000-step run gains, docs/training.md).
    assert distance < 0.7, distance
    assert ssim >= 0.25


@pytest.mark.slow
@pytest.mark.xdist_group("starry_johnson")
def test_the_strength_dial_goes_from_the_photo_to_the_painting(starry_johnson):
    measures = _judged(starry_johnson, [0.0, 0.5, 1.0])
    (photo_like, photo_ssim), (half, half_ssim), (full, full_ssim) = measures
    # Measured (distance, SSIM) at 0, 0.5, 1: (1.27, 0.66), (0.71, 0.47), (0.46, 0.29).
    # Strength 0: the photo as the neutral row gives it back (SSIM 0.65 after this short run;
    # the instance norms cannot see the photo's overall colour and contrast, so it is not exact).
    assert photo_ssim > 0.6
    assert photo_like > half > full  # closer to the painting as the dial turns up
    assert photo_ssim > half_ssim > full_ssim  # and less of the photo
