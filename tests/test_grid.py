"""`styletool grid`: which columns a comparison has, and the labelled grid it renders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image as PILImage

from styletool import TransformerNet, UsageError, load_image, save_model
from styletool.cli.grid import plan_columns
from styletool.grid import LABEL_HEIGHT, fit_in_cell

NEEDS = {"gatys": True, "johnson": False, "metastyle": False}


def test_columns_follow_what_each_method_paints_from():
    a, b, m1, m2 = Path("starry.jpg"), Path("scream.jpg"), Path("one.safetensors"), Path("two.safetensors")
    gatys = plan_columns(["gatys"], [a, b], {"gatys": []}, NEEDS)
    assert [(c.label, c.styles) for c in gatys] == [("starry", [a]), ("scream", [b])]
    johnson = plan_columns(["johnson"], [], {"johnson": [m1, m2]}, NEEDS)
    assert [(c.label, c.models) for c in johnson] == [("one", [m1]), ("two", [m2])]
    # A meta-trained model adapts to each painting: a column per painting.
    meta = plan_columns(["metastyle"], [a, b], {"metastyle": [m1]}, NEEDS)
    assert [(c.label, c.styles, c.models) for c in meta] == [("starry", [a], [m1]), ("scream", [b], [m1])]
    both = plan_columns(["gatys", "metastyle"], [a], {"gatys": [m1], "metastyle": [m1]}, NEEDS)
    assert [c.label for c in both] == ["gatys: starry", "metastyle: starry"]
    with pytest.raises(UsageError, match="needs at least one --style"):
        plan_columns(["gatys"], [], {"gatys": [m1]}, NEEDS)
    with pytest.raises(UsageError, match="needs a --model"):
        plan_columns(["johnson"], [], {"johnson": []}, NEEDS)


def test_cli_renders_originals_first_and_each_result_in_its_cell(cli, tmp_path):
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(
            save_model(tmp_path / f"m{seed}.safetensors", TransformerNet().state_dict(), {"method": "johnson"})
        )
    photos = []
    for index, color in enumerate([(200, 40, 40), (40, 40, 200)]):
        photos.append(tmp_path / f"p{index}.png")
        PILImage.new("RGB", (48, 32), color).save(photos[-1])
    out = tmp_path / "grid.png"
    result = cli(
        "grid",
        *photos,
        "--method",
        "johnson",
        "--model",
        models[0],
        "--model",
        models[1],
        "--size",
        "48",
        "--cell",
        "40",
        "-o",
        out,
    )
    assert result.code == 0, result.err
    grid = load_image(out).pixels
    step = 40 + LABEL_HEIGHT + 8  # cell, label, gap
    assert grid.shape[-2:] == (3 * (40 + LABEL_HEIGHT) + 16, 3 * 40 + 16)
    assert torch.all(grid[:, :40, :40] > 0.99)  # top-left: blank
    assert grid[:, 40 : 40 + LABEL_HEIGHT, 48:88].min() < 0.5  # the first model's name under its column
    photo = fit_in_cell(load_image(photos[1]).pixels[None], 40)[0]
    assert (grid[:, 2 * step : 2 * step + 40, :40] - photo).abs().max() < 2 / 255  # second photo, first column
    for row in (1, 2):
        for column in (1, 2):
            cell = grid[:, row * step : row * step + 40, column * 48 : column * 48 + 40]
            assert cell.std() > 0.01  # a stylized result, not a blank cell

    again = cli("grid", *photos, "--method", "johnson", "--model", models[0], "--size", "48", "-o", out)
    assert again.code == 1 and "output already exists" in again.err
    mixed = cli(
        "grid",
        photos[0],
        "--method",
        "gatys",
        "--method",
        "johnson",
        "--iterations",
        "5",
        "--style",
        photos[1],
        "--model",
        models[0],
        "-o",
        tmp_path / "x.png",
    )
    assert mixed.code == 2 and "apply to one --method" in mixed.err and not (tmp_path / "x.png").exists()


def test_grid_uses_the_method_s_shipped_model_and_options_and_shows_variants(cli, tmp_path):
    """`grid --method cin` with no --model: the shipped model, the style chosen by its option, as stylize paints it."""
    photo = tmp_path / "p.png"
    PILImage.effect_noise((40, 30), 60).convert("RGB").save(photo)
    out = tmp_path / "grid.png"
    result = cli(
        "grid", photo, "--method", "cin", "--style-name", "the_scream", "--size", "40", "--cell", "40", "-o", out
    )
    assert result.code == 0, result.err
    grid = load_image(out).pixels
    assert grid.shape[-2:] == (2 * (40 + LABEL_HEIGHT) + 8, 2 * 40 + 8)  # one column: the shipped 'paintings'
    import styletool

    painted = styletool.stylize(photo, method="cin", options={"style_name": "the_scream"}, size=40)
    cell = grid[:, 40 + LABEL_HEIGHT + 8 :, 48:][:, :40, :40]
    assert (cell - fit_in_cell(painted[None], 40)[0]).abs().mean() < 2 / 255

    sheet = cli(
        "grid", photo, "--method", "cin", "--all-styles", "--size", "40", "--cell", "80", "-o", tmp_path / "s.png"
    )
    assert sheet.code == 0, sheet.err  # a cell holds the labelled sheet of every style
