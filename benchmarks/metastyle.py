"""MetaStyle speed: meta-training outer steps (second- vs first-order), adaptation time, and any painting from the shell.

Meta-training is timed through the method itself (the shared engine, data
loading included) at the default meta-batch of 4 styles. Adaptation is
timed through ``adapt`` at the default settings (Adam, batch 4, 256 px) beside
a plain Adam loop over the same network and loss written here, in the same
process, on one preloaded batch: the ratio is what the engine (data,
reporting, model file) costs on top of the arithmetic. On a CPU a 200-step
adaptation takes many minutes, so fewer steps are timed and the per-step
rate is scaled to 200 steps (said so in the table).

"Any painting" times what a user waits for, from the shell prompt to the
written file, in fresh processes (the cache off): `stylize --style` with the
shipped meta-model at ``--steps 0`` (the predicted picture) and at the
adaptation defaults, beside the adaptation settings that were the defaults
before the predictor (100 Adam steps of every parameter at 192 px) as the
baseline, and Python importing torch as the floor.
"""

from __future__ import annotations

import time

import torch

from benchmarks.measure import sync
from styletool import AdaptRequest, PerceptualLoss, TrainRequest, TrainSettings, TransformerNet, load_image
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

CONTENT = "../shared/images/content"
STYLES = ["starry_night", "the_scream", "mondrian", "shipwreck"]
ADAPT_STYLE = "woman-with-hat-matisse"


def _painting(name, runtime):
    return runtime.to_device(load_image(f"../shared/images/style/{name}.jpg").pixels[None])


def meta_training(runtime, *, steps, image_size, first_order, workdir):
    """Outer steps per second of meta-training (the first step, which warms up, is not counted)."""
    method = runtime.method("metastyle")
    options = make_options(resolve(runtime.registry.method("metastyle").train_options), {"first_order": first_order})
    settings = TrainSettings(steps=steps, batch_size=4, image_size=image_size, checkpoint_every=0, workers=2)
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=CONTENT,
        output=workdir / f"meta{first_order}.safetensors",
        styles=[_painting(n, runtime) for n in STYLES],
        style_names=STYLES,
    )
    stamps = []
    method.train(request, progress=lambda e: (sync(runtime.device), stamps.append(time.perf_counter())))
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]), workdir / f"meta{first_order}.safetensors"


