"""The models that ship inside the package: intact, small, loadable without code, and painting for real."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest
import torch

from styletool import Runtime, StylizeRequest, load_image, luminance_ssim, resize_longest
from styletool.framework.plugins import get_registry
from styletool.io.modelfile import read_metadata
from styletool.io.shipped import default_model, shipped_models
from styletool.perceptual.metrics import style_distance

from conftest import REPO, shared_file

MAX_BYTES = 5_000_000  # "a few MB each"


def test_a_multi_style_cin_model_ships_as_the_default():
    model = default_model("cin")
    assert model is not None, "the cin plugin ships no default model"
    styles = read_metadata(model.file)["styles"]
    assert len(styles) >= 16 and {"starry_night", "the_scream", "candy", "rain_princess", "la_muse"} <= set(styles)


@pytest.mark.parametrize("name", list(shipped_models()))
def test_shipped_file_matches_its_declaration_and_is_small_fp16_safetensors(name):
    model = shipped_models()[name]
    data = model.file.read_bytes()
    assert hashlib.sha256(data).hexdigest() == model.sha256, "file differs from its ModelSpec (retrain with the recipe)"
    assert len(data) < MAX_BYTES
    # safetensors: an 8-byte header length, a JSON header, raw tensor bytes. Nothing in it can run code.
    header = json.loads(data[8 : 8 + struct.unpack("<Q", data[:8])[0]])
    dtypes = {entry["dtype"] for key, entry in header.items() if key != "__metadata__"}
    assert dtypes == {"F16"}
    metadata = read_metadata(model.file)
    assert metadata["method"] == model.method
    recipe = metadata["shipped"]["recipe"]
    assert (REPO / recipe).is_file(), f"the recipe {recipe} named in the model is not in the repository"


def test_a_default_model_is_shipped_by_its_methods_own_plugin_inside_that_plugin():
    registry = get_registry()
    defaults = {name: spec.default_model for name, spec in registry.methods.items() if spec.default_model}
    assert set(defaults) == {"cin", "metastyle"}
    for method, name in defaults.items():
        model = registry.default_model(method)
        assert model.name == name and model.method == method and model.plugin == registry.method(method).plugin
        assert model.file.parent.parent.name == f"styletool_{method}", "a plugin's model lives in its own package"


def _judge(runtime):
    weights = shared_file("weights", "squeezenet1_1-imagenet-features.pth")
    return runtime.backbone("squeezenet1_1", weights=weights), ["relu1", "fire3", "fire5", "fire7", "fire9"]


def _shipped_cin(style: str, strength: float = 1.0) -> tuple[float, float]:
    """(style distance as a fraction of the photo's, luminance SSIM) of tubingen at 384 px in ``style``."""
    photo = resize_longest(load_image(shared_file("images", "content", "tubingen.jpg")).pixels[None], 384)
    folder = ("images", "style") if style in ("starry_night", "the_scream") else ("datasets", "styles")
    painting = load_image(shared_file(*folder, f"{style}.jpg")).pixels[None]
    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("cin")
    options = method.Options(style_name=style, strength=strength)
    model = default_model("cin").file
    request = StylizeRequest(options=options, model=model, models=[model])
    with torch.no_grad():
        result = method.stylize(photo, request, method.prepare(request))
    judge, layers = _judge(runtime)
    ratio = style_distance(judge, layers, result, painting) / style_distance(judge, layers, photo, painting)
    return ratio, luminance_ssim(result, photo)


@pytest.mark.parametrize("style", ["the_scream", "candy"])
def test_shipped_cin_model_paints_a_photo_it_never_saw_and_keeps_it(style):
    """tubingen is in no shipped model's training data (recipes/: photos from ../shared/datasets only).

    Judged through SqueezeNet, not the VGG-19 the model trained with: the
    result must be close to the painting and keep the photo's structure, the
    bar of a shipped style (docs/models.md has every style on nineteen
    photos; starry_night and asheville do not reach it yet).
    """
    ratio, ssim = _shipped_cin(style)
    # Measured at 384 px: the_scream 0.10 with SSIM 0.49, candy 0.18 with 0.41 (starry_night 0.32 with
    # 0.40). The photo itself scores 1 and 1.
    assert ratio <= 0.3, ratio
    assert ssim >= 0.35, ssim


def test_the_shipped_cin_model_has_a_strength_dial():
    """--strength on the shipped model: lower strengths keep more of the photo and paint less."""
    (none, none_ssim), (half, half_ssim), (full, full_ssim) = [_shipped_cin("candy", s) for s in (0.0, 0.5, 1.0)]
    # Measured: (1.17, 0.84), (0.82, 0.55), (0.18, 0.41).
    assert none_ssim > half_ssim > full_ssim
    assert none > half > full
    assert none_ssim > 0.75


def test_a_meta_trained_metastyle_model_ships_as_the_default():
    model = default_model("metastyle")
    assert model is not None, "the metastyle plugin ships no default model"
    metadata = read_metadata(model.file)
    assert metadata["kind"] == "meta" and metadata["architecture"] == "light"
    assert metadata["predictor"]["rows"] == metadata["num_styles"] == 34 and metadata["neutral"] is True
    # Trained on the 34 paintings of ../shared/datasets, none of ../shared/images (the evaluation paintings).
    unseen = {path.stem for path in shared_file("images", "style", "mondrian.jpg").parent.glob("*.jpg")}
    assert len(metadata["styles"]) == 34 and not unseen & set(metadata["styles"])


def _adapted_to_unseen(painting_name: str, tmp_path, **settings) -> dict[str, tuple[float, float]]:
    """(style distance fraction, SSIM) on tubingen (256 px) per start, adapted as `stylize --style` adapts."""
    from styletool import AdaptRequest, TransformerNet, save_model
    from styletool_metastyle.options import MetaStyleAdaptOptions
    from styletool_metastyle.predictor import load_meta_model, one_style_network

    photo_path = shared_file("images", "content", "tubingen.jpg")
    photo = resize_longest(load_image(photo_path).pixels[None], 256)
    painting = load_image(shared_file("images", "style", f"{painting_name}.jpg")).pixels[None]
    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("metastyle")
    shipped = default_model("metastyle").file
    dropped = ("format", "styletool_version", "shipped", "predictor")
    metadata = {k: v for k, v in read_metadata(shipped).items() if k not in dropped}
    torch.manual_seed(0)
    fresh = TransformerNet(architecture="light", num_styles=1, neutral=True)
    fresh_file = save_model(tmp_path / "fresh.safetensors", fresh.state_dict(), {**metadata, "num_styles": 1})
    judge, layers = _judge(runtime)
    baseline = style_distance(judge, layers, photo, painting)
    networks = {"average": one_style_network(load_meta_model(shipped, method="metastyle")[0])}
    for start, model, options in (
        ("predicted", shipped, MetaStyleAdaptOptions(steps=0)),
        ("fresh", fresh_file, MetaStyleAdaptOptions(**settings)),
        ("adapted", shipped, MetaStyleAdaptOptions(**settings)),
    ):
        request = AdaptRequest(
            options=options,
            model=model,
            style=painting,
            style_name=painting_name,
            output=tmp_path / f"{start}.safetensors",
            content_files=[photo_path],
        )
        networks[start] = method.adapt(request).model
    scores = {}
    for start, net in networks.items():
        with torch.no_grad():
            result = net.eval()(photo, 0).float().clamp(0, 1)
        scores[start] = (style_distance(judge, layers, result, painting) / baseline, luminance_ssim(result, photo))
    return scores


@pytest.mark.slow
def test_shipped_meta_model_paints_an_unseen_painting_at_once_and_closer_after_adapting(tmp_path):
    """the_scream and tubingen are in no training set of the meta-model. The instant picture (--steps 0)
    is closer to the painting than the meta-model's average start; adapting (the defaults scaled down:
    40 steps) gets much closer than a fresh network adapted identically, and keeps the photo.
    Full-size figures: docs/metastyle.md."""
    scores = _adapted_to_unseen("the_scream", tmp_path, steps=40)
    # Measured: average 0.97 / 0.55, predicted 0.66 / 0.59, fresh 0.52 / 0.30, adapted 0.17 / 0.62 (about 10 s).
    assert scores["predicted"][0] < 0.85 * scores["average"][0], scores
    assert scores["adapted"][0] < 0.6 * scores["fresh"][0], scores
    assert scores["adapted"][0] < 0.3 and scores["adapted"][1] > 0.35, scores


def test_metastyle_s_instant_picture_and_its_strength_dial(cli, tmp_path):
    """`--steps 0`: the predicted picture at once, no photos to adapt on; `--strength` lightens it toward the photo."""
    photo = shared_file("images", "content", "tubingen.jpg")
    ssim = {}
    for strength in ("0", "0.5", "1"):
        out = tmp_path / f"s{strength}.png"
        result = cli(
            "stylize", photo, "--method", "metastyle", "--style", shared_file("images", "style", "the_scream.jpg"),
            "--steps", "0", "--strength", strength, "--size", "256", "-o", out,
        )  # fmt: skip
        assert result.code == 0, result.out + result.err
        ssim[strength] = luminance_ssim(
            load_image(out).pixels[None], resize_longest(load_image(photo).pixels[None], 256)
        )
    assert ssim["0"] > ssim["0.5"] > ssim["1"], ssim


def test_metastyle_with_any_painting_needs_no_model_argument(cli, tmp_path):
    """The goal command, scaled down (2 adaptation steps at 64 px): the shipped meta-model is the default."""
    out = tmp_path / "out.png"
    result = cli(
        "stylize",
        shared_file("images", "content", "tubingen.jpg"),
        "--method",
        "metastyle",
        "--style",
        shared_file("images", "style", "mondrian.jpg"),
        "--steps",
        "2",
        "--image-size",
        "64",
        "--no-cache",
        "--size",
        "96",
        "-o",
        out,
    )
    assert result.code == 0, result.out + result.err
    assert max(load_image(out).size) == 96
    listing = cli("models")
    assert "any painting: --method metastyle --style PAINTING" in listing.out
