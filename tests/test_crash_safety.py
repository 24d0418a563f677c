"""Crash safety: killed batch runs leave only complete images; killed or interrupted training resumes exactly."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image as PILImage
from torch import nn

from styletool import TransformerNet, load_image, load_model, save_model
from styletool.training import BasicTask, PhotoFolder, Trainer, TrainingError, TrainSettings, load_checkpoint

from conftest import shared_file

STYLETOOL = [sys.executable, "-m", "styletool"]


def _wait_for(condition, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the run ended before the moment to kill it: {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in ["tubingen", "golden_gate", "chicago"]:
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), folder / f"{name}.jpg")
    return folder


def test_sigkill_during_a_batch_leaves_only_complete_images(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    generator = torch.Generator().manual_seed(0)
    for i in range(60):
        pixels = (torch.rand(3, 96, 128, generator=generator) * 255).byte().permute(1, 2, 0).numpy()
        PILImage.fromarray(pixels).save(inputs / f"p{i:02d}.png")
    torch.manual_seed(0)
    model = save_model(
        tmp_path / "m.safetensors", TransformerNet().state_dict(), {"method": "johnson", "styles": ["x"]}
    )
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            *STYLETOOL,
            "stylize",
            str(inputs),
            "--method",
            "johnson",
            "--model",
            str(model),
            "--output-dir",
            str(out),
            "--batch-size",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: out.is_dir() and len(list(out.glob("*.png"))) >= 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    assert 3 <= len(written) < 60
    for path in written:
        assert load_image(path).size == (128, 96), path  # complete and decodable
    # Whatever was mid-write is a hidden temporary file, never a half image under the output's name.
    assert all(p.name.endswith(".tmp") for p in out.iterdir() if p.name.startswith("."))
    # And the run resumes: --skip-existing does the rest.
    rerun = subprocess.run(
        [
            *STYLETOOL,
            "stylize",
            str(inputs),
            "--method",
            "johnson",
            "--model",
            str(model),
            "--output-dir",
            str(out),
            "--skip-existing",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 60


def _train_command(photos, output, *extra):
    return [
        *STYLETOOL,
        "--seed",
        "3",
        "train",
        "--method",
        "johnson",
        "--content-dir",
        str(photos),
        "--style",
        str(shared_file("images", "style", "starry_night.jpg")),
        "-o",
        str(output),
        "--steps",
        "10",
        "--batch-size",
        "2",
        "--image-size",
        "32",
        "--style-size",
        "32",
        "--workers",
        "0",
        "--checkpoint-every",
        "2",
        *extra,
    ]


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _weights(path):
    return load_model(path).tensors


def test_sigkill_after_a_checkpoint_then_resume_matches_an_uninterrupted_run(tmp_path, photos):
    straight = subprocess.run(
        _train_command(photos, tmp_path / "straight.safetensors"), capture_output=True, text=True, timeout=600
    )
    assert straight.returncode == 0, straight.stderr
    output = tmp_path / "killed.safetensors"
    checkpoint = tmp_path / "killed.checkpoints" / "last.pt"
    process = subprocess.Popen(
        _train_command(photos, output), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _wait_for(checkpoint.is_file, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not output.exists()
    step = load_checkpoint(checkpoint)["step"]
    assert 2 <= step < 10
    resumed = subprocess.run(
        _train_command(photos, output, "--resume", str(checkpoint)), capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(tmp_path / "straight.safetensors"), _weights(output)
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_sigint_saves_a_checkpoint_and_exits_cleanly(tmp_path, photos):
    output = tmp_path / "model.safetensors"
    checkpoint = tmp_path / "model.checkpoints" / "last.pt"
    process = subprocess.Popen(
        _train_command(photos, output, "--steps", "400"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: a suite started in the background (`cmd &`) hands its children an ignored SIGINT.
        preexec_fn=_default_sigint,
    )
    _wait_for(checkpoint.is_file, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    assert 2 <= load_checkpoint(checkpoint)["step"] < 400
    assert not output.exists()


class _ExplodingTask(BasicTask):
    """A tiny task whose loss becomes NaN at a chosen step."""

    def __init__(self, nan_at: int):
        self.model = nn.Conv2d(3, 3, 1)
        self.metadata = {"method": "test"}
        self.nan_at = nan_at

    def loss(self, model, photos, step):
        value = (model(photos) - photos).pow(2).mean()
        return {"content": value * float("nan") if step + 1 >= self.nan_at else value}


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, photos):
    task = _ExplodingTask(nan_at=4)
    data = PhotoFolder(photos, image_size=16)
    settings = TrainSettings(steps=10, batch_size=1, image_size=16, checkpoint_every=2, workers=0)
    trainer = Trainer(
        task, data, settings, device=torch.device("cpu"), output=tmp_path / "m.safetensors", method="test"
    )
    with pytest.raises(TrainingError, match=r"content loss became nan at step 4.*last good checkpoint") as caught:
        trainer.run()
    assert "m.checkpoints" in str(caught.value)
    saved = load_checkpoint(tmp_path / "m.checkpoints" / "last.pt")
    assert saved["step"] == 2 and all(torch.isfinite(v).all() for v in saved["model"].values())
    assert all(torch.isfinite(p).all() for p in task.model.parameters())  # the NaN never reached the weights
    assert not (tmp_path / "m.safetensors").exists()
