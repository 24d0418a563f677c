"""Gatys mechanics on tiny images with a random backbone: each option does what it says."""

from __future__ import annotations

import pytest
import torch

from styletool import BackboneSpec, StylizeRequest, UsageError, save_image
from styletool.framework.options import make_options
from styletool.framework.specs import resolve
from styletool.perceptual.color import rgb_to_ycbcr
from styletool.perceptual.losses import gram_matrix
from styletool_gatys.options import DEFAULT_STYLE_WEIGHT
from styletool_losses.terms import total_variation

from tiny_backbone import tiny_random_backbone, tiny_runtime


@pytest.fixture
def runtime():
    # fp32 whatever the CPU: these tests check what each option does, and --precision auto would
    # add bf16 rounding on some machines only (the bf16 path has its own test below).
    return tiny_runtime(precision="fp32")


def images(size=48):
    gen = torch.Generator().manual_seed(5)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    # A warm photo (smooth gradients) and two cool or differently coloured paintings.
    photo = torch.stack([0.6 + 0.3 * xs, 0.3 + 0.4 * ys, 0.1 + 0.2 * xs]).unsqueeze(0)
    stripes = (torch.sin(xs * 40) > 0).float()
    painting_a = torch.stack([stripes, stripes * 0.2, 1 - stripes]).unsqueeze(0)
    painting_b = torch.rand(1, 3, size, size, generator=gen) * torch.tensor([0.9, 0.8, 0.1]).view(1, 3, 1, 1)
    return photo, painting_a, painting_b


# A style weight that clearly paints (each layer's loss is relative to its target, so the
# same weights mean the same on this tiny random backbone as on VGG-19).
STRONG = 10.0


def stylize(runtime, content, styles, **options):
    options = {"backbone": "tiny-random", "iterations": 15, "scales": 1, **options}
    method = runtime.method("gatys")
    opts = make_options(resolve(runtime.registry.method("gatys").options), options)
    request = StylizeRequest(options=opts, styles=styles)
    events = []
    runtime.reseed()
    result = method.stylize(content, request, method.prepare(request), progress=events.append)
    return result, events


def gram_distance(runtime, image, style):
    backbone = runtime.backbone("tiny-random")
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    with torch.no_grad():
        a, b = backbone(image, layers), backbone(style, layers)
    # Each layer's distance relative to the painting's Gram matrix, as the loss measures it.
    return sum(
        float((gram_matrix(a[layer]) - gram_matrix(b[layer])).square().mean() / gram_matrix(b[layer]).square().mean())
        for layer in layers
    )


def loud_runtime():
    """The tiny runtime plus ``tiny-loud``: the same network with activations from conv3_1 on 30 times larger.

    In fp32: the two backbones give the same picture in exact arithmetic, which bf16's rounding would blur.
    """
    runtime = tiny_runtime(precision="fp32")

    def loud(**kwargs):
        backbone = tiny_random_backbone(**kwargs)
        with torch.no_grad():
            backbone.layers.conv3_1.weight.mul_(30.0)  # ReLU networks scale: every later layer grows 30x
        return backbone

    runtime.registry.add(BackboneSpec(name="tiny-loud", summary="test", load=loud), plugin="tests")
    return runtime


def test_relative_losses_make_the_weights_independent_of_activation_size():
    # A backbone whose deep activations are larger should not change what a style weight means.
    # Adam, because it is exact here: L-BFGS without a line search amplifies float rounding.
    photo, painting, _ = images()
    runtime = loud_runtime()
    settings = dict(optimizer="adam", iterations=30)
    quiet, _ = stylize(runtime, photo, [painting], style_weight=STRONG, **settings)
    loud, _ = stylize(runtime, photo, [painting], style_weight=STRONG, backbone="tiny-loud", **settings)
    assert (quiet - photo).abs().mean() > 0.05  # it painted...
    assert (quiet - loud).abs().max() < 1e-4  # ...the same picture
    # With raw losses the loud layers dominate and the same weights paint another picture.
    settings.update(normalize="none", style_weight=1e3)
    raw_quiet, _ = stylize(runtime, photo, [painting], **settings)
    raw_loud, _ = stylize(runtime, photo, [painting], backbone="tiny-loud", **settings)
    assert (raw_quiet - raw_loud).abs().mean() > 0.02


