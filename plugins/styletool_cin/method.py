"""Dumoulin, Shlens, Kudlur, "A Learned Representation for Artistic Style" (ICLR 2017).

One :class:`styletool.TransformerNet` with conditional instance normalization
holds N styles: every normalization layer has an N-row table of scales and
shifts, and a style is a row (a blend is a weighted mix of rows). Training
draws one style per step, so all styles share the convolutions. A new style
can be added later by training only its new rows, leaving the others as they
were.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from styletool import (
    BasicTask,
    Method,
    PerceptualLoss,
    StylizeRequest,
    TrainRequest,
    TransformerNet,
    UsageError,
    Variants,
    blend_weights,
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


class CinTask(BasicTask):
    """Train a conditional network; ``trainable`` limits which style rows learn (adding styles)."""

    def __init__(
        self,
        net: TransformerNet,
        loss: PerceptualLoss,
        targets: list[Any],
        *,
        styles: list[int],
        metadata: dict[str, Any],
        seed: int,
        only_styles: bool,
        styles_per_step: int = 1,
        style_lr_scale: float = 1.0,
    ):
        self.model = net
        self.perceptual = loss
        self.targets = targets  # one per style index of the network
        self.styles = styles  # the style indices this run trains
        self.metadata = metadata
        self.seed = seed
        self.only_styles = only_styles
        self.styles_per_step = min(styles_per_step, len(styles))
        self.style_lr_scale = style_lr_scale

    def parameters(self):
        if not self.only_styles:
            return list(self.model.parameters())
        # Adding styles: everything but the style tables stays frozen, and
        # gradients of the old rows are masked, so old styles are untouched.
        keep = torch.zeros(self.model.num_styles, 1)
        keep[self.styles] = 1
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        tables = self.model.style_parameters()
        for table in tables:
            table.requires_grad_(True)
            table.register_hook(lambda grad, keep=keep: grad * keep.to(grad))
        return tables

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """The style tables at ``lr * style_lr_scale``, everything else at ``lr``.

        Adding styles trains only the new rows, in every step: nothing lags behind, so one rate.
        """
        trained = self.parameters()
        if self.only_styles:
            return [{"params": trained}]
        tables = {id(p) for p in self.model.style_parameters()}
        groups = [
            {"params": [p for p in trained if id(p) not in tables]},
            {"params": [p for p in trained if id(p) in tables], "lr": lr * self.style_lr_scale},
        ]
        return [group for group in groups if group["params"]]

    def styles_for_step(self, step: int) -> list[int]:
        """The styles step ``step`` trains: a pure function of the seed and the step (exact resume)."""
        generator = torch.Generator().manual_seed(self.seed * 7_368_787 + step)
        if (
            self.styles_per_step == 1
        ):  # the draw of runs made before --styles-per-step: their checkpoints resume exactly
            return [self.styles[int(torch.randint(len(self.styles), (), generator=generator))]]
        order = torch.randperm(len(self.styles), generator=generator)[: self.styles_per_step]
        return [self.styles[int(i)] for i in order]

    def sample(self, photo):
        return self.model(photo, style=self.styles[0])  # the first style this run trains

    def loss(self, model, photos, step):
        chosen = self.styles_for_step(step)
        if len(chosen) == 1:
            index = chosen[0]
            return self.perceptual(model(photos, style=index), photos, self.targets[index])
        # Several paintings in one step: photo i is painted with chosen[i % k], each judged against its own painting.
        per_photo = [chosen[i % len(chosen)] for i in range(photos.shape[0])]
        weights = torch.nn.functional.one_hot(torch.tensor(per_photo), self.model.num_styles).to(photos)
        return self.perceptual(model(photos, style=weights), photos, [self.targets[i] for i in per_photo])


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
        names = model.styles or [str(i) for i in range(net.num_styles)]
        # One fast network per style asked for: the style (or blend) is folded into its weights.
        styles = range(net.num_styles) if opts.all_styles else [style_weights(opts, names)]
        networks = [
            fast_network(net, device=self.runtime.device, style=style, compile=opts.compile, int8=opts.int8)
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
        new_targets = [perceptual.style_target(style, size=opts.style_size) for style in request.styles]
        seed = request.settings.seed

        if request.model is None:
            names = list(request.style_names)
            _check_unique(names)
            metadata = {
                "method": self.name,
                "styles": names,
                "backbone": opts.backbone,
                **transformer_metadata(architecture=opts.network, num_styles=len(names)),
                "training": {"loss": asdict(opts)},
            }

            def build() -> CinTask:
                return CinTask(
                    TransformerNet(num_styles=len(names), architecture=opts.network),
                    perceptual,
                    new_targets,
                    styles=list(range(len(names))),
                    metadata=metadata,
                    seed=seed,
                    only_styles=False,
                    styles_per_step=opts.styles_per_step,
                    style_lr_scale=opts.style_lr_scale,
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

            def build() -> CinTask:
                net = base
                first_new = net.num_styles
                for _ in request.styles:
                    net.add_style()
                targets = [None] * first_new + new_targets
                return CinTask(
                    net,
                    perceptual,
                    targets,
                    styles=list(range(first_new, net.num_styles)),
                    metadata=metadata,
                    seed=seed,
                    only_styles=True,
                    styles_per_step=opts.styles_per_step,
                    style_lr_scale=opts.style_lr_scale,
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
