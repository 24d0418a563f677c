"""Every file styletool writes goes through one atomic writer: normal permissions, nothing left on failure."""

from __future__ import annotations

import os

import pytest
import torch

from styletool import TransformerNet, save_image, save_model
from styletool.io.atomic import replacing
from styletool.training import save_checkpoint


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


WRITERS = {
    "image": lambda path: save_image(torch.rand(3, 4, 4), path.with_suffix(".png")),
    "model": lambda path: save_model(
        path.with_suffix(".safetensors"), TransformerNet().state_dict(), {"method": "johnson", "styles": ["x"]}
    ),
    "checkpoint": lambda path: save_checkpoint(path.with_suffix(".pt"), {"step": 3}) or path.with_suffix(".pt"),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_written_files_have_the_permissions_of_any_new_file(tmp_path, kind):
    path = WRITERS[kind](tmp_path / "out")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not the temporary file's private 0600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("kind", WRITERS)
def test_replacing_a_file_keeps_its_permissions(tmp_path, kind):
    first = WRITERS[kind](tmp_path / "out")
    first.chmod(0o640)
    again = WRITERS[kind](tmp_path / "out")
    assert again == first and again.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(path) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]