def test_relative_losses_start_near_one_per_layer(runtime):
    # At the first evaluation the picture is the photo: content 0, and each style layer about its
    # relative distance from the photo's statistics to the painting's (between 0 and a few).
    photo, painting, _ = images()
    _, events = stylize(runtime, photo, [painting], style_weight=1.0, iterations=1)
    first = events[0].losses
    assert first["content"] == pytest.approx(0.0, abs=1e-6)
    assert 0.1 < first["style"] < 5 * 5  # five style layers


def test_default_style_weight_follows_the_normalization(runtime):
    photo, painting, _ = images()
    default, _ = stylize(runtime, photo, [painting], iterations=5)
    explicit, _ = stylize(runtime, photo, [painting], iterations=5, style_weight=DEFAULT_STYLE_WEIGHT["relative"])
    assert torch.equal(default, explicit)
    raw_default, _ = stylize(runtime, photo, [painting], iterations=5, normalize="none")
    raw_explicit, _ = stylize(
        runtime, photo, [painting], iterations=5, normalize="none", style_weight=DEFAULT_STYLE_WEIGHT["none"]
    )
    assert torch.equal(raw_default, raw_explicit)


def test_style_weight_pulls_toward_the_painting(runtime):
    photo, painting, _ = images()
    weak, _ = stylize(runtime, photo, [painting], style_weight=0.1)
    strong, _ = stylize(runtime, photo, [painting], style_weight=STRONG)
    assert gram_distance(runtime, strong, painting) < 0.5 * gram_distance(runtime, weak, painting)


def test_zero_style_weight_leaves_the_photo(runtime):
    photo, painting, _ = images()
    result, _ = stylize(runtime, photo, [painting], style_weight=0.0)
    assert torch.allclose(result, photo, atol=1e-4)


def test_content_weight_keeps_the_photo(runtime):
    photo, painting, _ = images()
    loose, _ = stylize(runtime, photo, [painting], content_weight=0.0, style_weight=STRONG)
    tight, _ = stylize(runtime, photo, [painting], content_weight=1e3, style_weight=STRONG)
    assert (tight - photo).abs().mean() < (loose - photo).abs().mean()


def test_tv_weight_smooths(runtime):
    photo, painting, _ = images()
    plain, _ = stylize(runtime, photo, [painting], style_weight=STRONG, init="noise")
    smooth, events = stylize(runtime, photo, [painting], style_weight=STRONG, init="noise", tv_weight=STRONG)
    assert "tv" in events[-1].losses
    assert total_variation(smooth) < total_variation(plain)


def test_both_optimizers_lower_the_loss(runtime):
    photo, painting, _ = images()
    for optimizer in ("lbfgs", "adam"):
        _, events = stylize(runtime, photo, [painting], optimizer=optimizer, style_weight=STRONG)
        assert sum(events[-1].losses.values()) < 0.7 * sum(events[0].losses.values()), optimizer


def test_multiscale_runs_coarse_to_fine_and_ends_at_the_requested_size(runtime):
    photo = torch.rand(1, 3, 96, 128)
    _, painting, _ = images()
    result, events = stylize(runtime, photo, [painting], scales=3, iterations=8)
    assert result.shape == photo.shape
    stages = list(dict.fromkeys(e.stage for e in events))
    assert stages == ["scale 1/3 64x48", "scale 2/3 91x68", "scale 3/3 128x96"]
    per_stage = [max(e.step for e in events if e.stage == s) for s in stages]
    assert per_stage == [8, 5, 3]  # most iterations where pixels are few: 0.6 times as many at each finer scale
    _, events = stylize(runtime, photo, [painting], scales=3, scale_iterations=[3, 2, 5])
    assert [max(e.step for e in events if e.stage == s) for s in dict.fromkeys(e.stage for e in events)] == [3, 2, 5]
    with pytest.raises(UsageError, match="one per scale"):
        stylize(runtime, photo, [painting], scales=3, scale_iterations=[3, 2])


