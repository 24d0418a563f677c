"""Gatys et al., "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).

The output image is the variable: starting from the photo, an optimizer
lowers  content_weight * L_content + style_weight * L_style + tv_weight * L_tv,
where the content loss compares backbone features with the photo's and the
style loss compares feature statistics (Gram matrices by default) with the
paintings' (a weighted blend when there are several).

Departures from the paper: each layer's loss is by default relative to the
size of its target (with the paper's raw sums relu4_1 outweighs relu1_1
and relu5_1 thousands of times over, so the painting's palette and its
large shapes were barely asked for); coarse-to-fine optimization over
several scales (each scale starts from the previous result, upsampled);
and colour preservation from Gatys et al., "Preserving Color in Neural
Artistic Style Transfer" (2016).
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from styletool import (
    DeviceError,
    Method,
    Progress,
    StylizeRequest,
    UsageError,
    blend_weights,
    ignore_progress,
    load_image,
    match_color,
    resize_longest,
    transfer_luminance,
)
from styletool_gatys.memory import bytes_per_pixel, gigabytes, is_out_of_memory, largest_fitting_side, memory_budget
from styletool_gatys.options import DEFAULT_STYLE_WEIGHT, GatysOptions
from styletool_gatys.schedule import scale_iterations, scale_sizes

# The optimizer works on pixels scaled to 0-255. In [0, 1] units the gradients
# are 255x larger and L-BFGS's first, gradient-normalized step is so small that
# its curvature test (y.s > 1e-10) keeps rejecting updates: the run stalls.
PIXEL_SCALE = 255.0
INIT_KEYWORDS = ("content", "noise", "style")
# Relative losses are about 1 where raw ones are about 1e5-1e6. L-BFGS is not
# scale-free: its curvature test (y.s > 1e-10) would reject the first small
# steps of such a flat objective, so the optimizer sees it multiplied back up.
RELATIVE_LOSS_SCALE = 1e5
# After a real allocation failure (the estimate was too hopeful), try again this much smaller.
SHRINK_ON_FAILURE = 0.8
MIN_FIT_SIDE = 64


@dataclass
class Prepared:
    """Per-run state shared by every input photo."""

    backbone: Any
    content_loss: Any
    style_loss: Any
    tv_loss: Any
    blend: list[float]
    init_image: torch.Tensor | None
    style_weight: float


class GatysMethod(Method):
    """Optimize the output image so it keeps the photo's content and takes the paintings' style."""

    name = "gatys"
    Options = GatysOptions
    default_size = 512

    def prepare(self, request: StylizeRequest, *, progress=ignore_progress) -> Prepared:
        opts: GatysOptions = request.options
        runtime = self.runtime
        backbone = runtime.backbone(
            opts.backbone, pooling=opts.pooling, padding=opts.padding, weights=opts.backbone_weights
        )
        _check_layers(backbone, opts.content_layers, "--content-layers", opts.backbone)
        _check_layers(backbone, opts.style_layers, "--style-layers", opts.backbone)
        spec = runtime.registry.loss(opts.style_loss)
        if spec.role != "style":
            raise UsageError(f"option --style-loss: '{opts.style_loss}' is a {spec.role} loss, not a style loss")
        style_options = {}
        if opts.style_shift:
            if opts.style_loss != "gram":
                raise UsageError("option --style-shift applies only to --style-loss gram")
            style_options["shift"] = opts.style_shift
        if opts.scale_iterations is not None:
            scale_iterations(1, iterations=opts.iterations, per_scale=opts.scale_iterations, scales=opts.scales)
        return Prepared(
            backbone=backbone,
            content_loss=runtime.loss("content", layers=opts.content_layers),
            style_loss=runtime.loss(opts.style_loss, layers=style_layer_weights(opts), **style_options),
            tv_loss=runtime.loss("tv"),
            blend=style_blend(opts, len(request.styles)),
            init_image=self._init_file(opts),
            style_weight=DEFAULT_STYLE_WEIGHT[opts.normalize] if opts.style_weight is None else opts.style_weight,
        )

    def stylize(self, content, request, prepared: Prepared, *, progress=ignore_progress):
        opts: GatysOptions = request.options
        styles = request.styles
        if opts.preserve_color == "histogram":
            styles = [match_color(style, content, strength=opts.color_strength) for style in styles]
        final = self._fitting_side(content, prepared, opts)
        if final < max(content.shape[-2:]):
            content = resize_longest(content, final)
        sizes = scale_sizes(final, scales=opts.scales, min_size=opts.min_size)
        counts = scale_iterations(
            len(sizes), iterations=opts.iterations, per_scale=opts.scale_iterations, scales=opts.scales
        )

        image, previous, carried = None, None, None
        for index, (planned, iterations) in enumerate(zip(sizes, counts)):
            side = min(planned, final)
            while True:
                scaled_content = content if side == final else resize_longest(content, side)
                if image is None or previous is None:
                    start = self._initial_image(scaled_content, styles, prepared, opts)
                else:
                    start = _upscale_start(
                        image, scaled_content, content, previous, restore_detail=opts.init == "content"
                    )
                height, width = scaled_content.shape[-2:]
                stage = f"scale {index + 1}/{len(sizes)} {width}x{height}" if len(sizes) > 1 else ""
                try:
                    result, carried = self._optimize(
                        start,
                        scaled_content,
                        styles,
                        prepared,
                        opts,
                        iterations=iterations,
                        stage=stage,
                        progress=progress,
                        preview_every=request.preview_every,
                        carried=carried,
                    )
                    break
                except (RuntimeError, MemoryError) as error:
                    if not is_out_of_memory(error):
                        raise
                    # The estimate was too hopeful (fragmentation, other processes on the device):
                    # say what should fit, or with --auto-fit shrink this and every later scale and retry.
                    del start
                    carried = None
                    if self.runtime.device.type == "cuda":
                        torch.cuda.empty_cache()
                    smaller = int(side * SHRINK_ON_FAILURE)
                    self._too_large(height, width, smaller, opts, why="ran out of memory")
                    content, final, side = resize_longest(content, smaller), smaller, smaller
            image, previous = result, side

        assert image is not None  # every run has at least one scale
        if opts.preserve_color == "luminance":
            image = transfer_luminance(image, content, strength=opts.color_strength)
        return image

    # -- memory ------------------------------------------------------------
    def _fitting_side(self, content, prepared: Prepared, opts: GatysOptions) -> int:
        """The photo's longest side, or with --auto-fit the largest that fits in memory (else an error naming it)."""
        height, width = content.shape[-2:]
        layers = list(dict.fromkeys([*opts.content_layers, *opts.style_layers]))
        per_pixel = bytes_per_pixel(prepared.backbone, layers, opts.optimizer, self.runtime.device) * content.shape[0]
        budget = memory_budget(self.runtime.device)
        if height * width * per_pixel <= budget:
            return max(height, width)
        fits = largest_fitting_side(height, width, per_pixel, budget)
        self._too_large(
            height,
            width,
            fits,
            opts,
            why=f"needs about {gigabytes(height * width * per_pixel)} and {gigabytes(budget)} is free to use",
        )
        return fits

    def _too_large(self, height: int, width: int, fits: int, opts: GatysOptions, *, why: str) -> None:
        """Stop with the size that fits, unless --auto-fit: then say that size is used."""
        where = f"gatys at {width}x{height} on {self.runtime.device.type}"
        if fits < MIN_FIT_SIDE:
            raise DeviceError(
                f"{where} {why}, and even {MIN_FIT_SIDE} px would not fit; free memory or use another device"
            )
        if not opts.auto_fit:
            raise DeviceError(
                f"{where} {why}; the largest size that fits is --size {fits} (or pass --auto-fit to use it)"
            )
        print(f"note: {where} {why}; stylizing at {fits} px instead (--auto-fit)", file=sys.stderr)

    # -- one scale ---------------------------------------------------------
    def _optimize(
        self,
        start,
        content,
        styles,
        prepared: Prepared,
        opts: GatysOptions,
        *,
        iterations: int,
        stage: str,
        progress,
        preview_every: int = 0,
        carried: dict | None = None,
    ):
        """Optimize one scale from ``start``; return the result and the Adam state to carry to the next scale."""
        backbone = prepared.backbone
        content_loss, style_loss, tv_loss = prepared.content_loss, prepared.style_loss, prepared.tv_loss
        layers = list(dict.fromkeys([*opts.content_layers, *opts.style_layers]))

        # Targets are computed once per scale, outside the optimization loop. A long, thin painting is
        # kept deep enough for the deepest style layer (a 512x20 one would otherwise be too thin at 128 px).
        depth = max(backbone.min_input_size(layer) for layer in opts.style_layers)
        with torch.no_grad(), self.runtime.optimization_autocast():
            photo_features = _float(backbone(content, layers))
            content_target = content_loss.target(photo_features)
            style_targets = [
                style_loss.target(
                    _float(backbone(_resize_like(style, content, opts.style_scale, depth), opts.style_layers))
                )
                for style in styles
            ]
            style_target = style_loss.blend(style_targets, prepared.blend)
        tv_scale, objective_scale = 1.0, 1.0
        if opts.normalize == "relative":
            content_loss = content_loss.relative_to(content_target, photo_features)
            style_loss = style_loss.relative_to(style_target, photo_features)
            objective_scale = RELATIVE_LOSS_SCALE
            if opts.tv_weight > 0:
                # Smoothness relative to the photo's own: 1 means as rough as the photo.
                tv_scale = 1.0 / max(float(tv_loss(content)), 1e-12)

        canvas = (start * PIXEL_SCALE).requires_grad_(True)
        evaluations = 0

        def closure() -> torch.Tensor:
            nonlocal evaluations
            optimizer.zero_grad(set_to_none=True)
            # The loss sees the pixels the user will get: out-of-range values
            # are clamped here, or the optimizer learns to exploit them and the
            # saved (clamped) image scores worse than the loss says. The
            # gradient passes the clamp unchanged (straight-through): a plain
            # clamp gives out-of-range pixels zero gradient and they would
            # stay stuck at 0 or 255 even when the loss wants them back.
            pixels = canvas / PIXEL_SCALE
            image = pixels + (pixels.clamp(0.0, 1.0) - pixels).detach()
            with self.runtime.optimization_autocast():
                features = _float(backbone(image, layers))
            terms = {
                "content": opts.content_weight * content_loss(features, content_target),
                "style": prepared.style_weight * style_loss(features, style_target),
            }
            if opts.tv_weight > 0:
                terms["tv"] = opts.tv_weight * tv_scale * tv_loss(image)
            objective = sum(terms.values()) * objective_scale
            objective.backward()
            evaluations += 1
            snapshot = preview = None
            if opts.save_every and evaluations % opts.save_every == 0:
                snapshot = image.detach().clamp(0, 1)
            if preview_every and (evaluations % preview_every == 0 or evaluations == 1):
                preview = snapshot if snapshot is not None else image.detach().clamp(0, 1)
            losses = {name: float(value.detach()) for name, value in terms.items()}
            progress(
                Progress(
                    stage=stage,
                    step=min(evaluations, iterations),
                    total=iterations,
                    losses=losses,
                    image=snapshot,
                    preview=preview,
                )
            )
            return objective

        if opts.optimizer == "lbfgs":
            # One call runs every iteration, since L-BFGS keeps its history
            # inside step(). Pixels are not clamped between iterations: moving
            # the point behind its back corrupts the curvature pairs. The
            # result is clamped once at the end.
            optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
                [canvas],
                lr=opts.lr or 1.0,
                max_iter=iterations,
                max_eval=iterations,
                history_size=100,
                tolerance_grad=-1,
                tolerance_change=-1,
            )
            # torch types a closure as returning a float; L-BFGS takes the loss tensor (and reads it as a number).
            optimizer.step(closure)  # type: ignore[arg-type]
        else:
            optimizer = torch.optim.Adam([canvas], lr=opts.lr or 2.0, betas=(0.9, 0.99))
            if carried is not None:
                # Warm start: the previous scale's moment estimates, resized to this scale. A fresh
                # Adam takes a full --lr step in every pixel at once and scatters noise over the
                # upsampled picture (chicago x the_scream, 5 scales: SSIM to the photo 0.35 fresh,
                # 0.57 warm, at the same likeness to the painting; docs/gatys.md).
                optimizer.load_state_dict(_resized_adam_state(carried, canvas.shape[-2:]))
            for _ in range(iterations):
                optimizer.step(closure)
                with torch.no_grad():
                    canvas.clamp_(0.0, PIXEL_SCALE)
            carried = optimizer.state_dict()
        return (canvas.detach() / PIXEL_SCALE).clamp(0.0, 1.0), carried if opts.optimizer == "adam" else None

    # -- starting image ------------------------------------------------------
    def _init_file(self, opts: GatysOptions) -> torch.Tensor | None:
        if opts.init in INIT_KEYWORDS:
            return None
        close = difflib.get_close_matches(opts.init, INIT_KEYWORDS, n=1)
        if close and not Path(opts.init).exists():
            raise UsageError(
                f"option --init: '{opts.init}' is neither content, noise, style nor a file; did you mean '{close[0]}'?"
            )
        return self.runtime.to_device(load_image(opts.init).pixels[None])

    def _initial_image(self, content, styles, prepared: Prepared, opts: GatysOptions) -> torch.Tensor:
        if opts.init == "content":
            return content.clone()
        if opts.init == "noise":
            noise = torch.rand(content.shape, generator=self.runtime.generator(), device=content.device)
            return noise.to(content.dtype)
        source = styles[0] if opts.init == "style" else prepared.init_image
        assert source is not None  # --init named an image file, read in prepare
        return F.interpolate(
            source, size=content.shape[-2:], mode="bicubic", align_corners=False, antialias=True
        ).clamp(0, 1)


