"""Feed-forward inference speed and peak memory: styletool's johnson path against a plain eager run.

The plain baseline is the same network with the same weights, run the
textbook way: ``eval()``, ``torch.no_grad()``, fp32, default memory layout.
styletool's numbers are the johnson method's own ``stylize`` (whatever it
does to be fast on the device), by default, with ``--compile`` and, where
the CPU has them, with 8-bit integer convolutions (``--int8``). Outputs are
compared so speed never hides a wrong answer: the exact paths by their
largest difference, the integer path by its PSNR against the plain network.
"""

from __future__ import annotations

import functools
import math
import time

import torch

from benchmarks.measure import best_of_interleaved, mb, peak_memory
from styletool import StylizeRequest, TransformerNet, load_image, resize_longest, save_model
from styletool.nn.int8 import int8_unavailable
from styletool.perceptual.metrics import psnr

CONTENT = "../shared/images/content/chicago.jpg"
LIGHT_PHOTO = "../shared/images/content/tubingen.jpg"


def inference(runtime, sizes, repeats, workdir, *, compile_sizes=()):
    """Per size: the plain network, styletool's default path, and ``--compile`` in its two regimes.

    ``--compile`` specializes its code to the first image size it sees and
    switches to size-generic code at the first size change. So a folder of
    same-size photos (video frames, a camera's output) runs the one-size
    code, measured here after ``torch._dynamo.reset()`` so each size compiles
    afresh; a folder of mixed sizes runs the generic code, measured on a
    network that has already seen two other sizes. ``--compile`` is measured
    at ``compile_sizes`` only (each size costs a compilation).

    ``--int8`` is measured at every size where the device can run it.

    Peak memory (RSS on a CPU, allocated on a GPU) is taken for one call of
    the plain network, one of styletool's default path and one of ``--int8``.
    """
    torch.manual_seed(0)
    net = TransformerNet()
    path = save_model(workdir / "bench.safetensors", net.state_dict(), {"method": "johnson", "styles": ["random"]})
    from styletool_johnson.options import JohnsonOptions

    method = runtime.method("johnson")
    eager_request = StylizeRequest(options=JohnsonOptions(), model=path)
    compiled_request = StylizeRequest(options=JohnsonOptions(compile=True), model=path)
    int8_request = StylizeRequest(options=JohnsonOptions(int8=True), model=path)
    eager = method.prepare(eager_request)
    int8 = None if int8_unavailable(runtime.device) else method.prepare(int8_request)
    photo = load_image(CONTENT).pixels[None]
    mixed = method.prepare(compiled_request)
    for size in (
        (96, 160) if compile_sizes else ()
    ):  # two sizes first, so the sizes measured below run the size-generic code
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
            with peak_memory(runtime.device) as plain_peak:
                run_plain()
            figures[size] = {"plain_ms": math.inf, "plain_peak_mb": plain_peak.megabytes}
        started = time.perf_counter()
        ours = run_ours()  # the first call compiles, when asked to
        first_call = time.perf_counter() - started
        reference = run_plain()
        difference = reference - ours
        # Alternating the two keeps a burst of load from other work on the machine from landing on one side only.
        best = best_of_interleaved({"plain": run_plain, "ours": run_ours}, runtime.device, repeats)
        figures[size]["plain_ms"] = min(figures[size]["plain_ms"], best["plain"] * 1e3)
        figures[size][label] = {
            "ms": best["ours"] * 1e3,
            "max_abs_diff": float(difference.abs().max()),
            "psnr_db": psnr(reference, ours) if difference.any() else None,  # None: identical (JSON has no inf)
            "first_call_s": first_call,
        }
        if "compile" not in label:
            with peak_memory(runtime.device) as our_peak:
                run_ours()
            figures[size][label]["peak_mb"] = our_peak.megabytes
            if label == "styletool":
                figures[size]["styletool_peak_mb"] = our_peak.megabytes

    for size in sizes:
        measure(size, "styletool", eager_request, eager)
        if int8 is not None:
            measure(size, "styletool --int8", int8_request, int8)
        if size in compile_sizes:
            measure(size, "styletool --compile, mixed sizes", compiled_request, mixed)
    for size in compile_sizes:
        torch._dynamo.reset()  # forget every compiled size: this size compiles afresh, specialized
        measure(size, "styletool --compile, one size", compiled_request, method.prepare(compiled_request))
    for values in figures.values():  # each against the fastest plain run seen at its size
        for value in values.values():
            if isinstance(value, dict):
                value["speedup"] = values["plain_ms"] / value["ms"]
    rows = []
    for size, values in figures.items():
        h, w = images[size].shape[-2:]
        for label in (
            "styletool",
            "styletool --int8",
            "styletool --compile, one size",
            "styletool --compile, mixed sizes",
        ):
            if label not in values:
                continue
            v = values[label]
            memory = ""
            if "peak_mb" in v:
                memory = f"; peak {mb(v['peak_mb'])} vs {mb(values['plain_peak_mb'])}"
            agreement = (
                f"PSNR {v['psnr_db']:.1f} dB"
                if "int8" in label and v["psnr_db"] is not None
                else f"max diff {v['max_abs_diff']:.1e}"
            )
            rows.append(
                f"| johnson inference {w}x{h}, {label} | {v['ms']:.1f} ms | {values['plain_ms']:.1f} ms (plain eager fp32) "
                f"| {v['speedup']:.2f}x ({agreement}; first call {v['first_call_s']:.1f} s{memory}) |"
            )
    return figures, rows


