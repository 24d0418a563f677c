"""The style-neutral row: what --strength mixes toward, and how training starts from it (tiny networks)."""

from __future__ import annotations

import shutil

import pytest
import torch
from test_cin import paintings, stylize, train

from styletool import NEUTRAL, FeedForwardTask, TransformerNet, load_model
from styletool.framework.options import make_options
from styletool.framework.specs import resolve
from styletool.nn.inference import for_inference
from styletool.nn.transformer import network_from

from conftest import shared_file


def distinct(net: TransformerNet) -> TransformerNet:
    """Every table row different, as after training."""
    torch.manual_seed(0)
    for table in net.style_parameters():
        table.data += torch.randn_like(table) * 0.5
    return net.eval()


def test_strength_mixes_the_style_rows_toward_the_neutral_row():
    net = distinct(TransformerNet(num_styles=2, architecture="light", neutral=True))
    photo = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        neutral = net(photo, style=NEUTRAL)
        assert torch.allclose(net(photo, style=1, strength=0.0), neutral, atol=1e-6)
        assert torch.equal(net(photo, style=1, strength=1.0), net(photo, style=1))
        # Half strength is the network with every scale and shift halfway, not half of each picture.
        half = net(photo, style=torch.tensor([0.0, 0.5, 0.5]))
        assert torch.allclose(net(photo, style=1, strength=0.5), half, atol=1e-6)
        assert not torch.allclose(half, 0.5 * (neutral + net(photo, style=1)), atol=1e-3)


def test_the_fast_inference_network_takes_the_strength_too():
    net = distinct(TransformerNet(num_styles=2, architecture="light", neutral=True))
    photo = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        fast = for_inference(net, 1, strength=0.3)(photo)
        plain = net(photo, style=1, strength=0.3)
    assert torch.allclose(fast, plain, atol=1e-4)


def test_a_network_without_a_neutral_row_refuses_a_strength():
    net = TransformerNet(num_styles=2, architecture="light")
    with pytest.raises(ValueError, match="no neutral row"):
        net(torch.rand(1, 3, 16, 16), style=0, strength=0.5)
    with pytest.raises(ValueError, match="only a conditional network"):
        TransformerNet(architecture="light", neutral=True)


def test_a_new_style_goes_before_the_neutral_row():
    net = distinct(TransformerNet(num_styles=2, architecture="light", neutral=True))
    photo = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        before = [net(photo, style=i) for i in (0, 1)] + [net(photo, style=NEUTRAL)]
        index = net.add_style(copy_from=NEUTRAL)
        after = [net(photo, style=i) for i in (0, 1)] + [net(photo, style=NEUTRAL)]
        assert index == 2 and net.num_styles == 3 and net.rows == 4
        assert all(torch.equal(a, b) for a, b in zip(before, after))
        assert torch.equal(net(photo, style=2), after[2])  # starts as the photo given back


def test_the_neutral_start_keeps_every_row_alike_then_styles_part(tmp_path_factory):
    photos = tmp_path_factory.mktemp("photos")
    for name in ["tubingen", "chicago"]:
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), photos / f"{name}.jpg")
    _, start = train(
        tmp_path_factory.mktemp("a"), photos, styles=paintings(1, 2), names=["a", "b"], steps=3, neutral_steps=3
    )
    tables = load_model(start.output).tensors
    scale = tables["encoder.0.norm.norm.scale"]
    assert scale.shape[0] == 3 and not torch.equal(scale[0], torch.ones_like(scale[0]))
    assert torch.equal(scale[0], scale[1]) and torch.equal(scale[1], scale[2])  # learned, and all alike
    _, later = train(
        tmp_path_factory.mktemp("b"), photos, styles=paintings(1, 2), names=["a", "b"], steps=5, neutral_steps=3
    )
    scale = load_model(later.output).tensors["encoder.0.norm.norm.scale"]
    assert not torch.equal(scale[0], scale[2]) and not torch.equal(scale[1], scale[2])


def test_one_photo_of_each_batch_trains_the_neutral_row():
    net = TransformerNet(num_styles=3, architecture="light", neutral=True)
    task = FeedForwardTask(net, None, [None] * 3, styles=[0, 1, 2], metadata={}, seed=0, styles_per_step=2)
    rows = task.rows_for_step(7, 4)
    assert rows[-1] is None and all(row in (0, 1, 2) for row in rows[:-1])
    assert len(set(rows[:-1])) == 2  # two paintings share the other three photos
    assert None not in task.rows_for_step(7, 1)  # a batch of one photo paints it


