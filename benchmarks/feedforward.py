"""Feed-forward inference and training speed: styletool's johnson path against a plain eager run.

The plain baseline is the same network with the same weights, run the
textbook way: ``eval()``, ``torch.no_grad()``, fp32, default memory layout.
styletool's numbers are the johnson method's own ``stylize`` (whatever it
does to be fast on the device), by default and with ``--compile``. Outputs
are compared so speed never hides a wrong answer.
"""

from __future__ import annotations

import time

import torch

from styletool import StylizeRequest, TransformerNet, load_image, resize_longest, save_model

CONTENT = "../shared/images/content/chicago.jpg"


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_of(run, device, repeats):
    run()  # warm-up (allocations, compiled kernels)
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def inference(runtime, sizes, repeats, workdir):
    """Per size: the plain network, styletool's default path, and ``--compile`` in its two regimes.

    ``--compile`` specializes its code to the first image size it sees and
    switches to size-generic code at the first size change. So a folder of
    same-size photos (video frames, a camera's output) runs the one-size
    code, measured here after ``torch._dynamo.reset()`` so each size compiles
    afresh; a folder of mixed sizes runs the generic code, measured on a
    network that has already seen two other sizes.
    """
    torch.manual_seed(0)
    net = TransformerNet()
    path = save_model(workdir / "bench.safetensors", net.state_dict(), {"method": "johnson", "styles": ["random"]})
    from styletool_johnson.options import JohnsonOptions

    method = runtime.method("johnson")
    eager_request = StylizeRequest(options=JohnsonOptions(), model=path)
    compiled_request = StylizeRequest(options=JohnsonOptions(compile=True), model=path)
    eager = method.prepare(eager_request)
    photo = load_image(CONTENT).pixels[None]
    mixed = method.prepare(compiled_request)
    for size in (96, 160):  # two sizes first, so the sizes measured below run the size-generic code
        method.stylize(runtime.to_device(resize_longest(photo, size)), compiled_request, mixed)
    plain = TransformerNet()
    plain.load_state_dict(net.state_dict())
    plain = plain.to(runtime.device).eval()
    images = {size: runtime.to_device(resize_longest(photo, size)) for size in sizes}
    figures = {}

    def measure(size, label, request, prepared):
        image = images[size]

        def run_plain():
            with torch.no_grad():
                return plain(image).clamp(0, 1)

        def run_ours():
            return method.stylize(image, request, prepared)

        if size not in figures:
            figures[size] = {"plain_ms": _best_of(run_plain, runtime.device, repeats) * 1e3}
        started = time.perf_counter()
        error = float((run_plain() - run_ours()).abs().max())  # the first call compiles, when asked to
        first_call = time.perf_counter() - started
        ms = _best_of(run_ours, runtime.device, repeats) * 1e3
        figures[size][label] = {"ms": ms, "speedup": figures[size]["plain_ms"] / ms, "max_abs_diff": error,
                                "first_call_s": first_call}

    for size in sizes:
        measure(size, "styletool", eager_request, eager)
        measure(size, "styletool --compile, mixed sizes", compiled_request, mixed)
    for size in sizes:
        torch._dynamo.reset()  # forget every compiled size: this size compiles afresh, specialized
        measure(size, "styletool --compile, one size", compiled_request, method.prepare(compiled_request))
    rows = []
    for size, values in figures.items():
        h, w = images[size].shape[-2:]
        for label in ("styletool", "styletool --compile, one size", "styletool --compile, mixed sizes"):
            v = values[label]
            rows.append(f"| johnson inference {w}x{h}, {label} | {v['ms']:.1f} ms | {values['plain_ms']:.1f} ms (plain eager fp32) "
                        f"| {v['speedup']:.2f}x (max diff {v['max_abs_diff']:.1e}; first call {v['first_call_s']:.1f} s) |")
    return figures, rows


def training_steps(runtime, steps, image_size, batch_size, workdir):
    """Steps per second of the shared engine training johnson (data loading included)."""
    from styletool import TrainRequest, TrainSettings
    from styletool.options import make_options
    from styletool.specs import resolve

    method = runtime.method("johnson")
    options = make_options(resolve(runtime.registry.method("johnson").train_options), {})
    style = load_image("../shared/images/style/starry_night.jpg").pixels[None]
    settings = TrainSettings(steps=steps, batch_size=batch_size, image_size=image_size, checkpoint_every=0, workers=2)
    request = TrainRequest(options=options, settings=settings, content_dir="../shared/images/content",
                           output=workdir / "train.safetensors", styles=[runtime.to_device(style)], style_names=["starry_night"])
    stamps = []
    method.train(request, progress=lambda e: (_sync(runtime.device), stamps.append(time.perf_counter())))
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return {"steps_per_second": rate, "images_per_second": rate * batch_size, "image_size": image_size, "batch_size": batch_size}


def run(runtime, *, quick: bool, log):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        sizes = [128, 256] if quick else [256, 512, 1024]
        figures, rows = inference(runtime, sizes, repeats=2 if quick else 5, workdir=workdir)
        for size, values in figures.items():
            log(f"{size}px: {values}")
        cuda = runtime.device.type == "cuda"
        train = training_steps(runtime, steps=4 if quick else (60 if cuda else 12), image_size=128 if quick else 256,
                               batch_size=4 if quick or not cuda else 16, workdir=workdir)
        log(str(train))
    rows.append(f"| johnson training, {train['image_size']} px crops, batch {train['batch_size']} | "
                f"{train['steps_per_second']:.2f} steps/s ({train['images_per_second']:.1f} img/s) | | |")
    table = "\n".join(["### Feed-forward (johnson)", "", "| measure | styletool | baseline | ratio |", "| --- | --- | --- | --- |", *rows])
    return {"inference": figures, "training": train}, table