def light_network(runtime, repeats, workdir, *, size: int = 512):
    """Per-photo time of a light-network model through styletool against the full network, plain, at one size.

    The photo is tubingen at ``size`` px (512x384 by default): the size the
    per-photo target of the light network is stated at. Both networks have
    random weights (the arithmetic does not depend on them).
    """
    torch.manual_seed(0)
    full = TransformerNet(architecture="full").to(runtime.device).eval()
    light = TransformerNet(architecture="light")
    path = save_model(
        workdir / "light.safetensors",
        light.state_dict(),
        {"method": "johnson", "styles": ["random"], "architecture": "light"},
    )
    from styletool_johnson.options import JohnsonOptions

    method = runtime.method("johnson")
    image = runtime.to_device(resize_longest(load_image(LIGHT_PHOTO).pixels[None], size))

    def run_plain():
        with torch.no_grad():
            return full(image).clamp(0, 1)

    variants = {"light network": JohnsonOptions()}
    if not int8_unavailable(runtime.device):
        variants["light network --int8"] = JohnsonOptions(int8=True)
    figures = {}
    for label, options in variants.items():
        request = StylizeRequest(options=options, model=path)
        prepared = method.prepare(request)
        best = best_of_interleaved(
            {"plain": run_plain, "ours": functools.partial(method.stylize, image, request, prepared)},
            runtime.device,
            repeats,
        )
        figures[label] = {
            "ms": best["ours"] * 1e3,
            "plain_ms": best["plain"] * 1e3,
            "speedup": best["plain"] / best["ours"],
        }
    h, w = image.shape[-2:]
    rows = [
        f"| {label} inference {w}x{h} | {v['ms']:.1f} ms | {v['plain_ms']:.1f} ms (full network, plain eager fp32) "
        f"| {v['speedup']:.2f}x |"
        for label, v in figures.items()
    ]
    return figures, rows


