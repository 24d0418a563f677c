"""Training speed: the engine's default against a plain loop of the network and loss it replaced, and DDP.

The baseline is what `styletool train` did before the fast engine: Johnson
et al.'s full network, fp32, the same perceptual loss and Adam, written as a
bare loop over one preloaded batch in the same process. Against it the
engine runs as a user gets it (photos decoded and cropped from
../shared/images/content, the first step not counted), in four settings
that split the gain: its defaults (light network, bf16 autocast where the
hardware computes bf16, channels-last), the full network at the default
precision, the light network in fp32, and the full network in fp32 (what
the engine itself costs over a bare loop).

DDP scaling runs johnson training under torchrun with 1 and then 2
processes (gloo on a CPU, NCCL on GPUs) and compares images per second;
on a CPU the processes share the cores, so this measures the overhead of
the distributed path as much as any gain.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.measure import mb, peak_memory, sync
from styletool import PerceptualLoss, Runtime, TrainRequest, TrainSettings, TransformerNet, load_image
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

CONTENT = "../shared/images/content"
STYLES = ["starry_night", "the_scream", "mondrian"]
# (label, network, precision) of the engine runs; "auto" is the default.
ENGINE_SETTINGS = [
    ("defaults (light network, auto precision)", "light", "auto"),
    ("--network full", "full", "auto"),
    ("--precision fp32 (light network)", "light", "fp32"),
    ("--network full --precision fp32", "full", "fp32"),
]


def _painting(name, runtime):
    return runtime.to_device(load_image(f"../shared/images/style/{name}.jpg").pixels[None])


def engine(runtime, name, *, styles, steps, image_size, batch_size, workdir, network="light"):
    """Images per second and peak memory of ``styletool train --method NAME --network NETWORK``."""
    method = runtime.method(name)
    options = make_options(resolve(runtime.registry.method(name).train_options), {"network": network})
    settings = TrainSettings(steps=steps, batch_size=batch_size, image_size=image_size, checkpoint_every=0, workers=0)
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=CONTENT,
        output=workdir / f"{name}.safetensors",
        styles=[_painting(s, runtime) for s in styles],
        style_names=list(styles),
    )
    stamps = []
    with peak_memory(runtime.device) as peak:
        method.train(request, progress=lambda event: (sync(runtime.device), stamps.append(time.perf_counter())))
    steps_per_second = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return {"images_per_second": steps_per_second * batch_size, "peak_mb": peak.megabytes}


def plain(runtime, *, num_styles, steps, image_size, batch_size):
    """Images per second of a bare fp32 training loop of the full network and the same loss (one preloaded batch)."""
    loss_options = make_options(resolve(runtime.registry.method("johnson").train_options), {})
    perceptual = PerceptualLoss.build(runtime, loss_options.perceptual_weights())
    targets = [
        perceptual.style_target(_painting(s, runtime), size=loss_options.style_size) for s in STYLES[:num_styles]
    ]
    torch.manual_seed(0)
    net = TransformerNet(num_styles=num_styles if num_styles > 1 else None, architecture="full").to(runtime.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    photos = torch.rand(batch_size, 3, image_size, image_size, device=runtime.device)
    stamps = []
    for step in range(steps):
        optimizer.zero_grad()
        index = step % num_styles
        output = net(photos, style=index) if num_styles > 1 else net(photos)
        sum(perceptual(output, photos, targets[index]).values()).backward()
        optimizer.step()
        sync(runtime.device)
        stamps.append(time.perf_counter())
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) * batch_size


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ddp(runtime, *, processes, steps, image_size, batch_size, workdir):
    """Images per second of johnson training under torchrun with ``processes`` processes (batch per process)."""
    out = workdir / f"ddp{processes}"
    out.mkdir()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(processes),
        "--master_port",
        str(_free_port()),
        "-m",
        "benchmarks.ddp_worker",
        str(out),
        str(runtime.device.type),
        str(steps),
        str(image_size),
        str(batch_size),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=Path(__file__).parent.parent)
    if run.returncode != 0:
        raise RuntimeError(f"torchrun with {processes} processes failed:\n{run.stderr[-2000:]}")
    return json.loads((out / "rate.json").read_text())


def run(runtime, *, quick: bool, log):
    import tempfile

    cuda = runtime.device.type == "cuda"
    steps = 3 if quick else (40 if cuda else 8)
    size = 64 if quick else 256
    batch = 2 if quick else (16 if cuda else 4)
    figures, rows = {}, []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        for name, styles in (("johnson", STYLES[:1]), ("cin", STYLES)):
            # The plain loop first: it loads the loss network, so the engine's peak memory is its own.
            base = plain(runtime, num_styles=len(styles), steps=steps, image_size=size, batch_size=batch)
            figures[name] = {"plain_images_per_second": base, "image_size": size, "batch_size": batch, "engine": {}}
            label = f"{name} training, {size} px crops, batch {batch}{', ' + str(len(styles)) + ' styles' if name == 'cin' else ''}"
            for setting, network, precision in ENGINE_SETTINGS[:1] if quick else ENGINE_SETTINGS:
                ours = engine(
                    Runtime(device=str(runtime.device), precision=precision, seed=0),
                    name,
                    styles=styles,
                    steps=steps,
                    image_size=size,
                    batch_size=batch,
                    workdir=workdir,
                    network=network,
                )
                ours["speedup"] = ours["images_per_second"] / base
                figures[name]["engine"][setting] = ours
                log(f"{name} {setting}: {ours['images_per_second']:.2f} img/s, {ours['speedup']:.2f}x the plain loop")
                rows.append(
                    f"| {label}: {setting} | {ours['images_per_second']:.2f} img/s (peak {mb(ours['peak_mb'])}) "
                    f"| {base:.2f} img/s (plain loop, full network, fp32) | {ours['speedup']:.2f}x |"
                )
        ddp_size, ddp_batch, ddp_steps = (32, 2, 3) if quick else (128, 4, 10)
        one = ddp(runtime, processes=1, steps=ddp_steps, image_size=ddp_size, batch_size=ddp_batch, workdir=workdir)
        two = ddp(runtime, processes=2, steps=ddp_steps, image_size=ddp_size, batch_size=ddp_batch, workdir=workdir)
        figures["ddp"] = {
            "one_process": one,
            "two_processes": two,
            "image_size": ddp_size,
            "batch_per_process": ddp_batch,
        }
        log(f"ddp: {figures['ddp']}")
        rows.append(
            f"| johnson training under torchrun, {ddp_size} px, batch {ddp_batch} per process, 2 processes "
            f"| {two['images_per_second']:.2f} img/s | {one['images_per_second']:.2f} img/s (1 process) "
            f"| {two['images_per_second'] / one['images_per_second']:.2f}x |"
        )
    table = "\n".join(
        [
            "### Training",
            "",
            f'Precision "auto" trains in {_auto_precision(runtime)} on this machine.',
            "",
            "| measure | styletool | baseline | ratio |",
            "| --- | --- | --- | --- |",
            *rows,
        ]
    )
    return figures, table


def _auto_precision(runtime) -> str:
    dtype = Runtime(device=str(runtime.device), precision="auto").optimization_dtype
    return "fp32" if dtype is None else str(dtype).removeprefix("torch.")
