"""--model NAME: shipped models are found by name, files by path, and a wrong name says what ships.

The shipped models here come from a test plugin, as a third-party plugin ships
them: a ModelSpec for the file, and a method whose default_model names it.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

import styletool_johnson
from styletool import MethodSpec, ModelSpec, TransformerNet, UsageError, hookimpl, load_image, save_image
from styletool.io import shipped
from styletool.io.modelfile import save_model

from conftest import make_module


@pytest.fixture
def fake_shipped(tmp_path, fake_plugins):
    """A plugin shipping one tiny cin model (two styles), the default of its cin method; johnson beside it."""
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

    @hookimpl
    def register_methods(register):
        register(
            MethodSpec(
                name="cin",
                summary="cin with a model of its own",
                load="styletool_cin.method:CinMethod",
                options="styletool_cin.options:CinOptions",
                default_model="tiny",
            )
        )

    @hookimpl
    def register_models(register):
        register(ModelSpec(name="tiny", summary="two test styles", method="cin", file=path, sha256=digest))

    plugin = make_module("tinyship", register_methods=register_methods, register_models=register_models)
    fake_plugins(tinyship=plugin, johnson=styletool_johnson)
    return path


def test_a_name_finds_the_shipped_file_and_a_path_stays_a_path(fake_shipped, tmp_path, monkeypatch):
    assert shipped.resolve_model("tiny") == fake_shipped
    own = tmp_path / "tiny"  # a file of the same name in the working folder wins: paths are never shadowed
    own.write_bytes(b"x")
    assert shipped.resolve_model(own) == own
    assert shipped.resolve_model("missing/model.safetensors").name == "model.safetensors"  # the loader names it
    folder = tmp_path / "work"
    (folder / "tiny").mkdir(parents=True)  # a folder of that name is no model file: the name still finds it
    monkeypatch.chdir(folder)
    assert shipped.resolve_model("tiny") == fake_shipped
    with pytest.raises(UsageError, match="no model file or shipped model named 'tiyn'.*shipped models: tiny"):
        shipped.resolve_model("tiyn")


def test_defaults_are_per_method(fake_shipped):
    assert shipped.model_for("cin", []) == [fake_shipped]
    assert shipped.model_for("johnson", []) == []
    assert shipped.default_model("cin").name == "tiny"
    assert shipped.default_model("cin").plugin == "tinyship"


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
    as_json = json.loads(cli("models", "--json").out)
    assert as_json["styles"] == ["alpha", "beta"] and as_json["plugin"] == "tinyship" and as_json["default"] is True
    info = cli("models", "info", "tiny")
    assert info.code == 0 and "0=alpha, 1=beta" in (info.out + info.err)
