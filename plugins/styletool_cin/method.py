"""Dumoulin, Shlens, Kudlur, "A Learned Representation for Artistic Style" (ICLR 2017).

One :class:`styletool.TransformerNet` with conditional instance normalization
holds N styles: every normalization layer has an N-row table of scales and
shifts, and a style is a row (a blend is a weighted mix of rows). A last,
style-neutral row gives the photo back: training starts from it, and
``--strength`` mixes toward it (:class:`styletool.FeedForwardTask`). Training
draws a few styles per step, so all styles share the convolutions. A new
style can be added later by training only its new rows, leaving the others
as they were.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from styletool import (
    NEUTRAL,
    FeedForwardTask,
    Method,
    PerceptualLoss,
    StylizeRequest,
    TrainRequest,
    TransformerNet,
    UsageError,
    Variants,
    blend_weights,
    check_strength,
    fast_network,
    ignore_progress,
    load_painting,
    load_transformer,
    preserve_colors,
    run_network,
    run_training,
    transformer_metadata,
)
from styletool_cin.options import CinOptions, CinTrainOptions


@dataclass
class CinPrepared:
    """One fast network per style asked for (every style with --all-styles), and the model's style names."""

    networks: list[Any]
    names: list[str]


class CinMethod(Method):
    """Stylize with one of a multi-style model's styles, or a blend; train such models."""

    name = "cin"
    Options = CinOptions
    needs_style = False

    # -- stylize ------------------------------------------------------------
    def prepare(self, request: StylizeRequest, *, progress=ignore_progress):
        if len(request.models) > 1:
            raise UsageError(f"method 'cin' takes one --model ({len(request.models)} given)")
        if request.model is None:
            raise UsageError(
                "method 'cin' needs --model MODEL.safetensors (make one with `styletool train --method cin`)"
            )
        if request.styles:
            raise UsageError(
                "method 'cin' takes its styles from the --model file; choose one with --style-index or --style-mix"
            )
        net, model = load_transformer(request.model, method=self.name)
        if not net.conditional:
            raise UsageError("not a multi-style model", where=request.model)
        opts: CinOptions = request.options or CinOptions()
        check_strength(net, opts.strength, request.model)
        names = model.styles or [str(i) for i in range(net.num_styles)]
        # One fast network per style asked for: the style (or blend) and the strength are folded into its weights.
        styles = range(net.num_styles) if opts.all_styles else [style_weights(opts, names)]
        networks = [
            fast_network(
                net,
                device=self.runtime.device,
                style=style,
                strength=opts.strength,
                compile=opts.compile,
                int8=opts.int8,
            )
            for style in styles
        ]
        return CinPrepared(networks=networks, names=names)

    def can_batch(self, request: StylizeRequest, prepared) -> bool:
        return True

    def variants(self, request: StylizeRequest, prepared) -> Variants | None:
        # --all-styles: the photo, then every style, labelled, on one near-square sheet.
        if request.options and request.options.all_styles:
            return Variants(labels=list(prepared.names), with_photo=True)
        return None

    def stylize(self, content, request: StylizeRequest, prepared, *, progress=None):
        opts: CinOptions = request.options or CinOptions()
        with self.runtime.inference():
            results = [
                run_network(network, content, tile=opts.tile, progress=progress).float().clamp(0, 1)
                for network in prepared.networks
            ]
        results = [preserve_colors(r, content, opts.preserve_color, strength=opts.color_strength) for r in results]
        return torch.cat(results)  # one picture, or one per style with --all-styles

    # -- train --------------------------------------------------------------
    def train(self, request: TrainRequest, *, progress=None):
        opts: CinTrainOptions = request.options or CinTrainOptions()
        if opts.add_style:
            if request.model is None:
                raise UsageError("--add-style needs --model, the model to extend")
            if request.styles:
                raise UsageError("give the paintings to add with --add-style only, not also with --style")
            paintings = [Path(path) for path in opts.add_style]
            request = dataclasses.replace(
                request,
                styles=[self.runtime.to_device(load_painting(path).pixels[None]) for path in paintings],
                style_names=[path.stem for path in paintings],
            )
        if not request.styles:
            raise UsageError("method 'cin' needs paintings: --style A --style B ... or --style-dir DIR")
        perceptual = PerceptualLoss.build(self.runtime, opts.perceptual_weights())
        scales = painting_scales(opts, list(request.style_names))
        new_targets = [
            dataclasses.replace(perceptual.style_target(style, size=opts.style_size), scale=scale)
            for style, scale in zip(request.styles, scales)
        ]
        seed = request.settings.seed

        if request.model is None:
            names = list(request.style_names)
            _check_unique(names)
            metadata = {
                "method": self.name,
                "styles": names,
                "backbone": opts.backbone,
                **transformer_metadata(architecture=opts.network, num_styles=len(names), neutral=True),
                "training": {"loss": asdict(opts)},
            }

            def build() -> FeedForwardTask:
                return FeedForwardTask(
                    TransformerNet(num_styles=len(names), architecture=opts.network, neutral=True),
                    perceptual,
                    new_targets,
                    styles=list(range(len(names))),
                    metadata=metadata,
                    seed=seed,
                    styles_per_step=opts.styles_per_step,
                    style_lr_scale=opts.style_lr_scale,
                    neutral_steps=opts.neutral_steps,
                    neutral_photos=opts.neutral_photos,
                )
        else:
            base, model = load_transformer(request.model, method=self.name)
            old = model.styles
            names = old + list(request.style_names)
            _check_unique(names)
            metadata = {**model.metadata, "styles": names, "num_styles": len(names)}
            metadata.pop("format", None)
            metadata.pop("styletool_version", None)
            added = metadata.setdefault("added_styles", [])
            added.append({"styles": list(request.style_names), "loss": asdict(opts)})
            metadata["training"] = model.metadata.get("training", {})

            def build() -> FeedForwardTask:
                net = base
                first_new = net.num_styles
                for _ in request.styles:
                    # A new painting is learned from the photo given back (models older than the
                    # neutral row: from the mean of their paintings).
                    net.add_style(copy_from=NEUTRAL if net.neutral else None)
                targets = [None] * first_new + new_targets
                return FeedForwardTask(
                    net,
                    perceptual,
                    targets,
                    styles=list(range(first_new, net.num_styles)),
                    metadata=metadata,
                    seed=seed,
                    only_styles=True,
                    styles_per_step=opts.styles_per_step,
                )

        kwargs = {} if progress is None else {"progress": progress}
        return run_training(self.runtime, build, request, method=self.name, **kwargs)