def _upscale_start(image, scaled_content, content, previous_side: int, *, restore_detail: bool) -> torch.Tensor:
    """The previous scale's result, upsampled to start the next scale.

    Upsampling leaves the result blurred: everything finer than the previous
    scale could hold is missing, and the shallow style layers (whose Gram
    statistics are mostly fine texture) then start far from their targets.
    With ``restore_detail`` the photo's own detail band (the photo minus its
    copy at the previous scale, upsampled) is added back, as the run would
    have had it starting from the photo. On tubingen x starry_night at 512 px
    this made the three-scale result markedly closer to both the painting and
    the photo (docs/gatys.md).
    """
    size = scaled_content.shape[-2:]
    start = F.interpolate(image, size=size, mode="bicubic", align_corners=False)
    if restore_detail:
        coarse = F.interpolate(resize_longest(content, previous_side), size=size, mode="bicubic", align_corners=False)
        start = start + (scaled_content - coarse)
    return start.clamp(0, 1)


def _resized_adam_state(state: dict, size) -> dict:
    """Adam's state dict with its per-pixel moments resized to ``size`` (a finer scale's image)."""
    state = {
        "state": {key: dict(value) for key, value in state["state"].items()},
        "param_groups": state["param_groups"],
    }
    for moments in state["state"].values():
        moments["exp_avg"] = F.interpolate(moments["exp_avg"], size=size, mode="bicubic", align_corners=False)
        # Squared gradients must stay non-negative: bilinear, then clipped.
        moments["exp_avg_sq"] = F.interpolate(
            moments["exp_avg_sq"], size=size, mode="bilinear", align_corners=False
        ).clamp_(min=0)
    return state


