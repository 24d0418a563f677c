"""Model files: safetensors with metadata; never executes code; one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from styletool.io.modelfile import FORMAT_VERSION, ModelFileError, load_model, read_metadata, save_model


def _save(path, **meta):
    return save_model(path, {"w": torch.arange(6.0).reshape(2, 3)}, {"method": "johnson", "styles": ["a"], **meta})


def test_round_trip_keeps_tensors_and_metadata(tmp_path):
    path = _save(tmp_path / "m.safetensors", backbone="vgg19")
    model = load_model(path, method="johnson")
    assert torch.equal(model.tensors["w"], torch.arange(6.0).reshape(2, 3))
    assert model.method == "johnson" and model.styles == ["a"]
    assert model.metadata["format"] == FORMAT_VERSION and model.metadata["backbone"] == "vgg19"
    assert "styletool_version" in read_metadata(path)


def test_another_methods_model_is_refused(tmp_path):
    path = _save(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="'johnson' model, not a 'cin' model"):
        load_model(path, method="cin")


def test_truncated_file_is_one_line_error(tmp_path):
    path = _save(tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_newer_format_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "future.safetensors"
    save_file(
        {"w": torch.zeros(1)},
        str(path),
        metadata={"styletool": json.dumps({"format": FORMAT_VERSION + 1, "method": "johnson"})},
    )
    with pytest.raises(ModelFileError, match="newer"):
        load_model(path)


def test_pickle_and_foreign_files_are_refused_without_running_them(tmp_path):
    # A pickle that would create a file if it were ever unpickled.
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    pickled = tmp_path / "evil.safetensors"
    torch.save({"x": Evil()}, pickled)
    with pytest.raises(ModelFileError):
        load_model(pickled)
    assert not marker.exists()
    foreign = tmp_path / "plain.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(ModelFileError, match="not a styletool model"):
        load_model(foreign)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.safetensors")


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    path = _save(tmp_path / "m.safetensors")
    before = path.read_bytes()
    import safetensors.torch

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(ModelFileError, match="no space|No space"):
        _save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
