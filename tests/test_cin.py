"""CIN: one network, many styles; selection, blends, adding a style, and the CLI around it."""

from __future__ import annotations

import shutil

import pytest
import torch

from styletool import StylizeRequest, TrainRequest, TrainSettings, UsageError, load_image, load_model
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

from conftest import shared_file
from tiny_backbone import tiny_runtime

TINY_LOSS = {
    "backbone": "tiny-random",
    "content_layers": ["relu3_1"],
    "style_layers": ["relu1_1", "relu2_1", "relu3_1"],
    "style_size": 32,
    "neutral_steps": 2,
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in ["tubingen", "golden_gate", "chicago"]:
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), folder / f"{name}.jpg")
    return folder


def paintings(*seeds):
    return [torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(s)) for s in seeds]


def train(tmp_path, photos, *, styles, names, steps=6, model=None, output="multi.safetensors", **extra):
    runtime = tiny_runtime()
    method = runtime.method("cin")
    options = make_options(resolve(runtime.registry.method("cin").train_options), {**TINY_LOSS, **extra})
    settings = TrainSettings(steps=steps, batch_size=2, image_size=32, workers=0, checkpoint_every=0, lr=1e-3)
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=photos,
        output=tmp_path / output,
        styles=styles,
        style_names=names,
        model=model,
    )
    return method, method.train(request)


def stylize(method, model, photo, **options):
    opts = make_options(resolve(method.runtime.registry.method("cin").options), options)
    request = StylizeRequest(options=opts, model=model)
    return method.stylize(photo, request, method.prepare(request))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, photos):
    tmp_path = tmp_path_factory.mktemp("cin")
    method, result = train(tmp_path, photos, styles=paintings(1, 2, 3), names=["red", "green", "blue"], steps=8)
    return method, result.output


def test_model_records_styles_in_order(trained):
    _, path = trained
    model = load_model(path, method="cin")
    assert model.styles == ["red", "green", "blue"] and model.metadata["num_styles"] == 3


def test_styles_by_index_or_name_and_a_mix_between_two(trained):
    method, path = trained
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    a = stylize(method, path, photo, style_index="0")
    by_name = stylize(method, path, photo, style_index="red")
    b = stylize(method, path, photo, style_index="2")
    mix = stylize(method, path, photo, style_mix="red=1,blue=1")
    assert torch.equal(a, by_name) and not torch.allclose(a, b)
    gap = (a - b).abs().mean()
    assert (mix - a).abs().mean() < gap and (mix - b).abs().mean() < gap


def test_int8_reaches_every_network_of_a_mix(trained):
    from styletool.nn.int8 import int8_unavailable

    if int8_unavailable(torch.device("cpu")):
        pytest.skip("this PyTorch has no oneDNN integer convolutions")
    method, path = trained
    opts = make_options(
        resolve(method.runtime.registry.method("cin").options), {"style_mix": "red=1,blue=1", "int8": True}
    )
    request = StylizeRequest(options=opts, model=path)
    prepared = method.prepare(request)
    layers = [module for network in prepared.networks for module in network.modules() if hasattr(module, "int8")]
    assert layers and sum(layer.int8 is not None for layer in layers) == 13  # encoder and residual blocks
    photo = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(9))
    exact = stylize(method, path, photo, style_mix="red=1,blue=1")
    assert (method.stylize(photo, request, prepared) - exact).abs().mean() < 0.02


def test_all_styles_gives_every_style_as_a_variant_and_a_labelled_sheet(trained):
    from styletool.grid import LABEL_HEIGHT
    from styletool.pipeline.stylizer import variant_sheet

    method, path = trained
    photo = torch.rand(1, 3, 20, 30)
    opts = make_options(resolve(method.runtime.registry.method("cin").options), {"all_styles": True})
    request = StylizeRequest(options=opts, model=path)
    prepared = method.prepare(request)
    variants = method.variants(request, prepared)
    assert variants.labels == ["red", "green", "blue"] and variants.with_photo
    pictures = method.stylize(photo, request, prepared)
    # One picture per style, each the one that style alone gives.
    assert pictures.shape == (3, 3, 20, 30)
    torch.testing.assert_close(pictures[1:2], stylize(method, path, photo, style_name="green"))
    sheet = variant_sheet(photo, pictures, variants)
    # The photo and three styles in a labelled 2 x 2 grid of 30 px cells, 8 px apart.
    assert sheet.shape == (1, 3, 2 * (30 + LABEL_HEIGHT) + 8, 2 * 30 + 8)
    assert torch.allclose(sheet[..., 5:25, :30], photo, atol=1e-6)  # the photo, centred in its cell, unscaled
    assert sheet[..., 30 : 30 + LABEL_HEIGHT, :30].min() < 0.5  # its label ("photo") is drawn beneath it
    assert method.variants(StylizeRequest(options=None, model=path), prepared) is None  # one style: one picture


