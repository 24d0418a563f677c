"""Batch semantics of `stylize`: inputs from folders, patterns and stdin; existing outputs; failures; batching."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image as PILImage

from styletool import TransformerNet, UsageError, load_image, save_model
from styletool.pipeline.files import expand_inputs, output_paths, safe_name_part


def _photo(path, size=(40, 30), color=(200, 120, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "photos"
    _photo(root / "b.png")
    _photo(root / "a.jpg")
    (root / "notes.txt").write_text("not a photo")
    _photo(root / "sub" / "c.png")
    _photo(root / ".hidden" / "d.png")
    return root


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    return save_model(
        tmp_path / "j.safetensors", TransformerNet().state_dict(), {"method": "johnson", "styles": ["noise"]}
    )


# -- which inputs --------------------------------------------------------------------
def test_a_folder_gives_its_images_and_recursive_its_subfolders_too(tree):
    assert [p.name for p in expand_inputs([str(tree)])] == ["a.jpg", "b.png"]
    assert [p.name for p in expand_inputs([str(tree)], recursive=True)] == ["a.jpg", "b.png", "c.png"]


def test_patterns_stdin_and_duplicates(tree):
    assert [p.name for p in expand_inputs([str(tree / "*.png")])] == ["b.png"]
    assert [p.name for p in expand_inputs([str(tree / "**" / "*.png")], recursive=True)] == ["b.png", "c.png"]
    stdin = io.StringIO(f"{tree / 'a.jpg'}\n\n{tree / 'sub' / 'c.png'}\n")
    found = expand_inputs(["-", str(tree / "a.jpg")], stdin=stdin)
    assert [p.name for p in found] == ["a.jpg", "c.png"]  # each input once, in first-seen order


def test_empty_folders_and_patterns_that_match_nothing_are_usage_errors(tmp_path, tree):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no images in the folder"):
        expand_inputs([str(tmp_path / "empty")])
    with pytest.raises(UsageError, match="add --recursive"):
        expand_inputs([str(_only_subfolders(tmp_path))])
    with pytest.raises(UsageError, match="no files match"):
        expand_inputs([str(tree / "*.webp")])
    assert expand_inputs([str(tmp_path / "missing.jpg")]) == [tmp_path / "missing.jpg"]  # fails later, on its own


def _only_subfolders(tmp_path):
    root = tmp_path / "nested"
    _photo(root / "deeper" / "x.png")
    return root


# -- where outputs go ----------------------------------------------------------------------
def test_template_fields_cannot_escape_the_output_folder(tmp_path):
    paths = output_paths(
        [tmp_path / "photo.jpg"],
        output=None,
        output_dir=tmp_path / "out",
        name="{stem}_{style}.{ext}",
        fmt=None,
        method="gatys",
        style_label="../../x",
    )
    assert paths == [tmp_path / "out" / "photo__.._x.png"]  # separators replaced, leading dots dropped
    with pytest.raises(UsageError, match="outside --output-dir"):
        output_paths(
            [tmp_path / "photo.jpg"],
            output=None,
            output_dir=tmp_path / "out",
            name="../{stem}.{ext}",
            fmt=None,
            method="gatys",
            style_label="s",
        )
    assert safe_name_part("..hidden/../name") == "hidden_.._name"


# -- the command line ----------------------------------------------------------------------
def test_existing_outputs_are_refused_skipped_or_overwritten(cli, tmp_path, model):
    photos = [_photo(tmp_path / f"p{i}.png") for i in range(2)]
    out = tmp_path / "out"
    first = cli("stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", out)
    assert first.code == 0, first.err
    target = out / "p0_j_johnson.png"
    target.write_bytes(b"keep me")  # a file the next runs must not touch unless told to
    refused = cli("stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", out, "--json")
    assert refused.code == 1 and "output already exists; pass --overwrite" in refused.err
    assert "0 done, 0 skipped, 2 failed" in refused.err and target.read_bytes() == b"keep me"
    skipped = cli(
        "stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", out, "--skip-existing", "--json"
    )
    assert skipped.code == 0 and [json.loads(line)["status"] for line in skipped.out.splitlines()] == [
        "skipped",
        "skipped",
    ]
    assert target.read_bytes() == b"keep me"
    replaced = cli("stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", out, "--overwrite")
    assert replaced.code == 0 and load_image(target).size == (40, 30)
    both = cli(
        "stylize",
        *photos,
        "--method",
        "johnson",
        "--model",
        model,
        "--output-dir",
        out,
        "--overwrite",
        "--skip-existing",
    )
    assert both.code == 2


def test_one_output_that_exists_is_a_one_line_error(cli, tmp_path, model):
    photo = _photo(tmp_path / "p.png")
    out = tmp_path / "o.png"
    out.write_bytes(b"old")
    result = cli("stylize", photo, "--method", "johnson", "--model", model, "-o", out)
    assert result.code == 1 and result.err.strip().splitlines() == [
        f"error: {out}: output already exists; pass --overwrite to replace it (or --skip-existing)"
    ]
    assert out.read_bytes() == b"old"


def test_failures_do_not_stop_the_others_unless_fail_fast(cli, tmp_path, model):
    good = [_photo(tmp_path / "a.png"), _photo(tmp_path / "c.png")]
    broken = tmp_path / "b.png"
    broken.write_text("not an image")
    out = tmp_path / "out"
    result = cli(
        "stylize", good[0], broken, good[1], "--method", "johnson", "--model", model, "--output-dir", out, "--json"
    )
    records = [json.loads(line) for line in result.out.splitlines()]
    assert result.code == 1 and [r["status"] for r in records] == ["ok", "failed", "ok"]
    assert records[1]["error"].startswith(str(broken)) and records[0]["settings"]["models"] == [str(model)]
    assert "2 done, 0 skipped, 1 failed" in result.err
    fast = cli(
        "stylize",
        good[0],
        broken,
        good[1],
        "--method",
        "johnson",
        "--model",
        model,
        "--output-dir",
        tmp_path / "ff",
        "--fail-fast",
        "--batch-size",
        "1",
    )
    assert fast.code == 1 and "1 done, 0 skipped, 1 failed" in fast.err
    assert not (tmp_path / "ff" / "c_j_johnson.png").exists()


def test_folder_input_with_stdin_and_recursive(cli, tmp_path, tree, model, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{tree / 'a.jpg'}\n"))
    result = cli("stylize", "-", "--method", "johnson", "--model", model, "--output-dir", tmp_path / "o1")
    assert result.code == 0 and [p.name for p in (tmp_path / "o1").iterdir()] == ["a_j_johnson.png"]
    result = cli(
        "stylize", tree, "--recursive", "--method", "johnson", "--model", model, "--output-dir", tmp_path / "o2"
    )
    assert result.code == 0 and sorted(p.name for p in (tmp_path / "o2").iterdir()) == [
        "a_j_johnson.png",
        "b_j_johnson.png",
        "c_j_johnson.png",
    ]


def test_batched_feed_forward_outputs_equal_one_at_a_time(cli, tmp_path, model):
    photos = [_photo(tmp_path / f"p{i}.png", color=(40 * i, 200 - 30 * i, 90)) for i in range(5)]
    photos.append(_photo(tmp_path / "wide.png", size=(48, 20)))  # another size: a batch of its own
    batched = cli(
        "stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", tmp_path / "b", "--batch-size", "2"
    )
    single = cli(
        "stylize", *photos, "--method", "johnson", "--model", model, "--output-dir", tmp_path / "s", "--batch-size", "1"
    )
    assert batched.code == single.code == 0
    for photo in photos:
        name = f"{photo.stem}_j_johnson.png"
        a, b = load_image(tmp_path / "b" / name).pixels, load_image(tmp_path / "s" / name).pixels
        assert a.shape == b.shape and (a - b).abs().max() <= 1 / 255