def style_layer_weights(opts: GatysOptions) -> dict[str, float]:
    """Per-layer style weights, scaled to average 1 so the overall style weight keeps its meaning."""
    if opts.style_layer_weights is not None:
        if len(opts.style_layer_weights) != len(opts.style_layers):
            raise UsageError(
                f"option --style-layer-weights: {len(opts.style_layer_weights)} weights for "
                f"{len(opts.style_layers)} style layers; give one per layer"
            )
        raw = list(opts.style_layer_weights)
    else:
        raw = [opts.style_layer_weight_exp**index for index in range(len(opts.style_layers))]
    total = sum(raw)
    if total <= 0:
        raise UsageError("option --style-layer-weights: at least one weight must be positive")
    return {layer: weight * len(raw) / total for layer, weight in zip(opts.style_layers, raw)}


def style_blend(opts: GatysOptions, count: int) -> list[float]:
    """Weights of the style images, normalized to sum 1 (equal by default)."""
    if opts.style_blend is None:
        return [1.0 / count] * count
    return blend_weights(opts.style_blend, flag="--style-blend", count=count, per="--style images")


def _check_layers(backbone, layers: list[str], flag: str, backbone_name: str) -> None:
    if not layers:
        raise UsageError(f"option {flag}: give at least one layer")
    for layer in layers:
        if layer not in backbone.layer_names:
            close = difflib.get_close_matches(layer, backbone.layer_names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"option {flag}: backbone '{backbone_name}' has no layer '{layer}'{hint}")


def _float(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # Under autocast features come back in half precision; losses are summed in fp32.
    return {name: value.float() for name, value in features.items()}


def _resize_like(style: torch.Tensor, content: torch.Tensor, scale: float, depth: int = 1) -> torch.Tensor:
    """Resize the painting so its longest side is ``scale`` times the output's, its shorter side at least ``depth``."""
    height, width = style.shape[-2:]
    longest = max(1, round(max(content.shape[-2:]) * scale), math.ceil(depth * max(height, width) / min(height, width)))
    return resize_longest(style, longest)