def test_adam_carries_its_state_to_the_next_scale_instead_of_a_full_step_everywhere(runtime, monkeypatch):
    """A fresh Adam's first step moves every pixel by --lr; warm from the coarser scale it moves where needed."""
    from styletool_gatys import method as gatys_method

    photo = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(2))
    _, painting, _ = images()

    def first_step_at_the_second_scale():
        options = {"optimizer": "adam", "lr": 5.0, "scales": 2, "scale_iterations": [30, 2], "save_every": 1}
        _, events = stylize(runtime, photo, [painting], style_weight=STRONG, **options)
        last_scale = [e.image for e in events if e.stage == events[-1].stage]
        return float((last_scale[1] - last_scale[0]).abs().mean()) * 255  # in pixel levels, as --lr

    warm = first_step_at_the_second_scale()
    original = gatys_method.GatysMethod._optimize
    monkeypatch.setattr(
        gatys_method.GatysMethod, "_optimize", lambda self, *a, carried=None, **k: original(self, *a, carried=None, **k)
    )
    fresh = first_step_at_the_second_scale()
    assert fresh > 4.0  # nearly every pixel moved by the whole step (5 levels; a few are held at 0 or 255)
    assert warm < 0.5 * fresh


def test_finer_scales_start_with_the_photos_detail_not_a_blur(runtime):
    # With no style to paint, every scale keeps its photo; the upsampled
    # coarse result plus the restored detail band is then the photo itself,
    # where plain upsampling would hand the last scale a blurred copy.
    photo = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    _, painting, _ = images()
    result, _ = stylize(runtime, photo, [painting], scales=3, style_weight=0.0, iterations=2)
    assert (result - photo).abs().max() < 1e-4


def test_by_default_scales_climb_from_128_px_in_sqrt2_steps():
    from styletool_gatys.schedule import scale_iterations, scale_sizes

    assert scale_sizes(512, scales=None) == [128, 181, 256, 362, 512]
    assert scale_sizes(1024, scales=None) == [128, 181, 256, 362, 512, 724, 1024]
    assert scale_sizes(600, scales=None) == [150, 212, 300, 424, 600]
    assert scale_sizes(160, scales=None) == [160]  # too small to go coarser than 128 px
    assert scale_sizes(512, scales=None, min_size=256) == [256, 362, 512]
    assert scale_sizes(512, scales=1) == [512]
    # 0.6 times as many at each finer scale, but the final one, where the finest texture is laid, at least 0.4x.
    assert scale_iterations(5, iterations=150, per_scale=None, scales=None) == [150, 90, 54, 32, 60]
    assert scale_iterations(3, iterations=150, per_scale=None, scales=None) == [150, 90, 60]
    assert scale_iterations(1, iterations=150, per_scale=None, scales=None) == [150]
    with pytest.raises(UsageError, match="give --scales too"):
        scale_iterations(5, iterations=100, per_scale=[1, 2, 3, 4, 5], scales=None)


def test_min_size_sets_the_coarsest_scale(runtime):
    photo = torch.rand(1, 3, 200, 200)
    _, painting, _ = images()
    _, events = stylize(runtime, photo, [painting], scales=3, min_size=100, iterations=2)
    assert [s.split()[-1] for s in dict.fromkeys(e.stage for e in events)] == ["100x100", "141x141", "200x200"]


