"""MetaStyle from a conditional network: the row predictor, the instant picture (--steps 0), adaptation and strength."""

from __future__ import annotations

import pytest
import torch
from test_metastyle import adapt, meta_train, paintings, photos, stylize  # noqa: F401 (photos is a fixture)

from styletool import (
    ModelFileError,
    PerceptualLoss,
    PerceptualOptions,
    TransformerNet,
    UsageError,
    load_model,
    save_model,
)
from styletool_metastyle.predictor import (
    StylePredictor,
    fit_choices,
    load_meta_model,
    one_style_network,
    painting_statistics,
    recolour,
    style_row,
    vary_painting,
)


def conditional_start(folder, *, names=("red", "green", "blue")) -> TransformerNet:
    """A small cin-like model with a neutral row and distinct rows, saved as folder/cin.safetensors."""
    torch.manual_seed(0)
    cin = TransformerNet(num_styles=len(names), architecture="light", neutral=True)
    with torch.no_grad():
        for table in cin.style_parameters():
            table.normal_(1.0, 0.3)
    metadata = {
        "method": "cin",
        "network": "transformer-cin",
        "num_styles": len(names),
        "neutral": True,
        "architecture": "light",
        "styles": list(names),
    }
    save_model(folder / "cin.safetensors", cin.state_dict(), metadata)
    return cin


# The predictor learns with the loss the starting cin network was trained with.
PREDICTOR_TRAINING = {"inner_steps": 0, "normalize": "relative", "style_weight": 2.0}


@pytest.fixture(scope="module")
def predicted(tmp_path_factory, photos):  # noqa: F811
    folder = tmp_path_factory.mktemp("predicted")
    cin = conditional_start(folder)
    method, result = meta_train(folder, photos, steps=2, model=folder / "cin.safetensors", **PREDICTOR_TRAINING)
    return method, result.output, cin


def test_a_predictor_meta_model_keeps_the_start_network_and_adapts_one_row_of_it(predicted, tmp_path):
    method, path, cin = predicted
    net, predictor, model = load_meta_model(path, method="metastyle")
    assert model.metadata["kind"] == "meta" and predictor is not None
    for name, value in net.state_dict().items():
        assert torch.equal(value, cin.state_dict()[name]), name  # only the predictor learns
    adapted, _, adapted_model = load_meta_model(
        adapt(method, path, tmp_path / "a.safetensors", steps=0).output, method="metastyle"
    )
    assert adapted_model.metadata["kind"] == "adapted" and adapted.num_styles == 1 and adapted.neutral
    assert torch.allclose(style_row(adapted, 1), style_row(cin, 3))  # the neutral row, as it was


def test_the_warm_start_picks_each_training_painting_s_own_row(tmp_path, photos):  # noqa: F811
    cin = conditional_start(tmp_path)
    # A vanishing learning rate: what comes out is the warm start.
    method, result = meta_train(
        tmp_path, photos, steps=1, lr=1e-12, model=tmp_path / "cin.safetensors", **PREDICTOR_TRAINING
    )
    _, predictor, _ = load_meta_model(result.output, method="metastyle")
    loss = PerceptualLoss.build(method.runtime, load_loss_weights(result.output))
    for index, painting in enumerate(paintings(1, 2, 3)):
        blend = predictor(painting_statistics(loss, painting, size=32))[0]
        assert blend.argmax() == index and blend[index] > 0.5
        assert torch.isclose(blend.sum(), torch.tensor(1.0))
    assert cin.num_styles == 3


def load_loss_weights(path):
    saved = load_model(path).metadata["training"]["loss"]
    return PerceptualOptions(**saved).perceptual_weights()


def test_predictor_training_resumes_exactly_and_inner_steps_change_it(tmp_path, photos):  # noqa: F811
    conditional_start(tmp_path)
    start = tmp_path / "cin.safetensors"
    _, straight = meta_train(tmp_path / "a", photos, steps=4, model=start, **PREDICTOR_TRAINING)
    _, first = meta_train(tmp_path / "b", photos, steps=2, model=start, **PREDICTOR_TRAINING)
    _, resumed = meta_train(tmp_path / "b", photos, steps=4, resume=first.checkpoint, model=start, **PREDICTOR_TRAINING)
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    bilevel = {**PREDICTOR_TRAINING, "inner_steps": 1, "inner_lr": 1e-2, "first_order": True}
    _, inner = meta_train(tmp_path / "c", photos, steps=4, model=start, **bilevel)
    changed = [
        name
        for name, value in straight.model.predictor.state_dict().items()
        if not torch.equal(value, inner.model.predictor.state_dict()[name])
    ]
    assert changed


