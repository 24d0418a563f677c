"""Zhang, Zhu, Zhu, "MetaStyle: Three-Way Trade-Off Among Speed, Flexibility, and Quality in
Neural Style Transfer" (AAAI 2019).

Meta-training learns a starting point for :class:`styletool.TransformerNet`
rather than a network for one style: each outer step adapts copies of the
current weights to a few sampled paintings with a few plain gradient steps,
scores the adapted copies on other photos, and moves the starting point so
those scores improve (:mod:`styletool_metastyle.meta`). From that starting
point, a new painting needs only a hundred or two ordinary training steps
(`styletool adapt`), after which the adapted model stylizes at feed-forward
speed like any johnson model.

Meta-training from a conditional network with a style-neutral row (a cin
model, ``--model``) keeps that network's convolutions and learns a predictor
of a painting's row from its feature statistics instead
(:class:`PredictorTask`, :mod:`styletool_metastyle.predictor`): a new
painting then gets a picture at once from its predicted row (``--steps
0``), and adaptation trains that row from there. Such models keep the
neutral row, so ``--strength`` works on everything adapted from them.

Model files carry ``kind``: ``meta`` for a meta-trained starting point,
``adapted`` for a model adapted to one painting.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from styletool import (
    AdaptRequest,
    BasicTask,
    Method,
    ModelFile,
    PerceptualLoss,
    PerceptualOptions,
    PhotoFolder,
    Progress,
    StylizeRequest,
    TrainRequest,
    TrainResult,
    TrainSettings,
    TransformerNet,
    UsageError,
    Variants,
    as_saved,
    blend_weights,
    cache_dir,
    file_digest,
    ignore_progress,
    load_transformer,
    loader_workers,
    lr_factor,
    painting_network,
    preserve_colors,
    range_excess,
    run_network,
    run_training,
    save_model,
    transformer_metadata,
)
from styletool_metastyle.meta import fast_weight_names, query_loss
from styletool_metastyle.options import MetaStyleAdaptOptions, MetaStyleOptions, MetaStyleTrainOptions
from styletool_metastyle.predictor import (
    StylePredictor,
    blended_row,
    feature_statistics,
    fit_choices,
    load_meta_model,
    meta_tensors,
    one_style_network,
    painting_statistics,
    style_tables,
    tables_with_row,
    vary_painting,
)

META, ADAPTED = "meta", "adapted"


class MetaTask(BasicTask):
    """The bilevel training task the shared engine runs (it owns the outer Adam step)."""

    # The inner steps call the network with computed weights, which DDP cannot see; the engine
    # averages gradients itself. Each style's query loss is back-propagated on its own, so memory
    # does not grow with --meta-batch.
    ddp = False
    backward_inside = True

    def __init__(
        self,
        net: TransformerNet,
        loss: PerceptualLoss,
        targets: list[Any],
        opts: MetaStyleTrainOptions,
        settings: TrainSettings,
        metadata: dict[str, Any],
        query_photos: PhotoFolder | None,
    ):
        self.model = net
        self.perceptual = loss
        self.targets = targets
        self.opts = opts
        self.settings = settings
        self.metadata = metadata
        self.fast = fast_weight_names(net, opts.fast_weights)
        self.query_photos = query_photos

    def styles_for_step(self, step: int) -> list[int]:
        """The meta-batch of style indices for ``step``: a pure function of the seed and step (resumable)."""
        generator = torch.Generator().manual_seed(self.settings.seed * 15_485_863 + step)
        order = torch.randperm(len(self.targets), generator=generator)
        return order[: min(self.opts.meta_batch, len(self.targets))].tolist()

    def support_and_query(self, photos: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.query_photos is None:
            half = photos.shape[0] // 2
            if half == 0:
                raise UsageError(
                    "metastyle splits each batch into inner and query photos: --batch-size must be at least 2"
                )
            return photos[:half], photos[half:]
        query = self.query_photos.step_batch(step, photos.shape[0], seed=self.settings.seed + 1)
        if query is None:
            raise UsageError("no readable photos in --val-content-dir for this step")
        return photos, query.to(photos.device)

    def loss(self, model, photos, step):
        support, query = self.support_and_query(photos, step)
        styles = self.styles_for_step(step)
        weights: dict[str, torch.Tensor] = dict(self.model.named_parameters())
        inner_lr = self.opts.inner_lr * lr_factor(self.settings.lr_schedule, step, self.settings.steps)
        totals: dict[str, torch.Tensor] = {}
        for index in styles:
            target = self.targets[index]

            def style_loss(
                output: torch.Tensor, content: torch.Tensor, target: Any = target
            ) -> dict[str, torch.Tensor]:
                return self.perceptual(output, content, target)

            terms = query_loss(
                self.model,
                weights,
                self.fast,
                support,
                query,
                style_loss,
                lr=inner_lr,
                steps=self.opts.inner_steps,
                first_order=self.opts.first_order,
                max_step=self.opts.inner_max_step,
            )
            (cast(torch.Tensor, sum(terms.values())) / len(styles)).backward()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0) + value.detach() / len(styles)
        return totals


class MetaNetwork(nn.Module):
    """A meta-model with a predictor: a conditional network (its paintings' rows and a neutral row) and the predictor."""

    net: TransformerNet
    predictor: StylePredictor

    def __init__(self, net: TransformerNet, predictor: StylePredictor):
        super().__init__()
        self.net = net
        self.predictor = predictor

    def forward(self, photos: torch.Tensor) -> torch.Tensor:
        """The average painting (the live preview while training)."""
        count = cast(int, self.net.num_styles)
        return self.net(photos, torch.full((count,), 1 / count, device=photos.device))


class PredictorTask(BasicTask):
    """Meta-training from a conditional network: learn to predict any painting's row from its statistics.

    Each step draws ``--meta-batch`` of the paintings and makes a new variant
    of each (:func:`vary_painting`); each variant paints its share of the
    step's photos with the blend of rows the predictor gives it, judged
    against that variant. With ``--inner-steps`` above 0 the predicted row
    first takes that many plain gradient steps on half of those photos and
    is judged on the other half (MetaStyle's bilevel objective, from the
    predicted row). Only the predictor learns: the network stays the
    starting one, so every painting it learned keeps its row.
    """

    ddp = False
    backward_inside = True

    def __init__(
        self,
        model: MetaNetwork,
        loss: PerceptualLoss,
        paintings: list[torch.Tensor],
        opts: MetaStyleTrainOptions,
        settings: TrainSettings,
        metadata: dict[str, Any],
    ):
        self.model = self.meta = model
        self.perceptual = loss
        self.paintings = paintings
        self.opts = opts
        self.settings = settings
        self.metadata = metadata
        model.net.requires_grad_(False)
        # The bilevel objective adapts one painting row: a one-row view of the same network.
        self.single = one_style_network(model.net).requires_grad_(False) if opts.inner_steps > 0 else None

    def parameters(self):
        return list(self.meta.predictor.parameters())

    def model_file(self):
        return meta_tensors(self.meta.net, self.meta.predictor), self.metadata

    def loss(self, model, photos, step):
        generator = torch.Generator().manual_seed(self.settings.seed * 15_485_863 + step)
        count = min(self.opts.meta_batch, len(self.paintings), photos.shape[0])
        chosen = torch.randperm(len(self.paintings), generator=generator)[:count].tolist()
        inner_lr = self.opts.inner_lr * lr_factor(self.settings.lr_schedule, step, self.settings.steps)
        net = self.meta.net
        totals: dict[str, torch.Tensor] = {}
        for index, chunk in zip(chosen, photos.chunk(count)):
            painting = vary_painting(self.paintings[index], generator)
            features = self.perceptual.style_features(painting, size=self.opts.style_size)
            target = self.perceptual.target_from_features(features)
            blend = self.meta.predictor(feature_statistics(features).to(photos.device))[0]

            def judged(output: torch.Tensor, content: torch.Tensor, target: Any = target) -> dict[str, torch.Tensor]:
                # The picture as saved, and the raw output kept in range, as feed-forward training judges it.
                terms = self.perceptual(as_saved(output), content, target)
                terms["range"] = range_excess(output)
                return terms

            if self.single is None:
                terms = judged(net(chunk, blend), chunk)
            else:
                weights = tables_with_row(self.single, blended_row(net, blend))
                half = max(1, chunk.shape[0] // 2)
                support, query = chunk[:half], chunk[half:] if chunk.shape[0] > 1 else chunk
                terms = query_loss(
                    self.single,
                    weights,
                    list(weights),
                    support,
                    query,
                    judged,
                    lr=inner_lr,
                    steps=self.opts.inner_steps,
                    first_order=self.opts.first_order,
                    max_step=self.opts.inner_max_step,
                    call={"style": 0},
                )
            (cast(torch.Tensor, sum(terms.values())) / count).backward()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0) + value.detach() / count
        return totals


class AdaptTask(BasicTask):
    """Ordinary training of one painting from a meta-trained start: all parameters, or only the norms."""

    def __init__(
        self, net: TransformerNet, loss: PerceptualLoss, target: Any, *, only_norm: bool, metadata: dict[str, Any]
    ):
        self.model = self.net = net
        self.perceptual = loss
        self.target = target
        self.only_norm = only_norm
        self.metadata = metadata

    def parameters(self):
        if not self.only_norm:
            return list(self.net.parameters())
        names = set(norm_parameter_names(self.net))
        chosen = []
        for name, parameter in self.net.named_parameters():
            parameter.requires_grad_(name in names)
            if name in names:
                chosen.append(parameter)
        return chosen

    def loss(self, model, photos, step):
        if not self.net.conditional:  # a meta-model from before the predictor: raw output, as it was trained
            return self.perceptual(model(photos), photos, self.target)
        # The painting is row 0; judged as saved and kept in range, as its meta-model was trained.
        output = model(photos, 0)
        terms = self.perceptual(as_saved(output), photos, self.target)
        terms["range"] = range_excess(output)
        return terms

    def sample(self, photo):
        return self.net(photo, 0) if self.net.conditional else self.net(photo)


def norm_parameter_names(net: TransformerNet) -> list[str]:
    """The normalization scales and shifts: a conditional network's style tables, or a plain one's norms."""
    return [name for name, _ in style_tables(net)] if net.conditional else fast_weight_names(net, "norm")


class MetaStyleMethod(Method):
    """Meta-train a starting point, adapt it to any painting in a few hundred steps, stylize, blend."""

    name = "metastyle"
    Options = MetaStyleOptions
    needs_style = False

    # -- stylize ------------------------------------------------------------
    def prepare(self, request: StylizeRequest, *, progress=ignore_progress):
        opts: MetaStyleOptions = request.options or MetaStyleOptions()
        models = request.models or ([request.model] if request.model else [])
        if not models:
            raise UsageError(
                "method 'metastyle' needs --model: an adapted model, or a meta-trained one with --style PAINTING"
            )
        if len(models) > 1:
            return self._prepare_blend(models, request, opts)
        if opts.mix is not None or opts.interpolate_steps is not None:
            raise UsageError("--mix and --interpolate-steps blend several models: give --model A --model B")
        net, _, model = load_meta_model(models[0], method=self.name)
        kind = model.metadata.get("kind")
        if kind == ADAPTED:
            if request.styles:
                raise UsageError(
                    f"this model is already adapted to '{', '.join(model.styles)}'; drop --style, "
                    "or pass the meta-trained model to adapt to another painting",
                    where=models[0],
                )
        else:
            if len(request.styles) != 1:
                raise UsageError(
                    "this is a meta-trained model: give one --style PAINTING to adapt it to "
                    "(or adapt once with `styletool adapt` and stylize with the adapted model)",
                    where=models[0],
                )
            net = self._adapted_for_stylize(models[0], request, opts, progress)
        return [self._fast(net, opts, models[0])]

    def _fast(self, net: TransformerNet, opts: MetaStyleOptions, where: Path):
        """The network to stylize with; models from a predictor's meta-model hold the painting as row 0."""
        return painting_network(
            net, device=self.runtime.device, strength=opts.strength, compile=opts.compile, int8=opts.int8, where=where
        )

    def can_batch(self, request: StylizeRequest, prepared) -> bool:
        return True

    def variants(self, request: StylizeRequest, prepared) -> Variants | None:
        # --interpolate-steps: one row from the first model to the second, each picture labelled with its blend.
        if len(prepared) == 1:
            return None
        first, second = (Path(path).stem for path in request.models)
        labels = [first, *(f"{100 - round(100 * t)}% / {round(100 * t)}%" for t in _steps(len(prepared))[1:-1]), second]
        return Variants(labels=labels, columns=len(prepared))

    def stylize(self, content, request: StylizeRequest, prepared, *, progress=None):
        opts: MetaStyleOptions = request.options or MetaStyleOptions()
        with self.runtime.inference():
            results = [
                run_network(network, content, tile=opts.tile, progress=progress).float().clamp(0, 1)
                for network in prepared
            ]
        results = [preserve_colors(r, content, opts.preserve_color, strength=opts.color_strength) for r in results]
        return torch.cat(results)  # one picture, or one per blend with --interpolate-steps

    def _prepare_blend(self, paths: list[Path], request: StylizeRequest, opts: MetaStyleOptions):
        if request.styles:
            raise UsageError("blending --model files takes no --style: each model carries its own")
        nets = [load_meta_model(path, method=self.name)[0] for path in paths]
        if opts.interpolate_steps is not None:
            if opts.mix is not None:
                raise UsageError("give --mix or --interpolate-steps, not both")
            if len(nets) != 2:
                raise UsageError(f"--interpolate-steps blends exactly two --model files ({len(nets)} given)")
            mixes = [[1 - t, t] for t in _steps(opts.interpolate_steps)]
        else:
            if opts.mix is None:
                raise UsageError(
                    f"{len(nets)} --model files given: say how to blend them with --mix "
                    f"(e.g. --mix {','.join(['0.5'] * 2) if len(nets) == 2 else '...'}) or --interpolate-steps N"
                )
            mixes = [blend_weights(opts.mix, flag="--mix", count=len(nets), per="--model files")]
        return [self._fast(blend(nets, mix), opts, paths[0]) for mix in mixes]

    def _adapted_for_stylize(
        self, meta_path: Path, request: StylizeRequest, opts: MetaStyleOptions, progress
    ) -> TransformerNet:
        """Adapt the meta-model to the painting, or take the adaptation from the cache."""
        content_dir = Path(opts.content_dir) if opts.content_dir else None
        if content_dir is None and not request.inputs and opts.steps > 0:
            raise UsageError("no photos to adapt on: pass --content-dir DIR")
        adapt_opts = MetaStyleAdaptOptions(
            **{name: getattr(opts, name) for name in MetaStyleAdaptOptions.__dataclass_fields__}
        )
        key = adaptation_key(meta_path, request.styles[0], adapt_opts, content_dir, self.runtime.seed or 0)
        cached = cache_dir("metastyle", f"{key}.safetensors")
        if not opts.no_cache and cached.is_file():
            try:
                net, _ = load_transformer(cached, method=self.name)
                progress(Progress(stage="adapt (cached)", step=adapt_opts.steps, total=adapt_opts.steps))
                return net
            except Exception:  # a damaged cache entry is rebuilt, never fatal
                cached.unlink(missing_ok=True)
        adapt_request = AdaptRequest(
            options=adapt_opts,
            model=meta_path,
            style=request.styles[0],
            style_name=request.style_names[0],
            output=cached,
            content_dir=content_dir,
            content_files=list(request.inputs),
        )
        if opts.no_cache:
            with tempfile.TemporaryDirectory(prefix="styletool-adapt-") as folder:
                return self._adapt_now(replace(adapt_request, output=Path(folder) / "adapted.safetensors"), progress)
        cached.parent.mkdir(parents=True, exist_ok=True)
        return self._adapt_now(adapt_request, progress)

    def _adapt_now(self, request: AdaptRequest, progress) -> TransformerNet:
        result = self.adapt(request, progress=progress)
        if result.interrupted:
            raise KeyboardInterrupt
        return result.model.cpu().eval()

    # -- adapt --------------------------------------------------------------
    def adapt(self, request: AdaptRequest, *, progress=ignore_progress):
        opts: MetaStyleAdaptOptions = request.options or MetaStyleAdaptOptions()
        net, predictor, model = load_meta_model(request.model, method=self.name)
        if model.metadata.get("kind") != META:
            raise UsageError(
                "not a meta-trained model (this one is already adapted); adapt the meta-trained model",
                where=request.model,
            )
        loss_opts = _loss_options(model.metadata)
        if opts.style_weight is not None:
            loss_opts = replace(loss_opts, style_weight=opts.style_weight)
        if opts.steps == 0 and predictor is None:
            raise UsageError(
                "--steps 0 takes the painting's row from the meta-model's predictor, and this one has none "
                "(made before predictors): adapt with --steps 1 or more",
                where=request.model,
            )
        if opts.steps > 0 and request.content_dir is None and not request.content_files:
            raise UsageError("no photos to adapt on: give --content-dir DIR or --content PHOTO")
        started = time.perf_counter()
        perceptual = PerceptualLoss.build(self.runtime, loss_opts.perceptual_weights())
        features = perceptual.style_features(request.style, size=loss_opts.style_size)
        target = perceptual.target_from_features(features)
        if net.conditional:
            # One painting row to adapt: the blend the predictor gives this painting (no predictor: the average).
            blend = None
            if predictor is not None:
                with torch.no_grad():
                    blend = predictor(feature_statistics(features).cpu())[0]
            net = one_style_network(net, blend)
        metadata = {
            "method": self.name,
            "kind": ADAPTED,
            "styles": [request.style_name],
            "backbone": loss_opts.backbone,
            **transformer_metadata(
                architecture=net.architecture, num_styles=1 if net.conditional else None, neutral=net.neutral
            ),
            "adapted_from": {"file": Path(request.model).name, "sha256": file_digest(request.model)},
            "adaptation": asdict(opts),
            "training": {"loss": asdict(loss_opts)},
        }
        settings = TrainSettings(
            steps=opts.steps,
            batch_size=opts.batch_size,
            lr=opts.lr,
            # What the adaptation defaults were measured with (docs/metastyle.md).
            lr_schedule="constant",
            image_size=opts.image_size,
            checkpoint_every=0,
            workers=loader_workers(request.content_dir),
            seed=self.runtime.seed or 0,
            save_checkpoints=False,
        )
        train_request = TrainRequest(
            options=None,
            settings=settings,
            content_dir=request.content_dir,
            output=request.output,
            model=request.model,
            content_files=None if request.content_dir is not None else list(request.content_files),
        )
        if opts.steps == 0:  # the predicted picture only: nothing to train
            progress(Progress(stage="adapt (predicted)", step=1, total=1))
            output = save_model(request.output, net.state_dict(), metadata)
            return TrainResult(output=output, steps=0, seconds=time.perf_counter() - started, images=0, model=net)

        def build() -> AdaptTask:
            return AdaptTask(net, perceptual, target, only_norm=opts.only_norm, metadata=metadata)

        def report(event: Progress) -> None:
            progress(replace(event, stage="adapt"))

        return run_training(self.runtime, build, train_request, method=self.name, progress=report)

    # -- train --------------------------------------------------------------
    def train(self, request: TrainRequest, *, progress=ignore_progress):
        opts: MetaStyleTrainOptions = request.options or MetaStyleTrainOptions()
        if len(request.styles) < 2:
            raise UsageError(
                "meta-training needs several paintings to generalize from: --style-dir DIR "
                f"(or --style A --style B ...); {len(request.styles)} given"
            )
        start = None
        if request.model is not None:
            loaded, start_model = starting_network(request.model)
            if loaded.conditional and loaded.neutral:
                return self._train_predictor(request, loaded, start_model.styles, request.model, opts, progress)
            start = loaded.single_style() if loaded.conditional else loaded
        settings: TrainSettings = request.settings
        if opts.meta_lr is not None:  # the engine's optimizer is the outer one
            settings = dataclasses.replace(settings, lr=opts.meta_lr)
            request = dataclasses.replace(request, settings=settings)
        query_photos = None
        if opts.val_content_dir is not None:
            query_photos = PhotoFolder(opts.val_content_dir, image_size=settings.image_size, seed=settings.seed + 1)
        elif settings.batch_size < 2:
            raise UsageError(
                "metastyle splits each batch into inner and query photos: --batch-size must be at least 2 "
                "(or give --val-content-dir)"
            )
        perceptual = PerceptualLoss.build(self.runtime, opts.perceptual_weights())
        targets = [perceptual.style_target(style, size=opts.style_size) for style in request.styles]
        loss_opts = {name: getattr(opts, name) for name in PerceptualOptions.__dataclass_fields__}
        metadata = {
            "method": self.name,
            "kind": META,
            "styles": list(request.style_names),
            "backbone": opts.backbone,
            **transformer_metadata(architecture=start.architecture if start is not None else opts.network),
            "training": {"loss": loss_opts, "meta": {k: v for k, v in asdict(opts).items() if k not in loss_opts}},
        }
        if request.model is not None:
            metadata["started_from"] = {"file": Path(request.model).name, "sha256": file_digest(request.model)}

        def build() -> MetaTask:
            net = copy.deepcopy(start) if start is not None else TransformerNet(architecture=opts.network)
            return MetaTask(net, perceptual, targets, opts, settings, metadata, query_photos)

        return run_training(self.runtime, build, request, method=self.name, progress=progress)

    def _train_predictor(
        self,
        request: TrainRequest,
        start: TransformerNet,
        start_styles: list[str],
        start_path: Path,
        opts: MetaStyleTrainOptions,
        progress,
    ):
        """Meta-training from a conditional network with a neutral row: a row predictor (:class:`PredictorTask`)."""
        settings: TrainSettings = request.settings
        if opts.meta_lr is not None:
            settings = dataclasses.replace(settings, lr=opts.meta_lr)
            request = dataclasses.replace(request, settings=settings)
        if opts.val_content_dir is not None:
            raise UsageError(
                "--val-content-dir is for meta-training a plain network; a predictor scores its own photos"
            )
        perceptual = PerceptualLoss.build(self.runtime, opts.perceptual_weights())
        paintings = list(request.styles)
        statistics = torch.cat(
            [painting_statistics(perceptual, painting, size=opts.style_size) for painting in paintings]
        )
        # The paintings the starting network learned give the predictor a warm start: their rows.
        known = [
            (index, start_styles.index(name)) for index, name in enumerate(request.style_names) if name in start_styles
        ]
        loss_opts = {name: getattr(opts, name) for name in PerceptualOptions.__dataclass_fields__}
        hidden = PREDICTOR_HIDDEN
        metadata = {
            "method": self.name,
            "kind": META,
            "styles": list(request.style_names),
            "backbone": opts.backbone,
            "start_styles": list(start_styles),
            **transformer_metadata(architecture=start.architecture, num_styles=start.num_styles, neutral=True),
            "predictor": {"inputs": statistics.shape[1], "rows": start.num_styles, "hidden": hidden},
            "training": {"loss": loss_opts, "meta": {k: v for k, v in asdict(opts).items() if k not in loss_opts}},
            "started_from": {"file": Path(start_path).name, "sha256": file_digest(start_path)},
        }

        def build() -> PredictorTask:
            net = copy.deepcopy(start)
            predictor = StylePredictor(statistics.shape[1], cast(int, net.num_styles), hidden=hidden)
            predictor.fit_inputs(statistics)
            if known:
                choices = torch.tensor([row for _, row in known])
                fit_choices(predictor, statistics[[index for index, _ in known]], choices)
            return PredictorTask(MetaNetwork(net, predictor), perceptual, paintings, opts, settings, metadata)

        return run_training(self.runtime, build, request, method=self.name, progress=progress)


# Width of the predictor's hidden layer: it learns from tens of paintings, so it stays small.
PREDICTOR_HIDDEN = 64


def starting_network(path: Path) -> tuple[TransformerNet, ModelFile]:
    """The network meta-training starts from when given --model (any feed-forward model), and its file.

    A cin model with a neutral row starts a predictor (:class:`PredictorTask`);
    any other multi-style model gives its shared convolutions with the mean of
    its style rows: a network that already paints, sitting among its styles,
    from which the meta-objective has far less to learn than from random
    weights (docs/metastyle.md measures the difference).
    """
    net, model = load_transformer(path, method=None)
    if model.metadata.get("kind") == ADAPTED:
        raise UsageError(
            "this model is adapted to one painting; start from a meta-trained, cin or johnson model", where=path
        )
    return net, model


def _loss_options(metadata: dict[str, Any]) -> PerceptualOptions:
    """The perceptual loss a meta-model was trained with (adaptation uses the same one)."""
    saved = metadata.get("training", {}).get("loss", {})
    known = {name: saved[name] for name in PerceptualOptions.__dataclass_fields__ if name in saved}
    known.setdefault("normalize", "none")  # models from before relative losses were trained with the raw sums
    return PerceptualOptions(**known)


def blend(nets: list[TransformerNet], weights: list[float]) -> TransformerNet:
    """A network whose every parameter is the weighted sum of the networks' parameters."""
    architectures = {net.architecture for net in nets}
    if len(architectures) > 1:
        raise UsageError(f"cannot blend models of different networks ({', '.join(sorted(architectures))})")
    if len({(net.num_styles, net.neutral) for net in nets}) > 1:
        raise UsageError("cannot blend models adapted from different kinds of meta-model")
    mixed = TransformerNet(architecture=nets[0].architecture, num_styles=nets[0].num_styles, neutral=nets[0].neutral)
    states = [net.state_dict() for net in nets]
    mixed.load_state_dict({name: sum(w * state[name] for w, state in zip(weights, states)) for name in states[0]})
    return mixed.eval()


def adaptation_key(
    meta_path: Path, style: torch.Tensor, opts: MetaStyleAdaptOptions, content_dir: Path | None, seed: int
) -> str:
    """Cache key of an adaptation: the meta-model's bytes, the painting's pixels and every setting."""
    pixels = (style.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().contiguous()
    parts = {
        "meta": file_digest(meta_path),
        "style": hashlib.sha256(pixels.numpy().tobytes()).hexdigest() + str(tuple(pixels.shape)),
        "settings": asdict(opts),
        "content": str(content_dir.resolve()) if content_dir else "the photos being stylized",
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _steps(count: int) -> list[float]:
    """``count`` evenly spaced weights of the second model, from 0 to 1 (--interpolate-steps)."""
    return [k / (count - 1) for k in range(count)]
