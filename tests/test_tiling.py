"""Tiled feed-forward stylizing: the same result as untiled, in bounded memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from PIL import Image as PILImage

from styletool import load_image, save_model
from styletool.nn import tiling
from styletool.nn.inference import for_inference
from styletool.nn.tiling import stylize_tiled

from conftest import shared_file
from networks import trained_like


def _photo(height, width, seed=0):
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 8 + 1, width // 8 + 1, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return (smooth + 0.05 * torch.rand(1, 3, height, width, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("size, tile", [((220, 300), 64), ((157, 203), 50), ((96, 96), 1024)])
def test_tiled_equals_untiled(size, tile):
    network = for_inference(trained_like())
    image = _photo(*size)
    with torch.no_grad():
        whole = network(image)
    tiled = stylize_tiled(network, image, tile=tile)
    assert tiled.shape == whole.shape
    torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
    # The network is left as it was: untiled calls still normalize per image.
    with torch.no_grad():
        torch.testing.assert_close(network(image), whole)


def test_tiled_conditional_network_and_a_batch_of_two():
    network = for_inference(trained_like(num_styles=3), torch.tensor([0.2, 0.5, 0.3]))
    images = torch.cat([_photo(120, 160, seed=1), _photo(120, 160, seed=2)])
    with torch.no_grad():
        whole = network(images)
    torch.testing.assert_close(stylize_tiled(network, images, tile=48), whole, atol=1e-4, rtol=0)


def test_per_tile_normalization_would_show_but_shared_statistics_do_not():
    """Why the statistics are gathered over the whole image: tiles normalized alone disagree visibly."""
    network = for_inference(trained_like())
    image = _photo(128, 256)
    with torch.no_grad():
        whole = network(image)
        halves = torch.cat([network(image[..., :128]), network(image[..., 128:])], dim=-1)
    assert (halves - whole).abs().mean() > 100 * (stylize_tiled(network, image, tile=128) - whole).abs().mean()


def test_run_network_tiles_when_the_image_would_not_fit(monkeypatch):
    network = for_inference(trained_like())
    image = _photo(96, 128)
    calls = []
    real = tiling.stylize_tiled
    monkeypatch.setattr(tiling, "stylize_tiled", lambda *a, **k: calls.append(k) or real(*a, **k))
    with torch.no_grad():
        whole = network(image)
        tiling.run_network(network, image)
        assert calls == []  # fits: untiled
        monkeypatch.setattr(tiling, "available_memory", lambda device: 1 << 20)
        torch.testing.assert_close(tiling.run_network(network, image), whole, atol=1e-4, rtol=0)
        assert len(calls) == 1
        tiling.run_network(network, image, tile=32)
        assert calls[-1]["tile"] == 32


def test_cli_tile_option_gives_the_same_picture(cli, tmp_path):
    path = tmp_path / "photo.png"
    PILImage.fromarray((_photo(90, 120)[0].permute(1, 2, 0) * 255).byte().numpy()).save(path)
    model = save_model(tmp_path / "m.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]})
    for name, extra in (("whole.png", []), ("tiled.png", ["--tile", "40"])):
        result = cli("stylize", path, "--method", "johnson", "--model", model, "-o", tmp_path / name, *extra)
        assert result.code == 0, result.err
    a, b = load_image(tmp_path / "whole.png").pixels, load_image(tmp_path / "tiled.png").pixels
    assert (a - b).abs().max() <= 1 / 255


@pytest.mark.slow
def test_a_4096_pixel_photo_stylizes_on_the_cpu_in_under_4_gb(tmp_path):
    """About 1-2 minutes on 2 cores. Peak resident memory of the whole `styletool stylize` process."""
    photo = load_image(shared_file("images", "content", "tubingen.jpg")).pixels[None]
    big = torch.nn.functional.interpolate(photo, size=(4096, 4096), mode="bilinear", align_corners=False).clamp(0, 1)
    source = tmp_path / "big.jpg"
    PILImage.fromarray((big[0].permute(1, 2, 0) * 255).round().byte().numpy()).save(source, quality=90)
    del photo, big
    model = save_model(tmp_path / "m.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]})
    out = tmp_path / "out.png"
    script = (
        "import resource, sys\n"
        "from styletool.cli import main\n"
        "try:\n"
        f"    main(['stylize', {str(source)!r}, '--method', 'johnson', '--model', {str(model)!r}, '-o', {str(out)!r}, '--tile', '1024'])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(code or 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    peak_gb = int(run.stdout.strip().splitlines()[-1]) / 2**20
    print(f"peak resident memory {peak_gb:.2f} GB")
    assert peak_gb < 4.0
    assert load_image(out).size == (4096, 4096)


def test_tiled_and_large_untiled_runs_report_their_progress(monkeypatch):
    network = for_inference(trained_like())
    image = _photo(96, 128)
    with torch.no_grad():
        whole = network(image)
        events = []
        tiled = tiling.run_network(network, image, tile=32, progress=events.append)
        torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
        assert {event.stage for event in events} == {"tiles"}
        assert [event.step for event in events] == list(range(1, events[-1].total + 1))  # one per pass, to the end
        layers = []
        assert tiling.run_network(network, image, progress=layers.append) is not None and layers == []  # small: quiet
        monkeypatch.setattr(tiling, "REPORT_FROM_PIXELS", 96 * 128)
        torch.testing.assert_close(tiling.run_network(network, image, progress=layers.append), whole)
        assert {event.stage for event in layers} == {"network"} and layers[-1].step == layers[-1].total


def test_feed_forward_methods_pass_their_progress_to_the_network(tmp_path):
    from styletool import JobListener, Runtime, StylizeJob, run_job, save_image

    photo = save_image(_photo(96, 128)[0], tmp_path / "photo.png")
    model = save_model(tmp_path / "m.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]})
    stages = []

    class Listener(JobListener):
        def progress(self, label):
            from contextlib import nullcontext

            return nullcontext(lambda event: stages.append((label, event.stage)))

    job = StylizeJob(
        inputs=[photo], outputs=[tmp_path / "o.png"], method="johnson", models=[model], options={"tile": 48}
    )
    assert run_job(job, runtime=Runtime(device="cpu"), listener=Listener()).done == 1
    assert ("photo.png", "tiles") in stages