def reduced_precision(runtime, net, repeats, *, graphs: bool, size: int = 512):
    """Half precision, memory layout and graph capture: which of them pay off on this device, at ``size`` x ``size``.

    Each variant is styletool's fast network (:func:`styletool.nn.inference.for_inference`)
    under autocast, taking turns with the plain fp32 network. On a GPU this
    is what decides fp16 or bf16, channels-last or not, and whether CUDA
    graphs (``torch.compile(mode="reduce-overhead")``, when ``graphs``) are
    worth it; 512x512 is the size the MetaStyle paper times (14.5 ms on its
    2018 GPU). On a CPU only bf16 runs (PyTorch has no fast fp16 there).
    """
    from styletool.nn.inference import for_inference

    photo = resize_longest(load_image(CONTENT).pixels[None], round(size * 1.5))  # chicago is 3:2
    left = (photo.shape[-1] - size) // 2
    image = runtime.to_device(photo[..., :size, left : left + size].contiguous())
    plain = net.to(runtime.device).eval()
    dtypes = (
        {"fp16": torch.float16, "bf16": torch.bfloat16} if runtime.device.type == "cuda" else {"bf16": torch.bfloat16}
    )

    def under_autocast(network, dtype):
        def call():
            with torch.inference_mode(), torch.autocast(runtime.device.type, dtype=dtype):
                return network(image).float().clamp(0, 1)

        return call

    variants = {}
    for name, dtype in dtypes.items():
        for layout, channels_last in (("NCHW", False), ("channels-last", True)):
            variants[f"{name}, {layout}"] = under_autocast(for_inference(net, channels_last=channels_last), dtype)
            if graphs and name == "fp16":
                captured = torch.compile(for_inference(net, channels_last=channels_last), mode="reduce-overhead")
                variants[f"{name}, {layout}, compiled with CUDA graphs"] = under_autocast(captured, dtype)

    def run_plain():
        with torch.inference_mode():
            return plain(image).clamp(0, 1)

    expected = run_plain()
    figures = {}
    for label, run_variant in variants.items():
        started = time.perf_counter()
        got = run_variant()  # compiles and captures, for the graph variants
        first_call = time.perf_counter() - started
        best = best_of_interleaved({"plain": run_plain, "ours": run_variant}, runtime.device, repeats)
        figures[label] = {
            "ms": best["ours"] * 1e3,
            "plain_ms": best["plain"] * 1e3,
            "speedup": best["plain"] / best["ours"],
            "first_call_s": first_call,
            "psnr_db": psnr(got, expected) if not torch.equal(got, expected) else None,
        }
    rows = [
        f"| johnson inference {size}x{size}, {label} | {v['ms']:.2f} ms | {v['plain_ms']:.2f} ms (plain eager fp32) "
        f"| {v['speedup']:.2f}x (PSNR {v['psnr_db'] or float('inf'):.1f} dB; first call {v['first_call_s']:.1f} s) |"
        for label, v in figures.items()
    ]
    return figures, rows


def run(runtime, *, quick: bool, log):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        sizes = [64, 128] if quick else [256, 512, 1024, 2048]
        compile_sizes = [] if quick else [256, 512, 1024]  # compiling costs ~15 s a size; 2048 runs the eager path
        figures, rows = inference(
            runtime, sizes, repeats=1 if quick else 5, workdir=Path(folder), compile_sizes=compile_sizes
        )
        for size, values in figures.items():
            log(f"{size}px: {values}")
        light, light_rows = light_network(runtime, 1 if quick else 5, Path(folder), size=128 if quick else 512)
        log(f"light network: {light}")
    torch.manual_seed(0)
    half, half_rows = reduced_precision(
        runtime,
        TransformerNet(),
        repeats=1 if quick else 5,
        size=64 if quick else 512,
        graphs=runtime.device.type == "cuda" and not quick,
    )
    log(f"reduced precision: {half}")
    table = "\n".join(
        [
            "### Feed-forward inference (johnson; cin runs the same network)",
            "",
            "| measure | styletool | baseline | ratio |",
            "| --- | --- | --- | --- |",
            *rows,
            *light_rows,
            *half_rows,
        ]
    )
    return {"inference": figures, "reduced_precision": half, "light_network": light}, table