def test_blend_of_two_styles_lands_between_the_single_style_results(runtime):
    photo, a, b = images()
    only_a, _ = stylize(runtime, photo, [a], style_weight=STRONG, iterations=50)
    only_b, _ = stylize(runtime, photo, [b], style_weight=STRONG, iterations=50)
    mixed, _ = stylize(runtime, photo, [a, b], style_weight=STRONG, style_blend=[1, 1], iterations=50)
    da = [gram_distance(runtime, x, a) for x in (only_a, mixed, only_b)]
    db = [gram_distance(runtime, x, b) for x in (only_b, mixed, only_a)]
    assert da[0] < da[1] < da[2]
    assert db[0] < db[1] < db[2]
    weighted, _ = stylize(runtime, photo, [a, b], style_weight=STRONG, style_blend=[9, 1], iterations=50)
    assert gram_distance(runtime, weighted, a) < da[1]  # more of a than the even blend
    with pytest.raises(UsageError, match="2 --style images"):
        stylize(runtime, photo, [a, b], style_blend=[1, 2, 3])


def test_style_layer_weights(runtime):
    from styletool_gatys.method import style_layer_weights

    opts = make_options(resolve(runtime.registry.method("gatys").options), {"style_layer_weight_exp": 2.0})
    weights = style_layer_weights(opts)
    assert list(weights.values()) == pytest.approx([5 * w / 31 for w in (1, 2, 4, 8, 16)])
    photo, painting, _ = images()
    shallow, _ = stylize(runtime, photo, [painting], style_weight=STRONG, style_layer_weights=[1, 0, 0, 0, 0])
    deep, _ = stylize(runtime, photo, [painting], style_weight=STRONG, style_layer_weights=[0, 0, 0, 0, 1])
    assert not torch.allclose(shallow, deep)
    with pytest.raises(UsageError, match="one per layer"):
        stylize(runtime, photo, [painting], style_layer_weights=[1, 2])


def test_init_choices(runtime, tmp_path):
    photo, painting, _ = images()
    from_noise, _ = stylize(runtime, photo, [painting], init="noise", iterations=1)
    from_style, _ = stylize(runtime, photo, [painting], init="style", iterations=1)
    start = tmp_path / "start.png"
    save_image(torch.full((3, 20, 20), 0.5), start)
    from_file, events = stylize(
        runtime, photo, [painting], init=str(start), iterations=1, style_weight=0, content_weight=0
    )
    assert (from_noise - photo).abs().mean() > 0.1
    assert (from_style - painting).abs().mean() < (from_style - photo).abs().mean()
    assert torch.allclose(from_file, torch.full_like(photo, 0.5), atol=0.01)
    with pytest.raises(UsageError, match="did you mean 'noise'"):
        stylize(runtime, photo, [painting], init="nosie")


def test_preserve_color_luminance_keeps_the_photo_chroma(runtime):
    photo, painting, _ = images()
    plain, _ = stylize(runtime, photo, [painting], style_weight=STRONG)
    kept, _ = stylize(runtime, photo, [painting], style_weight=STRONG, preserve_color="luminance")
    chroma = lambda x: rgb_to_ycbcr(x)[:, 1:]  # noqa: E731
    assert (chroma(kept) - chroma(photo)).abs().mean() < 0.02
    assert (chroma(kept) - chroma(photo)).abs().mean() < 0.3 * (chroma(plain) - chroma(photo)).abs().mean()
    half, _ = stylize(runtime, photo, [painting], style_weight=STRONG, preserve_color="luminance", color_strength=0.5)
    assert torch.allclose(half, (plain + kept) / 2, atol=0.02)


def test_preserve_color_histogram_recolours_the_painting(runtime):
    # Pure style reconstruction (no content term) shows which colours the style target carries.
    photo, painting, _ = images()
    settings = dict(style_weight=STRONG, content_weight=0.0, init="noise", iterations=100)
    plain, _ = stylize(runtime, photo, [painting], **settings)
    kept, _ = stylize(runtime, photo, [painting], preserve_color="histogram", **settings)
    mean_rgb = lambda x: x.mean(dim=(2, 3))  # noqa: E731
    assert (mean_rgb(kept) - mean_rgb(photo)).abs().sum() < 0.75 * (mean_rgb(plain) - mean_rgb(photo)).abs().sum()