def test_steps_0_gives_the_predicted_blend_without_photos(predicted, tmp_path):
    method, path, cin = predicted
    result = adapt(method, path, tmp_path / "now.safetensors", steps=0)
    adapted, _, _ = load_meta_model(result.output, method="metastyle")
    net, predictor, model = load_meta_model(path, method="metastyle")
    loss = PerceptualLoss.build(method.runtime, load_loss_weights(path))
    blend = predictor(painting_statistics(loss, paintings(9)[0], size=32))[0]
    expected = one_style_network(cin, blend)
    for name, value in adapted.state_dict().items():
        assert torch.allclose(value, expected.state_dict()[name], atol=1e-6), name
    assert not torch.allclose(style_row(adapted, 0), style_row(one_style_network(cin), 0))  # not the average


def test_adapting_only_the_rows_keeps_the_neutral_row_so_strength_0_gives_the_photo_back(predicted, photos, tmp_path):  # noqa: F811
    method, path, cin = predicted
    result = adapt(method, path, tmp_path / "rows.safetensors", content_dir=photos, only_norm=True, steps=3)
    adapted, _, _ = load_meta_model(result.output, method="metastyle")
    predicted_only, _, _ = load_meta_model(
        adapt(method, path, tmp_path / "p.safetensors", steps=0).output, method="metastyle"
    )
    assert not torch.allclose(style_row(adapted, 0), style_row(predicted_only, 0))  # adaptation moved the row
    assert torch.allclose(style_row(adapted, 1), style_row(cin, 3))  # the neutral row is untouched
    photo = torch.rand(1, 3, 32, 32)
    zero = stylize(method, photo, models=[result.output], strength=0.0)
    with torch.no_grad():
        neutral = cin(photo, "neutral").clamp(0, 1)
    assert torch.allclose(zero, neutral, atol=1e-4)
    half = stylize(method, photo, models=[result.output], strength=0.5)
    full = stylize(method, photo, models=[result.output])
    assert (half - zero).abs().mean() < (full - zero).abs().mean()


def test_steps_0_needs_a_predictor(tmp_path, photos):  # noqa: F811
    method, result = meta_train(tmp_path, photos, steps=1)
    with pytest.raises(UsageError, match="predictor"):
        adapt(method, result.output, tmp_path / "x.safetensors", steps=0)


def test_a_damaged_predictor_is_a_model_file_error_naming_the_file(predicted, tmp_path):
    _, path, _ = predicted
    model = load_model(path)
    tensors = {name: value for name, value in model.tensors.items() if name != "predictor.out.weight"}
    metadata = {k: v for k, v in model.metadata.items() if k not in ("format", "styletool_version")}
    save_model(tmp_path / "broken.safetensors", tensors, metadata)
    with pytest.raises(ModelFileError, match="predictor") as caught:
        load_meta_model(tmp_path / "broken.safetensors", method="metastyle")
    assert "broken.safetensors" in str(caught.value)


def test_an_untrained_predictor_blends_every_row_alike_and_the_warm_start_learns_the_choices():
    torch.manual_seed(0)
    statistics = torch.randn(6, 10)
    predictor = StylePredictor(10, 6, hidden=16)
    predictor.fit_inputs(statistics)
    assert torch.allclose(predictor(statistics), torch.full((6, 6), 1 / 6))
    assert fit_choices(predictor, statistics, torch.arange(6), steps=300, lr=1e-2) > 0.9


def test_painting_variants_are_reproducible_and_recolouring_keeps_grey_levels():
    painting = torch.rand(1, 3, 60, 40, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    first = vary_painting(painting, torch.Generator().manual_seed(3))
    again = vary_painting(painting, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert 30 <= first.shape[-2] <= 60 and 20 <= first.shape[-1] <= 40
    turned = recolour(painting, hue=2.0, saturation=0.8)
    assert torch.allclose(turned.mean(1), painting.mean(1), atol=1e-5)  # mid-tones: nothing clipped
    assert (turned - painting).abs().mean() > 0.01


def test_adapting_with_steps_needs_photos_but_steps_0_does_not(predicted, tmp_path):
    method, path, _ = predicted
    with pytest.raises(UsageError, match="no photos to adapt on"):
        adapt(method, path, tmp_path / "none.safetensors", steps=2)
    assert not (tmp_path / "none.safetensors").exists()
    assert adapt(method, path, tmp_path / "now.safetensors", steps=0).output.is_file()