def test_by_default_every_painted_photo_of_a_batch_gets_its_own_painting():
    net = TransformerNet(num_styles=16, architecture="light", neutral=True)
    task = FeedForwardTask(net, None, [None] * 16, styles=list(range(16)), metadata={}, seed=0, styles_per_step=0)
    for step in range(20):
        rows = task.rows_for_step(step, 8)
        assert rows[-1] is None and len(set(rows[:-1])) == 7  # seven paintings for the seven painted photos
        assert rows == task.rows_for_step(step, 8)  # the same again: resuming repeats the step exactly
    small = task.rows_for_step(0, 3)
    assert small[-1] is None and len(set(small[:-1])) == 2  # a small batch: a painting per photo still
    few = FeedForwardTask(
        TransformerNet(num_styles=2, neutral=True),
        None,
        [None] * 2,
        styles=[0, 1],
        metadata={},
        seed=0,
        styles_per_step=0,
    )
    rows = few.rows_for_step(3, 8)
    assert set(rows[:-1]) == {0, 1}  # fewer paintings than photos: they share the photos


def test_a_trained_cin_model_keeps_its_neutral_row_and_takes_a_strength(tmp_path_factory):
    photos = tmp_path_factory.mktemp("photos")
    for name in ["tubingen", "chicago"]:
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), photos / f"{name}.jpg")
    method, result = train(
        tmp_path_factory.mktemp("c"), photos, styles=paintings(1, 2), names=["a", "b"], steps=4, neutral_steps=2
    )
    model = load_model(result.output, method="cin")
    assert model.metadata["neutral"] is True and model.styles == ["a", "b"]
    net = network_from(model, where=result.output)
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = net(photo, style=NEUTRAL).clamp(0, 1)
    got = stylize(method, result.output, photo, style_name="b", strength=0.0)
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(stylize(method, result.output, photo, style_name="b", strength=1.0), got, atol=1e-3)


def test_old_models_without_a_neutral_row_refuse_the_dial_by_name(tmp_path):
    from styletool import Runtime, StylizeRequest, UsageError, save_model, transformer_metadata

    path = tmp_path / "old.safetensors"
    net = TransformerNet(num_styles=2, architecture="light")
    save_model(
        path,
        net.state_dict(),
        {"method": "cin", "styles": ["a", "b"], **transformer_metadata(architecture="light", num_styles=2)},
    )
    method = Runtime(device="cpu").method("cin")
    options = make_options(resolve(method.runtime.registry.method("cin").options), {"strength": 0.5})
    with pytest.raises(UsageError, match="style-neutral row") as error:
        method.prepare(StylizeRequest(options=options, model=path))
    assert "old.safetensors" in str(error.value)


class RecordingLoss:
    """Stands in for the perceptual loss: remembers the pictures it is asked to judge."""

    def __init__(self):
        self.judged: list[torch.Tensor] = []

    def __call__(self, output, photos, targets):
        self.judged.append(output.detach())
        return {"style": output.mean()}

    def reconstruction(self, output, photos):
        self.judged.append(output.detach())
        return (output - photos).abs().mean()


def test_training_judges_the_picture_as_saved_and_keeps_the_raw_output_in_range():
    """A network whose raw output leaves [0, 1] is judged by its clamped picture, and the excess costs."""
    net = TransformerNet(num_styles=2, architecture="light", neutral=True)
    with torch.no_grad():
        net.head[1].bias.fill_(3.0)  # every pixel far above 1
    recorder = RecordingLoss()
    task = FeedForwardTask(net, recorder, [None, None], styles=[0, 1], metadata={}, seed=0, neutral_steps=1)
    photos = torch.rand(4, 3, 16, 16)
    for step in (0, 1):  # the neutral start, then the paintings
        terms = task.loss(net, photos, step)
        assert float(recorder.judged[-1].max()) <= 1.0  # what the loss saw is what would be saved
        assert float(terms["range"]) > 1.0  # about (3 - 1)^2 per pixel
    sum(terms.values()).backward()
    assert net.head[1].bias.grad is not None and float(net.head[1].bias.grad.abs().sum()) > 0  # gradients get through
