"""Gatys et al., "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).

The output image is the variable: starting from the photo, an optimizer
lowers  content_weight * L_content + style_weight * L_style + tv_weight * L_tv,
where the content loss compares backbone features with the photo's and the
style loss compares feature statistics (Gram matrices by default) with the
painting's.
"""

from __future__ import annotations

import difflib
from typing import Any

import torch
import torch.nn.functional as F

from styletool import Method, Progress, StylizeRequest, UsageError
from styletool_gatys.options import GatysOptions


PIXEL_SCALE = 255.0


class GatysMethod(Method):
    """Optimize the output image so it keeps the photo's content and takes the painting's style."""

    name = "gatys"
    Options = GatysOptions
    default_size = 512

    def prepare(self, request: StylizeRequest) -> dict[str, Any]:
        opts: GatysOptions = request.options
        runtime = self.runtime
        backbone = runtime.backbone(opts.backbone, pooling=opts.pooling, padding=opts.padding, weights=opts.backbone_weights)
        _check_layers(backbone, opts.content_layers, "--content-layers", opts.backbone)
        _check_layers(backbone, opts.style_layers, "--style-layers", opts.backbone)
        spec = runtime.registry.loss(opts.style_loss)
        if spec.role != "style":
            raise UsageError(f"option --style-loss: '{opts.style_loss}' is a {spec.role} loss, not a style loss")
        return {
            "backbone": backbone,
            "content_loss": runtime.loss("content", layers=opts.content_layers),
            "style_loss": runtime.loss(opts.style_loss, layers=opts.style_layers),
            "tv_loss": runtime.loss("tv"),
        }

    def stylize(self, content, request, prepared, *, progress):
        opts: GatysOptions = request.options
        backbone = prepared["backbone"]
        content_loss, style_loss, tv_loss = prepared["content_loss"], prepared["style_loss"], prepared["tv_loss"]
        layers = list(dict.fromkeys([*opts.content_layers, *opts.style_layers]))

        with torch.no_grad(), self.runtime.autocast():
            content_target = content_loss.target(_float(backbone(content, opts.content_layers)))
            style_targets = []
            for style in request.styles:
                style = _resize_like(style, content, opts.style_scale)
                style_targets.append(style_loss.target(_float(backbone(style, opts.style_layers))))
            weights = [1.0 / len(style_targets)] * len(style_targets)
            style_target = style_loss.blend(style_targets, weights)

        # The optimizer works on pixels scaled to 0-255. In [0, 1] units the
        # gradients are 255x larger and L-BFGS's first, gradient-normalized
        # step is so small that its curvature test (y.s > 1e-10) keeps
        # rejecting updates and the optimization stalls.
        canvas = (self._initial_image(content, request, opts) * PIXEL_SCALE).requires_grad_(True)
        evaluations = 0

        def closure() -> torch.Tensor:
            nonlocal evaluations
            optimizer.zero_grad(set_to_none=True)
            image = canvas / PIXEL_SCALE
            with self.runtime.autocast():
                features = _float(backbone(image, layers))
            terms = {
                "content": opts.content_weight * content_loss(features, content_target),
                "style": opts.style_weight * style_loss(features, style_target),
            }
            if opts.tv_weight > 0:
                terms["tv"] = opts.tv_weight * tv_loss(image)
            total = sum(terms.values())
            total.backward()
            evaluations += 1
            losses = {name: float(value.detach()) for name, value in terms.items()}
            progress(Progress(stage="", step=min(evaluations, opts.iterations), total=opts.iterations, losses=losses))
            return total

        if opts.optimizer == "lbfgs":
            # One call runs every iteration: L-BFGS keeps its history inside
            # step(). Pixels are not clamped between iterations, since moving
            # the point behind its back corrupts the curvature pairs; the
            # result is clamped once at the end.
            optimizer = torch.optim.LBFGS([canvas], lr=opts.lr or 1.0, max_iter=opts.iterations,
                                          max_eval=opts.iterations, history_size=100,
                                          tolerance_grad=-1, tolerance_change=-1)
            optimizer.step(closure)
        else:
            optimizer = torch.optim.Adam([canvas], lr=opts.lr or 2.0)
            for _ in range(opts.iterations):
                optimizer.step(closure)
                with torch.no_grad():
                    canvas.clamp_(0.0, PIXEL_SCALE)
        return (canvas.detach() / PIXEL_SCALE).clamp(0.0, 1.0)

    def _initial_image(self, content: torch.Tensor, request: StylizeRequest, opts: GatysOptions) -> torch.Tensor:
        if opts.init == "noise":
            noise = torch.rand(content.shape, generator=self.runtime.generator(), device=content.device)
            return noise.to(content.dtype)
        if opts.init == "style":
            return F.interpolate(request.styles[0], size=content.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        return content.clone()


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


def _resize_like(style: torch.Tensor, content: torch.Tensor, scale: float) -> torch.Tensor:
    """Resize the painting so its longest side is ``scale`` times the output's."""
    target = max(content.shape[-2:]) * scale
    factor = target / max(style.shape[-2:])
    size = [max(1, round(side * factor)) for side in style.shape[-2:]]
    return F.interpolate(style, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
