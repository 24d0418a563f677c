"""styletool.stylize: the command's work from Python, with the same result."""

from __future__ import annotations

import pytest
import torch

import styletool
from styletool import UsageError, load_image, save_image, save_model

from networks import trained_like


@pytest.fixture
def files(tmp_path):
    photo = tmp_path / "photo.png"
    save_image(torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(3)), photo)
    model = save_model(
        tmp_path / "model.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]}
    )
    return photo, model


def test_stylize_from_python_paints_what_the_command_paints(cli, tmp_path, files):
    photo, model = files
    out = tmp_path / "out.png"
    assert cli("stylize", photo, "--method", "johnson", "--model", model, "-o", out).code == 0

    from_file = styletool.stylize(photo, method="johnson", model=model)
    from_tensor = styletool.stylize(load_image(photo).pixels, method="johnson", model=model)

    assert from_file.shape == (3, 40, 56)
    assert torch.equal(from_file, from_tensor)
    # The command's file holds the same picture, rounded to 8 bits.
    assert (load_image(out).pixels - from_file).abs().max() <= 0.5 / 255 + 1e-6


def test_options_are_checked_as_on_the_command_line(files):
    photo, model = files
    with pytest.raises(UsageError, match="unknown option 'tilee'; did you mean 'tile'"):
        styletool.stylize(photo, method="johnson", model=model, options={"tilee": 64})
    with pytest.raises(UsageError, match="needs at least one style painting"):
        styletool.stylize(photo, method="gatys")
    with pytest.raises(UsageError, match=r"photo must be a \[3, H, W\] RGB tensor"):
        styletool.stylize(torch.rand(1, 3, 8, 8), method="johnson", model=model)


def test_size_resizes_and_small_photos_are_not_enlarged(files):
    photo, model = files
    assert styletool.stylize(photo, method="johnson", model=model, size=28).shape == (3, 20, 28)
    small = torch.rand(3, 12, 16)
    assert styletool.stylize(small, method="johnson", model=model).shape == (3, 12, 16)