def test_style_shift_and_pooling_change_the_result(runtime):
    photo, painting, _ = images()
    base, _ = stylize(runtime, photo, [painting], style_weight=STRONG)
    shifted, _ = stylize(runtime, photo, [painting], style_weight=STRONG, style_shift=-1.0)
    pooled, _ = stylize(runtime, photo, [painting], style_weight=STRONG, pooling="avg")
    assert not torch.allclose(base, shifted) and not torch.allclose(base, pooled)
    with pytest.raises(UsageError, match="only to --style-loss gram"):
        stylize(runtime, photo, [painting], style_loss="meanstd", style_shift=1.0)


def test_save_every_attaches_snapshots(runtime):
    photo, painting, _ = images()
    _, events = stylize(runtime, photo, [painting], iterations=6, save_every=2)
    assert [e.step for e in events if e.image is not None] == [2, 4, 6]


def test_same_seed_same_result(runtime):
    photo, painting, _ = images()
    first, _ = stylize(runtime, photo, [painting], init="noise", iterations=4)
    second, _ = stylize(runtime, photo, [painting], init="noise", iterations=4)
    assert torch.equal(first, second)


def test_adam_step_size_and_style_scale(runtime):
    photo, painting, _ = images()
    small, _ = stylize(runtime, photo, [painting], optimizer="adam", lr=0.5, iterations=3, style_weight=STRONG)
    large, _ = stylize(runtime, photo, [painting], optimizer="adam", lr=8.0, iterations=3, style_weight=STRONG)
    assert (large - photo).abs().mean() > 3 * (small - photo).abs().mean()
    full, _ = stylize(runtime, photo, [painting], style_weight=STRONG, style_scale=1.0)
    half, _ = stylize(runtime, photo, [painting], style_weight=STRONG, style_scale=0.5)
    assert not torch.allclose(full, half, atol=1e-3)


# -- memory: the largest size that fits --------------------------------------------
def test_a_size_that_would_not_fit_is_refused_naming_the_size_that_does(runtime, monkeypatch):
    import styletool_gatys.method as gatys_method
    from styletool import DeviceError
    from styletool_gatys.memory import bytes_per_pixel, largest_fitting_side

    photo = torch.rand(1, 3, 96, 128)
    _, painting, _ = images()
    backbone = runtime.backbone("tiny-random")
    layers = ["relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]  # the defaults
    per_pixel = bytes_per_pixel(backbone, layers, "lbfgs", runtime.device)
    budget = 0.5 * 96 * 128 * per_pixel  # room for half the pixels
    monkeypatch.setattr(gatys_method, "memory_budget", lambda device: budget)
    fits = largest_fitting_side(96, 128, per_pixel, budget)
    assert 85 <= fits <= 91  # 128 / sqrt(2), give or take the layers' cost estimate

    with pytest.raises(DeviceError) as refused:
        stylize(runtime, photo, [painting], iterations=2)
    message = str(refused.value)
    assert (
        "\n" not in message and "gatys at 128x96" in message and f"--size {fits}" in message and "--auto-fit" in message
    )

    result, events = stylize(runtime, photo, [painting], iterations=2, auto_fit=True, scales=2)
    assert max(result.shape[-2:]) == fits and result.shape[-2:] == (round(96 * fits / 128), fits)
    assert events[-1].stage.endswith(f"{fits}x{result.shape[-2]}")


def test_running_out_of_memory_mid_run_says_what_to_do_or_retries_smaller(runtime, monkeypatch):
    from styletool import DeviceError
    from styletool_gatys.method import GatysMethod

    real = GatysMethod._optimize

    def small_device(self, start, content, *args, **kwargs):  # a device that holds at most 100 px a side
        if max(content.shape[-2:]) > 100:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, start, content, *args, **kwargs)

    monkeypatch.setattr(GatysMethod, "_optimize", small_device)
    photo = torch.rand(1, 3, 96, 128)
    _, painting, _ = images()
    with pytest.raises(
        DeviceError, match=r"gatys at 128x96 on cpu ran out of memory; the largest size that fits is --size 102"
    ):
        stylize(runtime, photo, [painting], iterations=2)
    result, events = stylize(runtime, photo, [painting], iterations=2, scales=3, auto_fit=True)
    assert max(result.shape[-2:]) == 81  # 128 -> 102 -> 81, the first that ran
    stages = list(dict.fromkeys(e.stage for e in events))
    assert stages[0] == "scale 1/3 64x48" and stages[-1] == "scale 3/3 81x60"

    def broken(self, *args, **kwargs):
        raise RuntimeError("some other failure")

    monkeypatch.setattr(GatysMethod, "_optimize", broken)
    with pytest.raises(RuntimeError, match="some other failure"):  # not mistaken for memory
        stylize(runtime, photo, [painting], iterations=2, auto_fit=True)