def style_weights(opts: CinOptions, names: list[str]) -> torch.Tensor:
    """The ``[num_styles]`` blend asked for by --style-index or --style-mix (default: the first style)."""
    chosen = [
        flag
        for flag, value in (
            ("--style-index", opts.style_index),
            ("--style-name", opts.style_name),
            ("--style-mix", opts.style_mix),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise UsageError(f"give one of --style-index, --style-name and --style-mix, not {' and '.join(chosen)}")
    weights = torch.zeros(len(names))
    if opts.style_mix is None:
        flag = "--style-name" if opts.style_name is not None else "--style-index"
        weights[_style_position(opts.style_name or opts.style_index or "0", names, flag)] = 1.0
        return weights
    positions, values = [], []
    for part in opts.style_mix.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"option --style-mix: '{part}' should be STYLE=WEIGHT, e.g. 0=0.5,3=0.5")
        try:
            values.append(float(value))
        except ValueError:
            raise UsageError(f"option --style-mix: weight '{value}' is not a number") from None
        positions.append(_style_position(key.strip(), names, "--style-mix"))
    for position, weight in zip(positions, blend_weights(values, flag="--style-mix")):
        weights[position] += weight
    return weights


def painting_scales(opts: CinTrainOptions, names: list[str]) -> list[float]:
    """Each painting's style loss as a multiple of --style-weight's, from --painting-weight NAME=WEIGHT."""
    own: dict[str, float] = {}
    # The option is a list already split at its commas (styletool.framework.options).
    for part in opts.painting_weight:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"option --painting-weight: '{part}' should be NAME=WEIGHT, e.g. brushstrokes=2")
        try:
            weight = float(value)
        except ValueError:
            raise UsageError(f"option --painting-weight: weight '{value}' of '{name}' is not a number") from None
        if not (math.isfinite(weight) and weight >= 0):
            raise UsageError(f"option --painting-weight: weight of '{name}' must be a number >= 0, not {value}")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(
                f"option --painting-weight: no painting named '{name}' is trained{hint} ({', '.join(names)})"
            )
        own[name] = weight
    if own and opts.style_weight == 0:
        raise UsageError("option --painting-weight: it scales against --style-weight, which is 0")
    return [own[name] / opts.style_weight if name in own else 1.0 for name in names]


def _style_position(key: str, names: list[str], flag: str) -> int:
    if key.isdigit():
        index = int(key)
        if index >= len(names):
            raise UsageError(
                f"option {flag}: style {index} does not exist; the model has {len(names)} styles (0..{len(names) - 1})"
            )
        return index
    if key in names:
        return names.index(key)
    listing = ", ".join(f"{i}={name}" for i, name in enumerate(names))
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"option {flag}: no style named '{key}'{hint} (the model has {listing})")


def _check_unique(names: list[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError(f"style '{name}' is given twice; every style in a model needs its own name")
        seen.add(name)
