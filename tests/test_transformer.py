"""The shared transformer network: shape, size, padding, conditional styles."""

from __future__ import annotations

import pytest
import torch

from styletool import TransformerNet
from styletool.nn.transformer import count_parameters


def test_parameter_count_matches_johnson_et_al():
    assert abs(count_parameters(TransformerNet()) - 1_680_000) < 10_000


@pytest.mark.parametrize("size", [(33, 47), (64, 64), (5, 9), (21, 16)])
def test_any_input_size_comes_back_the_same_size(size):
    net = TransformerNet().eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert torch.isfinite(out).all()


def test_no_transposed_convolutions():
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in TransformerNet().modules())


def test_conditional_network_selects_and_blends_styles():
    torch.manual_seed(0)
    net = TransformerNet(num_styles=3).eval()
    # Give each style distinct tables so outputs differ.
    for table in net.style_parameters():
        table.data += torch.randn_like(table) * 0.5
    photo = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, b = net(photo, style=0), net(photo, style=1)
        half = net(photo, style=torch.tensor([0.5, 0.5, 0.0]))
        one_hot = net(photo, style=torch.tensor([1.0, 0.0, 0.0]))
    assert not torch.allclose(a, b)
    assert torch.allclose(one_hot, a, atol=1e-5)
    # A 50/50 mix is neither style, and closer to each than they are to each other.
    gap = (a - b).abs().mean()
    assert (half - a).abs().mean() < gap and (half - b).abs().mean() < gap


def test_per_image_styles_in_one_batch():
    torch.manual_seed(0)
    net = TransformerNet(num_styles=2).eval()
    for table in net.style_parameters():
        table.data += torch.randn_like(table)
    photos = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        batch = net(photos, style=torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        first = net(photos[:1], style=0)
        second = net(photos[1:], style=1)
    assert torch.allclose(batch[0], first[0], atol=1e-5) and torch.allclose(batch[1], second[0], atol=1e-5)


def test_style_argument_errors_are_clear():
    with pytest.raises(ValueError, match="one style"):
        TransformerNet()(torch.rand(1, 3, 8, 8), style=0)
    with pytest.raises(ValueError, match="out of range"):
        TransformerNet(num_styles=2)(torch.rand(1, 3, 8, 8), style=2)
    with pytest.raises(ValueError, match="pass style"):
        TransformerNet(num_styles=2)(torch.rand(1, 3, 8, 8))


def test_add_style_keeps_old_styles():
    torch.manual_seed(0)
    net = TransformerNet(num_styles=2).eval()
    for table in net.style_parameters():
        table.data += torch.randn_like(table)
    photo = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        before = [net(photo, style=i) for i in range(2)]
        index = net.add_style()
        after = [net(photo, style=i) for i in range(2)]
    assert index == 2 and net.num_styles == 3
    assert all(torch.equal(x, y) for x, y in zip(before, after))


def test_light_network_has_a_quarter_of_the_parameters_and_the_same_interface():
    light = TransformerNet(architecture="light").eval()
    assert abs(count_parameters(light) - 425_000) < 5_000
    image = torch.rand(1, 3, 37, 50)
    assert light(image).shape == image.shape
    cin = TransformerNet(num_styles=3, architecture="light").eval()
    assert cin(image, style=2).shape == image.shape
    with pytest.raises(ValueError, match="unknown architecture 'tiny'"):
        TransformerNet(architecture="tiny")


def test_model_files_remember_their_architecture(tmp_path):
    from styletool import load_transformer
    from styletool.io.modelfile import save_model

    net = TransformerNet(architecture="light").eval()
    path = save_model(
        tmp_path / "m.safetensors",
        {k: v.half() for k, v in net.state_dict().items()},
        {"method": "johnson", "architecture": "light"},
    )
    loaded, _ = load_transformer(path, method="johnson")
    assert loaded.architecture == "light"
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():  # stored in fp16, computed in fp32: far below one level of 255
        assert (loaded(image) - net(image)).abs().max() < 2e-3