def adaptation(runtime, meta_path, *, steps, image_size, workdir):
    """Seconds per adaptation step through ``adapt``, and through a plain Adam loop of the same loss."""
    method = runtime.method("metastyle")
    spec = runtime.registry.method("metastyle")
    painting = _painting(ADAPT_STYLE, runtime)
    options = make_options(resolve(spec.adapt_options), {"steps": steps, "image_size": image_size})
    stamps = []
    started = time.perf_counter()
    method.adapt(
        AdaptRequest(
            options=options,
            model=meta_path,
            style=painting,
            style_name=ADAPT_STYLE,
            output=workdir / "adapted.safetensors",
            content_dir=CONTENT,
        ),
        progress=lambda e: (sync(runtime.device), stamps.append(time.perf_counter())),
    )
    total = time.perf_counter() - started
    ours = (stamps[-1] - stamps[0]) / (len(stamps) - 1)

    # Plain: the same network, loss and optimizer on one preloaded batch, nothing else.
    loss_options = make_options(resolve(spec.train_options), {})
    perceptual = PerceptualLoss.build(runtime, loss_options.perceptual_weights())
    target = perceptual.style_target(painting, size=loss_options.style_size)
    net = TransformerNet().to(runtime.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    photos = torch.rand(4, 3, image_size, image_size, device=runtime.device)
    times = []
    for _ in range(min(steps, 6)):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        sum(perceptual(net(photos), photos, target).values()).backward()
        optimizer.step()
        sync(runtime.device)
        times.append(time.perf_counter() - t0)
    plain = sorted(times[1:])[len(times[1:]) // 2]  # median, warm-up dropped
    return {
        "seconds_per_step": ours,
        "plain_seconds_per_step": plain,
        "seconds_total": total,
        "steps_timed": steps,
        "seconds_for_200_steps": ours * 200,
    }


# The adaptation defaults before the predictor: the baseline of "any painting".
BEFORE = ["--steps", "100", "--image-size", "192", "--batch-size", "2", "--lr", "1e-3", "--no-only-norm"]


def any_painting(*, quick: bool, workdir) -> dict[str, float] | None:
    """Wall seconds of `styletool stylize PHOTO --method metastyle --style PAINTING` per setting (None: no shipped model)."""
    import subprocess
    import sys

    from styletool.io.shipped import default_model

    if default_model("metastyle") is None:
        return None
    command = [
        sys.executable,
        *("-c", "from styletool.cli import run; run()"),
        *("--device", "cpu", "stylize", f"{CONTENT}/tubingen.jpg", "--method", "metastyle"),
        *("--style", f"../shared/images/style/{ADAPT_STYLE}.jpg", "--no-cache", "--overwrite"),
        *("--size", "128" if quick else "512", "-o", str(workdir / "out.png")),
    ]
    tiny = ["--steps", "2", "--image-size", "32"] if quick else []
    settings = {
        "predicted (--steps 0)": ["--steps", "0"],
        "defaults": tiny,
        "before: 100 steps of every parameter at 192 px": [*BEFORE, *tiny],
        "python, import torch": None,
    }
    seconds = {}
    for name, extra in settings.items():
        run = [sys.executable, "-c", "import os, torch; os._exit(0)"] if extra is None else [*command, *extra]
        started = time.perf_counter()
        subprocess.run(run, check=True, capture_output=True)
        seconds[name] = time.perf_counter() - started
    return seconds


def run(runtime, *, quick: bool, log):
    import tempfile
    from pathlib import Path

    cuda = runtime.device.type == "cuda"
    meta_size = 32 if quick else (256 if cuda else 128)
    meta_steps = 2 if quick else (30 if cuda else 6)
    adapt_size = 32 if quick else 256
    adapt_steps = 3 if quick else (200 if cuda else 12)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        second, meta_path = meta_training(
            runtime, steps=meta_steps, image_size=meta_size, first_order=False, workdir=workdir
        )
        first, _ = meta_training(runtime, steps=meta_steps, image_size=meta_size, first_order=True, workdir=workdir)
        log(f"meta-training {meta_size}px: second-order {second:.3f} steps/s, first-order {first:.3f} steps/s")
        adapt = adaptation(runtime, meta_path, steps=adapt_steps, image_size=adapt_size, workdir=workdir)
        log(str(adapt))
        painting = any_painting(quick=quick, workdir=workdir)
        log(f"any painting: {painting}")
    scaled = "" if adapt_steps == 200 else f" (from {adapt_steps} timed steps)"
    rows = [
        f"| meta-training, {meta_size} px, batch 2+2, 4 styles, second-order | {second:.3f} outer steps/s | "
        f"{first:.3f} outer steps/s (first-order) | {second / first:.2f}x |",
        f"| adaptation, {adapt_size} px, batch 4, 200 Adam steps{scaled} | {adapt['seconds_for_200_steps']:.1f} s | "
        f"{adapt['plain_seconds_per_step'] * 200:.1f} s (plain Adam loop) | "
        f"{adapt['plain_seconds_per_step'] / adapt['seconds_per_step']:.2f}x |",
    ]
    if painting is not None:
        before = painting["before: 100 steps of every parameter at 192 px"]
        rows += [
            f"| any painting from the shell ({'quick settings' if quick else '512 px'}), {name} | {value:.1f} s | "
            f"{before:.1f} s (before) | {before / value:.2f}x |"
            for name, value in painting.items()
            if not name.startswith("before")
        ]
    table = "\n".join(
        ["### MetaStyle", "", "| measure | styletool | baseline | ratio |", "| --- | --- | --- | --- |", *rows]
    )
    return {
        "meta_training": {
            "image_size": meta_size,
            "second_order_steps_per_second": second,
            "first_order_steps_per_second": first,
        },
        "adaptation": {"image_size": adapt_size, **adapt},
        "any_painting_seconds": painting,
    }, table