def test_bad_style_choices_are_usage_errors(trained):
    method, path = trained
    photo = torch.rand(1, 3, 16, 16)
    with pytest.raises(UsageError, match="0..2"):
        stylize(method, path, photo, style_index="5")
    with pytest.raises(UsageError, match="0=red, 1=green, 2=blue"):
        stylize(method, path, photo, style_index="purple")
    with pytest.raises(UsageError, match="STYLE=WEIGHT"):
        stylize(method, path, photo, style_mix="0:1")


def test_adding_a_style_leaves_the_old_ones_unchanged(trained, tmp_path, photos):
    method, path = trained
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    before = [stylize(method, path, photo, style_index=str(i)) for i in range(3)]
    method, result = train(
        tmp_path, photos, styles=paintings(7), names=["yellow"], model=path, output="bigger.safetensors", steps=4
    )
    bigger = load_model(result.output, method="cin")
    assert bigger.styles == ["red", "green", "blue", "yellow"]
    after = [stylize(method, result.output, photo, style_index=str(i)) for i in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(before, after))
    new = stylize(method, result.output, photo, style_index="yellow")
    assert not any(torch.allclose(new, x) for x in before)
    # Only the new row trains, in every step: --style-lr-scale has nothing to catch up with and is not applied.
    _, plain = train(
        tmp_path,
        photos,
        styles=paintings(7),
        names=["yellow"],
        model=path,
        output="plain.safetensors",
        steps=4,
        style_lr_scale=1,
    )
    assert all(torch.equal(a, b) for a, b in zip(load_model(plain.output).tensors.values(), bigger.tensors.values()))


def test_cli_contact_sheet_and_model_info(cli, tmp_path, trained):
    _, path = trained
    photo = shared_file("images", "content", "chicago.jpg")
    out = tmp_path / "sheet.png"
    result = cli("stylize", photo, "--method", "cin", "--model", path, "--all-styles", "--size", "48", "-o", out)
    assert result.code == 0, result.err
    assert load_image(out).size[0] > 48
    info = cli("models", "info", path)
    assert info.code == 0 and "0=red, 1=green, 2=blue" in info.out
    wrong = cli("stylize", photo, "--method", "johnson", "--model", path, "-o", tmp_path / "x.png")
    assert wrong.code == 1 and "'cin' model, not a 'johnson' model" in wrong.err and "Traceback" not in wrong.err


def test_several_styles_per_step_train_every_drawn_style_row(tmp_path, photos):
    """One step with three paintings over a batch of two photos... capped: two paintings, one per photo."""
    styles = paintings(1, 2, 3)
    no_neutral = {"neutral_steps": 0, "neutral_photos": 0}
    _, one = train(
        tmp_path,
        photos,
        styles=styles,
        names=["a", "b", "c"],
        steps=1,
        output="one.safetensors",
        styles_per_step=1,
        **no_neutral,
    )
    _, two = train(
        tmp_path,
        photos,
        styles=styles,
        names=["a", "b", "c"],
        steps=1,
        output="two.safetensors",
        styles_per_step=3,
        **no_neutral,
    )

    def rows_moved(path):
        scale = load_model(path).tensors["encoder.0.norm.norm.scale"]
        return int((scale != 1).any(dim=1).sum())  # rows start at 1; a trained row moved

    assert rows_moved(one.output) == 1
    assert rows_moved(two.output) == 2  # batch of two photos: at most two paintings in a step


