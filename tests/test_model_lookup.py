"""--model NAME: shipped models are found by name, files by path, and a wrong name says what ships."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from styletool import TransformerNet, UsageError, load_image, save_image
from styletool.io import shipped
from styletool.io.modelfile import save_model


@pytest.fixture
def fake_shipped(tmp_path, monkeypatch):
    """A shipped-models folder holding one tiny cin model (two styles), the default for cin."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    net = TransformerNet(num_styles=2, architecture="light")
    path = save_model(
        folder / "tiny.safetensors",
        {k: v.half() for k, v in net.state_dict().items()},
        {
            "method": "cin",
            "styles": ["alpha", "beta"],
            "num_styles": 2,
            "architecture": "light",
            "network": "transformer-cin",
        },
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "MANIFEST.json").write_text(
        json.dumps(
            [
                {
                    "name": "tiny",
                    "method": "cin",
                    "file": path.name,
                    "sha256": digest,
                    "default": True,
                    "summary": "two test styles",
                }
            ]
        )
    )
    monkeypatch.setattr(shipped, "SHIPPED_DIR", folder)
    monkeypatch.setattr(shipped, "MANIFEST", folder / "MANIFEST.json")
    shipped.shipped_models.cache_clear()
    yield path
    shipped.shipped_models.cache_clear()


def test_a_name_finds_the_shipped_file_and_a_path_stays_a_path(fake_shipped, tmp_path):
    assert shipped.resolve_model("tiny") == fake_shipped
    own = tmp_path / "tiny"  # a file of the same name in the working folder wins: paths are never shadowed
    own.write_bytes(b"x")
    assert shipped.resolve_model(own) == own
    assert shipped.resolve_model("missing/model.safetensors").name == "model.safetensors"  # the loader names it
    with pytest.raises(UsageError, match="no model file or shipped model named 'tiyn'.*shipped models: tiny"):
        shipped.resolve_model("tiyn")


def test_defaults_are_per_method(fake_shipped):
    assert shipped.model_for("cin", []) == [fake_shipped]
    assert shipped.model_for("johnson", []) == []
    assert shipped.default_model("cin").name == "tiny"


def test_stylize_without_model_uses_the_shipped_default_and_style_names(fake_shipped, cli, tmp_path):
    photo = tmp_path / "photo.png"
    save_image(torch.rand(3, 24, 32), photo)
    first = cli("stylize", str(photo), "--method", "cin", "--style-name", "beta", "-o", str(tmp_path / "b.png"))
    assert first.code == 0, first.out + first.err
    by_index = cli(
        "stylize", str(photo), "--method", "cin", "--model", "tiny", "--style-index", "1", "-o", str(tmp_path / "i.png")
    )
    assert by_index.code == 0, by_index.out + by_index.err
    assert torch.equal(load_image(tmp_path / "b.png").pixels, load_image(tmp_path / "i.png").pixels)
    wrong = cli("stylize", str(photo), "--method", "cin", "--style-name", "gamma", "-o", str(tmp_path / "g.png"))
    assert (
        wrong.code != 0
        and "no style named 'gamma'" in (wrong.out + wrong.err)
        and "0=alpha, 1=beta" in (wrong.out + wrong.err)
    )
    both = cli(
        "stylize",
        str(photo),
        "--method",
        "cin",
        "--style-name",
        "beta",
        "--style-index",
        "0",
        "-o",
        str(tmp_path / "x.png"),
    )
    assert both.code != 0 and "not --style-index and --style-name" in (both.out + both.err)
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "x.png").exists()


def test_models_lists_the_shipped_models_and_info_takes_a_name(fake_shipped, cli):
    listing = cli("models")
    assert listing.code == 0, listing.out + listing.err
    assert (
        "tiny" in (listing.out + listing.err)
        and "alpha, beta" in (listing.out + listing.err)
        and "default for --method cin" in (listing.out + listing.err)
    )
    as_json = cli("models", "--json")
    assert json.loads(as_json.out)["styles"] == ["alpha", "beta"]
    info = cli("models", "info", "tiny")
    assert info.code == 0 and "0=alpha, 1=beta" in (info.out + info.err)
