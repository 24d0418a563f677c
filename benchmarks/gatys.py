"""Gatys: seconds per iteration against a plain implementation, and the default run against the old defaults.

The plain baseline is written here on purpose: the same loss (content MSE
at relu4_2, Gram MSE at relu1_1..relu5_1, the same weights and optimizer)
computed the textbook way, running the whole VGG-19 feature stack every
evaluation. styletool's method (timed with the same raw loss, both in
fp32) should cost no more per iteration.

The default run (coarse to fine from 128 px, relative losses) is compared,
per photo x painting pair and in the same process, with the defaults before
it (one scale, 200 iterations, raw losses, fp32) and with the plain
implementation (raw losses) given the same wall time as the default run:
seconds to the finished picture, and two measures of the picture (style
distance in another network, SSIM to the photo). The defaults run at
``--precision auto`` (bf16 where the hardware has it) and again in fp32,
so the gain from the schedule and the gain from precision read apart.

The backbone pass is what every evaluation of a gatys run costs: VGG-19
forward to relu5_1 and backward to the picture (the gradient a run follows),
in fp32 and in bf16 where the CPU computes it natively, quickest and
slowest of the repeats.
"""

from __future__ import annotations

import contextlib
import copy
import time

import torch
import torch.nn.functional as F

from benchmarks.measure import interleaved, mb, peak_memory
from styletool import StylizeRequest, load_image, resize_longest
from styletool.framework.options import make_options
from styletool.framework.specs import resolve
from styletool_gatys.options import DEFAULT_STYLE_WEIGHT

SHARED = "../shared/"
CONTENT = SHARED + "images/content/tubingen.jpg"
STYLE = SHARED + "images/style/starry_night.jpg"
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT_LAYER = "relu4_2"


# The textbook loss is the raw one (no per-layer normalization), with the raw default weights.
PLAIN_WEIGHTS = {"content_weight": 1.0, "style_weight": DEFAULT_STYLE_WEIGHT["none"]}


class PlainGatys:
    """Textbook Gatys: full feature stack each evaluation, targets computed once."""

    def __init__(self, backbone, content, style, *, content_weight, style_weight):
        # The textbook layout too: styletool's CPU backbones run channels-last, which is part of
        # what is measured against this.
        self.backbone = copy.deepcopy(backbone).use_channels_last(False)
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

    def optimize(self, start, iterations, on_eval=None, seconds=None):
        """L-BFGS from ``start`` for ``iterations``, or until ``seconds`` have passed."""
        canvas = (start * 255).requires_grad_(True)
        started = time.perf_counter()
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
            if seconds is not None and time.perf_counter() - started >= seconds:
                raise _Reached
            opt.zero_grad()
            loss = self.loss((canvas / 255).clamp(0, 1))
            loss.backward()
            if on_eval:
                on_eval(float(loss.detach()))
            return loss

        try:
            opt.step(closure)
        except _Reached:
            pass
        return (canvas.detach() / 255).clamp(0, 1)


def _sync(runtime):
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()


