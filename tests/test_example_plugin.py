"""The third-party plugin example in docs/examples works through `styletool stylize`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import numpy
import pytest
from PIL import Image as PILImage

from conftest import REPO

EXAMPLE = REPO / "docs" / "examples" / "styletool-posterize"


@pytest.fixture
def example_on_path(tmp_path):
    """Make the example importable with its entry point, as `pip install` would.

    The dist-info folder is generated from the example's own pyproject.toml,
    so the test exercises the entry point the example really declares.
    """
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    dist_info = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = ["[styletool]"] + [f"{name} = {value}" for name, value in project["entry-points"]["styletool"].items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLE), str(tmp_path), env.get("PYTHONPATH", "")])
    return env


def run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "styletool", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


def test_example_plugin_is_listed(example_on_path):
    result = run(example_on_path, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    assert '"name": "posterize"' in result.stdout and '"distribution": "styletool-posterize"' in result.stdout
    shown = run(example_on_path, "methods", "show", "posterize")
    assert "--levels" in shown.stdout


def test_example_method_runs_through_stylize(example_on_path, tmp_path):
    photo = tmp_path / "photo.png"
    gradient = PILImage.linear_gradient("L").resize((64, 48)).convert("RGB")
    gradient.save(photo)
    out = tmp_path / "poster.png"
    result = run(example_on_path, "stylize", photo, "--method", "posterize", "--levels", "3", "-o", out)
    assert result.returncode == 0, result.stderr
    with PILImage.open(out) as img:
        assert img.size == (64, 48)
        values = set(numpy.asarray(img.convert("RGB"))[..., 0].ravel().tolist())
    assert values <= {0, 128, 255}  # three levels: 0, 0.5, 1
    assert len(values) == 3


def test_example_loss_and_backbone_serve_a_built_in_method(example_on_path, tmp_path):
    # A third party's loss and backbone, through the public module only, used by the gatys method by name.
    listed = run(example_on_path, "losses")
    assert "channel-mean" in listed.stdout
    backbones = run(example_on_path, "backbones")
    assert "edges" in backbones.stdout
    photo, painting, out = tmp_path / "photo.png", tmp_path / "painting.png", tmp_path / "out.png"
    PILImage.linear_gradient("L").resize((48, 32)).convert("RGB").save(photo)
    PILImage.new("RGB", (40, 40), (200, 40, 30)).save(painting)
    result = run(
        example_on_path,
        "stylize",
        photo,
        "--style",
        painting,
        "--backbone",
        "edges",
        "--style-loss",
        "channel-mean",
        "--content-layers",
        "relu2",
        "--style-layers",
        "relu1,relu2",
        "--iterations",
        "20",
        "--size",
        "48",
        "-o",
        out,
    )
    assert result.returncode == 0, result.stderr
    with PILImage.open(out) as img:
        picture = numpy.asarray(img.convert("RGB"), dtype=float)
    original = numpy.asarray(PILImage.open(photo).convert("RGB"), dtype=float)
    # The painting is flat red: matching its channel means pushes the grey gradient's colours apart.
    assert picture.shape == original.shape and numpy.abs(picture - original).mean() > 2


def test_the_example_uses_only_the_public_styletool_module():
    import ast

    for path in (EXAMPLE / "styletool_posterize").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("styletool."):
                raise AssertionError(f"{path.name} imports {node.module}: plugins use `from styletool import ...`")
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("styletool.") for alias in node.names), path.name
