"""Batch `stylize` under torchrun: inputs sharded across processes, the summary gathered on rank 0."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import torch
from PIL import Image as PILImage

from styletool import TransformerNet, load_image, save_model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(*args, processes=2) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(processes),
        "--master_port",
        str(_free_port()),
        "-m",
        "styletool",
        *[str(a) for a in args],
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_two_processes_share_a_batch_and_rank_0_reports_the_whole_run(cli, tmp_path):
    torch.manual_seed(0)
    model = save_model(
        tmp_path / "j.safetensors", TransformerNet().state_dict(), {"method": "johnson", "styles": ["noise"]}
    )
    photos = tmp_path / "photos"
    photos.mkdir()
    gen = torch.Generator().manual_seed(3)
    for index in range(6):  # different sizes, so batching differs between the runs
        pixels = (torch.rand(24 + 4 * index, 32, 3, generator=gen) * 255).to(torch.uint8).numpy()
        PILImage.fromarray(pixels).save(photos / f"p{index}.png")
    (photos / "p6.png").write_bytes(b"not a png")  # fails in whichever process gets it

    single = tmp_path / "single"
    alone = cli("stylize", photos, "--method", "johnson", "--model", model, "--output-dir", single)
    assert alone.code == 1 and "6 done, 0 skipped, 1 failed" in alone.err

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "p0_j_johnson.png").write_bytes(b"kept")  # already there: skipped, not redone
    run = _torchrun(
        "--device",
        "cpu",
        "stylize",
        photos,
        "--method",
        "johnson",
        "--model",
        model,
        "--output-dir",
        shared,
        "--skip-existing",
        "--json",
    )
    assert run.returncode != 0, "a failed input must fail the torchrun job"
    # One summary for the whole run, printed once, by rank 0.
    assert run.stderr.count("5 done, 1 skipped, 1 failed") == 1, run.stderr[-3000:]
    assert run.stderr.count("p6.png: not an image") == 1  # by the process that had it, once
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert sorted((r["input"].rsplit("/", 1)[-1], r["status"]) for r in records) == [
        ("p0.png", "skipped"),
        ("p1.png", "ok"),
        ("p2.png", "ok"),
        ("p3.png", "ok"),
        ("p4.png", "ok"),
        ("p5.png", "ok"),
        ("p6.png", "failed"),
    ]

    assert (shared / "p0_j_johnson.png").read_bytes() == b"kept"
    for index in range(1, 6):
        name = f"p{index}_j_johnson.png"
        a, b = load_image(single / name).pixels, load_image(shared / name).pixels
        assert a.shape == b.shape and (a - b).abs().max() <= 1 / 255 + 1e-6, name
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        ["p0_j_johnson.png", *(f"p{i}_j_johnson.png" for i in range(1, 6))]
    )


def test_stdin_inputs_are_refused_under_torchrun(cli, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = cli("stylize", "-", "--method", "johnson", "--model", "m.safetensors", "--output-dir", "out")
    assert result.code == 2 and "stdin (-) does not work under torchrun" in result.err