def test_cli_out_of_memory_is_one_line_and_writes_nothing(cli, tmp_path, monkeypatch):
    import styletool_gatys.method as gatys_method
    from styletool.framework.plugins import get_registry

    monkeypatch.setitem(get_registry().backbones, "tiny-random", tiny_runtime().registry.backbones["tiny-random"])
    photo = tmp_path / "photo.png"
    save_image(torch.rand(1, 3, 96, 128), photo)
    painting = tmp_path / "painting.png"
    save_image(images()[1], painting)
    monkeypatch.setattr(gatys_method, "memory_budget", lambda device: 1e5)
    out = tmp_path / "out.png"
    result = cli(
        "--device",
        "cpu",
        "stylize",
        photo,
        "--style",
        painting,
        "--backbone",
        "tiny-random",
        "--iterations",
        "2",
        "-o",
        out,
    )
    assert result.code == 1 and not out.exists()
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {photo}: gatys at 128x96 on cpu needs about")


def test_optimizes_in_bf16_where_the_hardware_has_it_and_in_exact_fp32_on_request(monkeypatch):
    """--precision auto runs the backbone in bf16 only where it is native (1.9x the iterations on such a CPU)."""
    from styletool.framework import runtime as runtime_module
    from styletool_gatys import method as gatys_method

    photo, painting, _ = images()
    seen = []
    original = gatys_method._float
    monkeypatch.setattr(
        gatys_method,
        "_float",
        lambda features: (seen.append(next(iter(features.values())).dtype), original(features))[1],
    )

    def run(precision, native):
        monkeypatch.setattr(runtime_module, "native_bf16", lambda device: native)
        seen.clear()
        result, events = stylize(tiny_runtime(precision=precision), photo, [painting], style_weight=STRONG)
        return result, events, set(seen)

    exact, exact_events, exact_types = run("auto", native=False)
    assert exact_types == {torch.float32}
    forced, _, forced_types = run("fp32", native=True)
    assert forced_types == {torch.float32}
    assert torch.equal(forced, exact)  # fp32 on request is the exact path, whatever the hardware
    half, half_events, half_types = run("auto", native=True)
    assert half_types == {torch.bfloat16}
    # bf16 paints as well: the loss falls as far, the picture is as close to the painting and to the photo.
    assert sum(half_events[-1].losses.values()) < 1.2 * sum(exact_events[-1].losses.values())
    runtime = tiny_runtime(precision="fp32")
    assert gram_distance(runtime, half, painting) < 1.2 * gram_distance(runtime, exact, painting)
    assert gram_distance(runtime, half, painting) < 0.5 * gram_distance(runtime, photo, painting)
    assert float((half - photo).abs().mean()) < 1.2 * float((exact - photo).abs().mean())
