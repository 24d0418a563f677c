"""Gatys: seconds per iteration against a plain implementation, the default run, and multiscale against single scale.

The plain baseline is written here on purpose: the same loss (content MSE
at relu4_2, Gram MSE at relu1_1..relu5_1, the same weights and optimizer)
computed the textbook way, running the whole VGG-19 feature stack every
evaluation. styletool's method should cost no more per iteration.

"Equal quality" for the multiscale comparison means an equal value of the
full-resolution objective, evaluated on the clamped pixels the user gets
(the method's own loss sees the same clamped pixels, so its trace and the
plain judge agree): the single-scale run's time is taken at the first
iteration whose loss is at or below the multiscale result's.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from benchmarks.measure import mb, peak_memory
from styletool import StylizeRequest, load_image, resize_longest
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

CONTENT = "../shared/images/content/tubingen.jpg"
STYLE = "../shared/images/style/starry_night.jpg"
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT_LAYER = "relu4_2"


class PlainGatys:
    """Textbook Gatys: full feature stack each evaluation, targets computed once."""

    def __init__(self, backbone, content, style, *, content_weight, style_weight):
        self.backbone = backbone
        self.content_weight, self.style_weight = content_weight, style_weight
        with torch.no_grad():
            features = self.features(content)
            self.content_target = features[CONTENT_LAYER]
            style = resize_longest(style, max(content.shape[-2:]))
            style_features = self.features(style)
            self.style_targets = {name: self.gram(style_features[name]) for name in STYLE_LAYERS}

    def features(self, image):
        x = self.backbone.preprocess(image)
        out = {}
        for name, module in zip(self.backbone.layer_names, self.backbone.layers):  # every layer, always
            x = module(x)
            out[name] = x
        return out

    @staticmethod
    def gram(f):
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        return flat @ flat.transpose(1, 2) / (c * h * w)

    def loss(self, image):
        features = self.features(image)
        content = F.mse_loss(features[CONTENT_LAYER], self.content_target)
        style = sum(F.mse_loss(self.gram(features[n]), self.style_targets[n]) for n in STYLE_LAYERS)
        return self.content_weight * content + self.style_weight * style

    def optimize(self, start, iterations, on_eval=None):
        canvas = (start * 255).requires_grad_(True)
        opt = torch.optim.LBFGS(
            [canvas],
            lr=1,
            max_iter=iterations,
            max_eval=iterations,
            history_size=100,
            tolerance_grad=-1,
            tolerance_change=-1,
        )

        def closure():
            opt.zero_grad()
            loss = self.loss((canvas / 255).clamp(0, 1))
            loss.backward()
            if on_eval:
                on_eval(float(loss.detach()))
            return loss

        opt.step(closure)
        return (canvas.detach() / 255).clamp(0, 1)


def _sync(runtime):
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()


def _gatys(runtime, **options):
    spec = runtime.registry.method("gatys")
    return runtime.method("gatys"), make_options(resolve(spec.options), options)


def _run_method(runtime, content, style, on_event=None, **options):
    method, opts = _gatys(runtime, **options)
    request = StylizeRequest(options=opts, styles=[style])
    prepared = method.prepare(request)
    return method.stylize(content, request, prepared, progress=on_event or (lambda e: None))


def seconds_per_iteration(runtime, content, style, iterations):
    """(styletool, plain) seconds per L-BFGS iteration at the content's size.

    Timed between the first and the last loss evaluation, so one-off set-up
    (targets, optimizer state) is left out of both.
    """
    _, opts = _gatys(runtime)
    plain = PlainGatys(
        runtime.backbone("vgg19"), content, style, content_weight=opts.content_weight, style_weight=opts.style_weight
    )

    def steady_rate(run):
        stamps = []
        run(lambda *_: (_sync(runtime), stamps.append(time.perf_counter())))
        return (stamps[-1] - stamps[0]) / (len(stamps) - 1)

    steady_rate(lambda tick: plain.optimize(content, 3, on_eval=tick))  # warm-up
    with peak_memory(runtime.device) as plain_peak:
        t_plain = steady_rate(lambda tick: plain.optimize(content, iterations, on_eval=tick))
    with peak_memory(runtime.device) as our_peak:
        t_ours = steady_rate(
            lambda tick: _run_method(runtime, content, style, on_event=tick, scales=1, iterations=iterations)
        )
    return t_ours, t_plain, our_peak.megabytes, plain_peak.megabytes


class _Reached(Exception):
    """Raised from the progress callback to stop a run once it reached the target loss."""


def default_run_seconds(runtime, content, style, **options):
    """Wall time of a finished result with the default options (and ``options``, for quick runs)."""
    _sync(runtime)
    t0 = time.perf_counter()
    _run_method(runtime, content, style, **options)
    _sync(runtime)
    return time.perf_counter() - t0


def multiscale_versus_single(runtime, content, style, cap, scales=3, **options):
    """Time of a coarse-to-fine run, and of a single-scale run to the same full-size loss."""
    _, opts = _gatys(runtime)
    judge = PlainGatys(
        runtime.backbone("vgg19"), content, style, content_weight=opts.content_weight, style_weight=opts.style_weight
    )
    _sync(runtime)
    t0 = time.perf_counter()
    result = _run_method(runtime, content, style, scales=scales, **options)
    _sync(runtime)
    t_multi = time.perf_counter() - t0
    with torch.no_grad():
        multi_loss = float(judge.loss(result))

    trace = []
    t0 = time.perf_counter()

    def record(event):
        trace.append((time.perf_counter() - t0, sum(event.losses.values())))
        if trace[-1][1] <= multi_loss:
            raise _Reached

    try:
        _run_method(runtime, content, style, on_event=record, scales=1, iterations=cap)
        reached = None
    except _Reached:
        reached = (len(trace), trace[-1][0])
    return {
        "scales": scales,
        "multiscale_seconds": t_multi,
        "multiscale_loss": multi_loss,
        "single_iterations_to_equal_loss": reached[0] if reached else None,
        "single_seconds_to_equal_loss": reached[1] if reached else None,
        "single_cap": cap,
        "single_seconds_at_cap": trace[-1][0],
        "single_loss_at_cap": trace[-1][1],
    }


def run(runtime, *, quick: bool, log):
    content_full = load_image(CONTENT).pixels[None].to(runtime.device)
    style = load_image(STYLE).pixels[None].to(runtime.device)
    sizes = [64] if quick else [256, 512]
    per_iteration = {}
    rows = []
    for size in sizes:
        content = resize_longest(content_full, size)
        iterations = 3 if quick else (10 if size <= 256 else 6)
        ours, plain, our_peak, plain_peak = seconds_per_iteration(runtime, content, style, iterations)
        per_iteration[size] = {
            "styletool_s": ours,
            "plain_s": plain,
            "speedup": plain / ours,
            "styletool_peak_mb": our_peak,
            "plain_peak_mb": plain_peak,
        }
        log(f"{size}px: {ours:.3f} s/it vs plain {plain:.3f} s/it")
        rows.append(
            f"| seconds per L-BFGS iteration, {size} px | {ours:.3f} (peak {mb(our_peak)}) "
            f"| {plain:.3f} (plain; peak {mb(plain_peak)}) | {plain / ours:.2f}x |"
        )

    # Quick runs (CI's smoke test) shorten the schedule; the table says so.
    final = 96 if quick else 512
    short = {"iterations": 8} if quick else {}
    content = resize_longest(content_full, final)
    default_seconds = default_run_seconds(runtime, content, style, **short)
    log(f"default run at {final}px: {default_seconds:.1f} s")
    label = ", 8 iterations (quick)" if quick else ""
    rows.append(f"| seconds to a finished {final} px result, default options{label} | {default_seconds:.1f} | | |")
    comparison = multiscale_versus_single(runtime, content, style, cap=12 if quick else 450, **short)
    comparison["default_seconds"] = default_seconds
    log(str(comparison))
    if comparison["single_seconds_to_equal_loss"] is not None:
        ratio = comparison["multiscale_seconds"] / comparison["single_seconds_to_equal_loss"]
        single = (
            f"{comparison['single_seconds_to_equal_loss']:.1f} ({comparison['single_iterations_to_equal_loss']} it)"
        )
    else:
        ratio = comparison["multiscale_seconds"] / comparison["single_seconds_at_cap"]
        single = f"> {comparison['single_seconds_at_cap']:.1f} (not reached in {comparison['single_cap']} it)"
    comparison["time_ratio"] = ratio
    rows.append(
        f"| seconds to a {final} px result of equal full-size loss | {comparison['multiscale_seconds']:.1f} (--scales 3) "
        f"| {single} (single scale) | {ratio:.2f} of the time |"
    )
    table = "\n".join(
        ["### Gatys", "", "| measure | styletool | baseline | ratio |", "| --- | --- | --- | --- |", *rows]
    )
    return {"seconds_per_iteration": per_iteration, "multiscale": comparison}, table
