"""The built-in gatys method: optimization lowers the loss and paints the photo."""

from __future__ import annotations

import pytest
import torch
from PIL import Image as PILImage

from styletool import Runtime, StylizeRequest, UnknownNameError, UsageError, load_image, luminance_ssim
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

from conftest import shared_file


def gatys(**options):
    runtime = Runtime(device="cpu", seed=0)
    spec = runtime.registry.method("gatys")
    return runtime, runtime.method("gatys"), make_options(resolve(spec.options), options)


def photo_and_painting(size=64):
    content = load_image(shared_file("images", "content", "tubingen.jpg"), size=size).pixels[None]
    style = load_image(shared_file("images", "style", "starry_night.jpg"), size=size).pixels[None]
    return content, style


def run(method, opts, content, styles):
    request = StylizeRequest(options=opts, styles=styles)
    events = []
    result = method.stylize(content, request, method.prepare(request), progress=events.append)
    return result, events


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimizers_lower_the_total_loss(optimizer):
    content, style = photo_and_painting()
    _, method, opts = gatys(iterations=25, optimizer=optimizer)
    result, events = run(method, opts, content, [style])
    assert [e.step for e in events] == list(range(1, 26))
    first, last = sum(events[0].losses.values()), sum(events[-1].losses.values())
    assert last < 0.5 * first
    assert result.shape == content.shape
    assert 0 <= float(result.min()) and float(result.max()) <= 1


def assert_painted_but_recognizable(runtime, opts, content, style, result):
    backbone = runtime.backbone("vgg19")
    gram = runtime.loss("gram", layers=opts.style_layers)
    content_loss = runtime.loss("content", layers=opts.content_layers)
    with torch.no_grad():
        style_target = gram.target(backbone(style, opts.style_layers))
        photo_features = backbone(content, [*opts.style_layers, *opts.content_layers])
        result_features = backbone(result, [*opts.style_layers, *opts.content_layers])
        painting = torch.nn.functional.interpolate(style, size=content.shape[-2:], mode="bilinear")
        painting_features = backbone(painting, opts.content_layers)
        content_target = content_loss.target(photo_features)
    # Much closer to the painting's style statistics than the photo was...
    assert gram(result_features, style_target) < 0.2 * gram(photo_features, style_target)
    # ...while its content features stay far closer to the photo's than the painting's are.
    assert content_loss(result_features, content_target) < 0.5 * content_loss(painting_features, content_target)


def test_result_takes_the_style_and_keeps_the_content():
    runtime, method, opts = gatys(iterations=40, style_weight=5, scales=1)
    content, style = photo_and_painting(size=128)
    result, _ = run(method, opts, content, [style])
    assert_painted_but_recognizable(runtime, opts, content, style, result)


def test_two_identical_styles_blend_to_the_single_style_result():
    content, style = photo_and_painting(size=32)
    _, method, opts = gatys(iterations=3)
    single, _ = run(method, opts, content, [style])
    double, _ = run(method, opts, content, [style, style.clone()])
    assert torch.allclose(single, double, atol=1e-5)


def test_unknown_layer_suggests_a_name():
    content, style = photo_and_painting(size=32)
    _, method, opts = gatys(style_layers=["relu1_1", "relu4_9"])
    with pytest.raises(UsageError, match="no layer 'relu4_9'; did you mean"):
        method.prepare(StylizeRequest(options=opts, styles=[style]))


def test_style_loss_must_be_a_registered_style_loss():
    content, style = photo_and_painting(size=32)
    _, method, opts = gatys(style_loss="grma")
    with pytest.raises(UnknownNameError, match="did you mean 'gram'"):
        method.prepare(StylizeRequest(options=opts, styles=[style]))
    _, method, opts = gatys(style_loss="content")
    with pytest.raises(UsageError, match="not a style loss"):
        method.prepare(StylizeRequest(options=opts, styles=[style]))


@pytest.mark.parametrize("style_loss", ["meanstd", "histogram"])
def test_other_registered_style_losses_work(style_loss):
    content, style = photo_and_painting(size=32)
    _, method, opts = gatys(iterations=5, style_loss=style_loss)
    _, events = run(method, opts, content, [style])
    assert sum(events[-1].losses.values()) < sum(events[0].losses.values())


def test_squeezenet_backbone_with_shared_weights(tmp_path):
    weights = shared_file("weights", "squeezenet1_1-imagenet-features.pth")
    content, style = photo_and_painting(size=64)
    _, method, opts = gatys(
        iterations=10,
        backbone="squeezenet1_1",
        backbone_weights=str(weights),
        content_layers=["fire7"],
        style_layers=["relu1", "fire3", "fire5", "fire7"],
    )
    result, events = run(method, opts, content, [style])
    assert sum(events[-1].losses.values()) < sum(events[0].losses.values())


def test_transparent_png_stays_transparent(cli, tmp_path):
    photo = tmp_path / "logo.png"
    image = PILImage.new("RGBA", (40, 40), (30, 140, 220, 255))
    image.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half fully transparent
    image.save(photo)
    painting = shared_file("images", "style", "the_scream.jpg")
    out = tmp_path / "out.png"
    result = cli("stylize", photo, "--style", painting, "-o", out, "--iterations", "2", "--size", "40")
    assert result.code == 0, result.err
    with PILImage.open(out) as stylized:
        assert stylized.mode == "RGBA"
        alpha = stylized.getchannel("A")
        assert alpha.getpixel((5, 20)) == 0 and alpha.getpixel((35, 20)) == 255


def test_sixteen_bit_tiff_on_request(cli, tmp_path):
    photo = shared_file("images", "content", "astronaut.jpg")
    painting = shared_file("images", "style", "mondrian.jpg")
    out = tmp_path / "out.tiff"
    result = cli(
        "stylize", photo, "--style", painting, "-o", out, "--size", "32", "--iterations", "2", "--bit-depth", "16"
    )
    assert result.code == 0, result.err
    assert load_image(out).bits == 16
    refused = cli("stylize", photo, "--style", painting, "-o", tmp_path / "out.jpg", "--bit-depth", "16")
    assert refused.code == 2 and "PNG or TIFF" in refused.err


@pytest.mark.slow
def test_real_quality_judged_by_a_different_backbone():
    """tubingen x starry_night at 256 px with the defaults, judged by SqueezeNet (not the VGG-19 optimized).

    The style distance (Gram statistics of SqueezeNet features) to the painting
    must drop by at least 40% from the unmodified photo's, while the luminance
    SSIM to the photo stays at least 0.3 (the photo is still recognizable).
    """
    weights = shared_file("weights", "squeezenet1_1-imagenet-features.pth")
    runtime, method, opts = gatys()
    content, style = photo_and_painting(size=256)
    result, _ = run(method, opts, content, [style])

    judge = runtime.backbone("squeezenet1_1", weights=weights)
    layers = ["relu1", "fire3", "fire5", "fire7", "fire9"]
    gram = runtime.loss("gram", layers=layers)
    with torch.no_grad():
        target = gram.target(judge(style, layers))
        photo_distance = float(gram(judge(content, layers), target))
        result_distance = float(gram(judge(result, layers), target))
    assert result_distance <= 0.6 * photo_distance, (result_distance, photo_distance)
    assert luminance_ssim(result, content) >= 0.3