def test_style_tables_can_learn_faster_than_the_shared_weights(tmp_path, photos):
    styles = paintings(1, 2)
    _, plain = train(
        tmp_path, photos, styles=styles, names=["a", "b"], steps=2, output="plain.safetensors", style_lr_scale=1
    )
    _, fast = train(
        tmp_path, photos, styles=styles, names=["a", "b"], steps=2, output="fast.safetensors"
    )  # default: 10
    a, b = load_model(plain.output).tensors, load_model(fast.output).tensors
    moved = lambda t: float((t["encoder.0.norm.norm.scale"] - 1).abs().max())  # noqa: E731
    assert moved(b) > 5 * moved(a)  # Adam's steps are about lr long: 10x the rate, about 10x the move
    # The shared convolutions follow the plain rate in both runs: their first steps are alike.
    assert torch.allclose(a["encoder.0.conv.weight"], b["encoder.0.conv.weight"], atol=1e-2)


def test_add_style_is_cin_s_own_option_and_names_the_new_paintings(trained, tmp_path, photos):
    method, path = trained
    painting = tmp_path / "yellow.png"
    from styletool import save_image

    save_image(paintings(7)[0][0], painting)
    _, result = train(
        tmp_path,
        photos,
        styles=[],
        names=[],
        model=path,
        output="bigger.safetensors",
        steps=2,
        add_style=[str(painting)],
    )
    assert load_model(result.output, method="cin").styles == ["red", "green", "blue", "yellow"]
    with pytest.raises(UsageError, match="--add-style needs --model"):
        train(tmp_path, photos, styles=[], names=[], add_style=[str(painting)])
    with pytest.raises(UsageError, match="with --add-style only"):
        train(tmp_path, photos, styles=paintings(1), names=["x"], model=path, add_style=[str(painting)])


def test_a_painting_can_be_given_its_own_style_weight(tmp_path, photos):
    photo = load_image(photos / "tubingen.jpg").pixels[None][..., :32, :32]
    away = lambda method, path: float((stylize(method, path, photo, style_name="red") - photo).abs().mean())  # noqa: E731
    method, common = train(tmp_path, photos, styles=paintings(1, 2), names=["red", "green"], steps=12)
    _, styleless = train(
        tmp_path,
        photos,
        styles=paintings(1, 2),
        names=["red", "green"],
        steps=12,
        output="styleless.safetensors",
        painting_weight=["red=0"],
    )
    # Weight 0: red's row learns only to keep the photo, so its pictures stay nearer it (the two
    # runs are otherwise the same, seed included: without the option they would be identical).
    assert away(method, styleless.output) < 0.9 * away(method, common.output)
    assert load_model(styleless.output, method="cin").metadata["training"]["loss"]["painting_weight"] == ["red=0"]
    for wrong, message in [
        ("rde=2", "no painting named 'rde' is trained; did you mean 'red'"),
        ("red", "'red' should be NAME=WEIGHT"),
        ("red=lots", "weight 'lots' of 'red' is not a number"),
        ("red=-1", "must be a number >= 0"),
    ]:
        with pytest.raises(UsageError, match=message):
            train(tmp_path, photos, styles=paintings(1), names=["red"], painting_weight=[wrong])


@pytest.mark.parametrize(
    ("command", "method", "flags"),
    [
        ("stylize", "cin", ["--style-name", "--style-mix", "--all-styles / --no-all-styles"]),
        ("train", "cin", ["--add-style", "--styles-per-step", "--style-weight", "--painting-weight"]),
        ("train", "metastyle", ["--meta-lr", "--inner-steps"]),
        ("stylize", "gatys", ["--iterations", "--style-blend"]),
    ],
)
def test_help_lists_the_chosen_method_s_own_flags(cli, command, method, flags):
    result = cli(command, "--method", method, "--help")
    assert result.code == 0
    section = result.out.split(f"Options of method '{method}'")[1]
    for flag in flags:
        assert flag in section
    assert "--add-style" not in result.out.split(f"Options of method '{method}'")[0]  # no longer a core flag


def test_help_without_a_method_says_how_to_see_method_flags(cli):
    result = cli("train", "--help")
    assert result.code == 0 and "add --method NAME to this --help" in result.out
