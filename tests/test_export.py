"""`styletool export`: ONNX and TorchScript files compute what the PyTorch model computes."""

from __future__ import annotations

import json

import pytest
import torch

from styletool import save_model

from networks import trained_like


@pytest.fixture
def johnson_model(tmp_path):
    net = trained_like()
    return net, save_model(
        tmp_path / "one.safetensors",
        net.state_dict(),
        {"method": "johnson", "network": "transformer", "styles": ["starry"]},
    )


@pytest.fixture
def cin_model(tmp_path):
    net = trained_like(num_styles=3)
    return net, save_model(
        tmp_path / "three.safetensors",
        net.state_dict(),
        {"method": "cin", "network": "transformer-cin", "num_styles": 3, "styles": ["a", "b", "c"]},
    )


# Sizes the export never saw, not multiples of 4, batch of two.
PHOTOS = [
    torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1)),
    torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2)),
]


def test_onnx_file_runs_in_onnxruntime_and_matches(cli, tmp_path, johnson_model):
    ort = pytest.importorskip("onnxruntime")
    net, path = johnson_model
    result = cli("export", str(path), "--format", "onnx", "-o", str(tmp_path / "one.onnx"))
    assert result.code == 0, result.err
    session = ort.InferenceSession(str(tmp_path / "one.onnx"))
    assert [i.name for i in session.get_inputs()] == ["image"]
    for photo in PHOTOS:
        (got,) = session.run(None, {"image": photo.numpy()})
        with torch.no_grad():
            expected = net(photo).clamp(0, 1)
        assert got.shape == tuple(expected.shape)
        assert abs(got - expected.numpy()).max() < 1e-4
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["styletool_styles"]) == ["starry"] and meta["styletool_method"] == "johnson"


def test_onnx_cin_file_takes_style_weights(cli, tmp_path, cin_model):
    ort = pytest.importorskip("onnxruntime")
    net, path = cin_model
    assert cli("export", str(path), "--format", "onnx", "-o", str(tmp_path / "three.onnx")).code == 0
    session = ort.InferenceSession(str(tmp_path / "three.onnx"))
    photo = PHOTOS[0]
    style = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    (got,) = session.run(None, {"image": photo.numpy(), "style": style.numpy()})
    with torch.no_grad():
        expected = net(photo, style=style).clamp(0, 1)
    assert abs(got - expected.numpy()).max() < 1e-4


def test_torchscript_file_loads_without_styletool_and_matches(cli, tmp_path, johnson_model, cin_model):
    for (net, path), name, styles in ((johnson_model, "one.pt", ["starry"]), (cin_model, "three.pt", ["a", "b", "c"])):
        assert cli("export", str(path), "--format", "torchscript", "-o", str(tmp_path / name)).code == 0
        extra = {"styletool.json": ""}
        loaded = torch.jit.load(str(tmp_path / name), _extra_files=extra)
        assert json.loads(json.loads(extra["styletool.json"])["styletool_styles"]) == styles
        for photo in PHOTOS:
            with torch.no_grad():
                if net.conditional:
                    style = torch.softmax(torch.randn(photo.shape[0], 3), 1)
                    got, expected = loaded(photo, style), net(photo, style=style).clamp(0, 1)
                else:
                    got, expected = loaded(photo), net(photo).clamp(0, 1)
            assert got.shape == expected.shape
            assert (got - expected).abs().max() < 1e-4


def test_export_errors_are_one_line(cli, tmp_path, johnson_model):
    _, path = johnson_model
    bad_format = cli("export", str(path), "--format", "tflite", "-o", str(tmp_path / "x"))
    assert bad_format.code != 0 and "unknown export format 'tflite'" in bad_format.err
    missing = cli("export", str(tmp_path / "nope.safetensors"), "--format", "onnx", "-o", str(tmp_path / "x.onnx"))
    assert missing.code == 1 and "no such model file" in missing.err
    gatys_like = save_model(tmp_path / "other.safetensors", {"w": torch.zeros(1)}, {"method": "posterize"})
    other = cli("export", str(gatys_like), "--format", "torchscript", "-o", str(tmp_path / "x.pt"))
    assert other.code == 1 and "not a transformer network" in other.err
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "x.onnx").exists()
    assert len(other.err.strip().splitlines()) == 1


def test_a_johnson_model_with_a_neutral_row_exports_as_a_plain_network(cli, tmp_path):
    from styletool import transformer_metadata

    net = trained_like(num_styles=1, neutral=True)
    path = save_model(
        tmp_path / "neutral.safetensors",
        net.state_dict(),
        {
            "method": "johnson",
            "styles": ["starry"],
            **transformer_metadata(architecture="full", num_styles=1, neutral=True),
        },
    )
    assert cli("export", str(path), "--format", "torchscript", "-o", str(tmp_path / "one.pt")).code == 0
    loaded = torch.jit.load(str(tmp_path / "one.pt"))
    for photo in PHOTOS:
        with torch.no_grad():
            got, expected = loaded(photo), net(photo, style=0).clamp(0, 1)  # the image alone, full strength
        assert (got - expected).abs().max() < 1e-4