def _exact(runtime):
    """The same device and backbones in plain fp32 (the old defaults, the plain implementation)."""
    from styletool import Runtime

    return Runtime(device=str(runtime.device), precision="fp32", seed=runtime.seed, registry=runtime.registry)


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
    (targets, optimizer state) is left out of both. Both in fp32.
    """
    runtime = _exact(runtime)
    plain = PlainGatys(runtime.backbone("vgg19"), content, style, **PLAIN_WEIGHTS)

    def steady_rate(run):
        stamps = []
        run(lambda *_: (_sync(runtime), stamps.append(time.perf_counter())))
        return (stamps[-1] - stamps[0]) / (len(stamps) - 1)

    steady_rate(lambda tick: plain.optimize(content, 3, on_eval=tick))  # warm-up
    with peak_memory(runtime.device) as plain_peak:
        t_plain = steady_rate(lambda tick: plain.optimize(content, iterations, on_eval=tick))
    with peak_memory(runtime.device) as our_peak:
        t_ours = steady_rate(
            lambda tick: _run_method(
                runtime, content, style, on_event=tick, scales=1, iterations=iterations, normalize="none"
            )
        )
    return t_ours, t_plain, our_peak.megabytes, plain_peak.megabytes


class _Reached(Exception):
    """Raised from the progress callback to stop a run once it reached the target loss."""


# The defaults before coarse-to-fine and relative losses became the default (2026-12-03 and -06):
# one scale, 200 L-BFGS iterations, raw losses (style weight 10).
BEFORE = {"scales": 1, "iterations": 200, "normalize": "none"}
PAIRS = [
    ("images/content/tubingen.jpg", "images/style/starry_night.jpg"),
    ("images/content/chicago.jpg", "images/style/the_scream.jpg"),
]
JUDGE_LAYERS = ["relu1", "fire3", "fire5", "fire7", "fire9"]


def defaults_versus_before(runtime, *, final: int, pairs, log, quick: bool = False) -> dict:
    """Today's defaults, the defaults before them, and the plain implementation given today's time, per pair.

    Each result is judged by a network other than the one optimized
    (SqueezeNet Gram distance to the painting at the output's size, the
    photo's = 1: lower is more like the painting) and by luminance SSIM to
    the photo (higher keeps the photo more recognisable).
    """
    from styletool import luminance_ssim
    from styletool.perceptual.metrics import style_distance

    judge = runtime.backbone("squeezenet1_1", weights=SHARED + "weights/squeezenet1_1-imagenet-features.pth")

    def judged(result, content, style, seconds, photo):
        return {
            "seconds": round(seconds, 2),
            "style_distance": round(style_distance(judge, JUDGE_LAYERS, result, style, size=final) / photo, 4),
            "ssim": round(luminance_ssim(result, content), 4),
        }

    figures = {}
    for photo_path, painting_path in pairs:
        content = resize_longest(load_image(SHARED + photo_path).pixels[None], final).to(runtime.device)
        style = load_image(SHARED + painting_path).pixels[None].to(runtime.device)
        label = f"{photo_path.split('/')[-1].split('.')[0]} x {painting_path.split('/')[-1].split('.')[0]}"
        photo = style_distance(judge, JUDGE_LAYERS, content, style, size=final)  # the yardstick: the photo's = 1
        runs = {}
        # Quick runs (CI's smoke test) shorten both schedules; the table says so.
        defaults, before = ({"iterations": 12}, {**BEFORE, "iterations": 16}) if quick else ({}, BEFORE)
        exact = _exact(runtime)
        contenders = {"defaults": (runtime, defaults), "defaults, fp32": (exact, defaults), "before": (exact, before)}
        for name, (where, options) in contenders.items():
            _sync(runtime)
            t0 = time.perf_counter()
            result = _run_method(where, content, style, **options)
            _sync(runtime)
            runs[name] = judged(result, content, style, time.perf_counter() - t0, photo)
        plain = PlainGatys(exact.backbone("vgg19"), content, style, **PLAIN_WEIGHTS)
        t0 = time.perf_counter()
        result = plain.optimize(content, 10_000, seconds=runs["defaults"]["seconds"])
        runs["plain, same time"] = judged(result, content, style, time.perf_counter() - t0, photo)
        log(f"{label}: {runs}")
        figures[label] = runs
    return figures


def backbone_pass(runtime, content, repeats: int) -> dict[str, dict[str, float]]:
    """Seconds of VGG-19 forward to relu5_1 and backward to the picture, by precision: quickest and slowest."""
    from styletool.framework.runtime import native_bf16

    backbone = runtime.backbone("vgg19")
    layers = [*STYLE_LAYERS, CONTENT_LAYER]
    picture = content.clone().requires_grad_(True)

    def one_pass(dtype):
        def run():
            picture.grad = None
            autocast = torch.autocast(runtime.device.type, dtype=dtype) if dtype else contextlib.nullcontext()
            with autocast:
                features = backbone(picture, layers)
            sum(feature.float().square().mean() for feature in features.values()).backward()

        return run

    passes = {"fp32": one_pass(None)}
    if native_bf16(runtime.device):
        passes["bf16"] = one_pass(torch.bfloat16)
    seconds = interleaved(passes, runtime.device, repeats)
    return {label: {"quickest_s": min(times), "slowest_s": max(times)} for label, times in seconds.items()}


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

    photo = resize_longest(content_full, 64 if quick else 512)
    height, width = photo.shape[-2:]
    passes = backbone_pass(runtime, photo, repeats=2 if quick else 5)
    for label, seconds in passes.items():
        log(f"backbone pass {label}: {seconds}")
        rows.append(
            f"| VGG-19 forward to relu5_1 and backward to the picture, {width}x{height}, {label} "
            f"| {seconds['quickest_s']:.3f} s (slowest {seconds['slowest_s']:.3f} s) | | |"
        )

    # Quick runs (CI's smoke test) use one pair at 192 px (still two scales) and short schedules.
    final = 192 if quick else 512
    defaults = defaults_versus_before(runtime, final=final, pairs=PAIRS[:1] if quick else PAIRS, log=log, quick=quick)
    size = f"{final} px" + (", short schedules (quick)" if quick else "")
    for label, runs in defaults.items():
        now, fp32, before = runs["defaults"], runs["defaults, fp32"], runs["before"]
        plain = runs["plain, same time"]
        rows.append(
            f"| {label}, {size}: seconds / style distance / SSIM | {now['seconds']:.1f} / "
            f"{now['style_distance']:.3f} / {now['ssim']:.3f} (fp32: {fp32['seconds']:.1f} / "
            f"{fp32['style_distance']:.3f} / {fp32['ssim']:.3f}) | before: {before['seconds']:.1f} / "
            f"{before['style_distance']:.3f} / {before['ssim']:.3f}; plain in the same time: "
            f"{plain['style_distance']:.3f} / {plain['ssim']:.3f} | {now['seconds'] / before['seconds']:.2f} "
            f"of the time ({fp32['seconds'] / before['seconds']:.2f} in fp32) |"
        )
    table = "\n".join(
        ["### Gatys", "", "| measure | styletool | baseline | ratio |", "| --- | --- | --- | --- |", *rows]
    )
    return {"seconds_per_iteration": per_iteration, "backbone_pass": passes, "defaults": defaults}, table
