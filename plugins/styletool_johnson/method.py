"""Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style Transfer" (ECCV 2016).

Training fits one :class:`styletool.TransformerNet` to one painting: over many
photos it minimizes the same content + style (+ TV) loss Gatys optimizes per
image, so at stylize time a single forward pass replaces the optimization.

The network holds the painting as the one style of a conditional network
with a style-neutral row (:class:`styletool.FeedForwardTask`): training starts
from a network that gives the photo back, and ``--strength`` mixes toward that
row. Models made before the neutral row (plain networks) still stylize.
"""

from __future__ import annotations

from dataclasses import asdict

from styletool import (
    FeedForwardTask,
    Method,
    PerceptualLoss,
    StylizeRequest,
    TrainRequest,
    TransformerNet,
    UsageError,
    ignore_progress,
    load_transformer,
    painting_network,
    preserve_colors,
    run_network,
    run_training,
    transformer_metadata,
)
from styletool_johnson.options import JohnsonOptions, JohnsonTrainOptions


class JohnsonMethod(Method):
    """Stylize with a trained single-style network; train one with `styletool train --method johnson`."""

    name = "johnson"
    Options = JohnsonOptions
    needs_style = False

    # -- stylize ------------------------------------------------------------
    def prepare(self, request: StylizeRequest, *, progress=ignore_progress):
        if len(request.models) > 1:
            raise UsageError(f"method 'johnson' takes one --model ({len(request.models)} given)")
        if request.model is None:
            raise UsageError(
                "method 'johnson' needs --model MODEL.safetensors (make one with `styletool train --method johnson`)"
            )
        if request.styles:
            raise UsageError("method 'johnson' takes its style from the --model file; drop --style")
        opts: JohnsonOptions = request.options or JohnsonOptions()
        net, _ = load_transformer(request.model, method=self.name)
        # Models with a style-neutral row hold the painting as style 0 of a conditional network.
        return painting_network(
            net,
            device=self.runtime.device,
            strength=opts.strength,
            compile=opts.compile,
            int8=opts.int8,
            where=request.model,
        )

    def can_batch(self, request: StylizeRequest, prepared) -> bool:
        return True

    def stylize(self, content, request: StylizeRequest, prepared, *, progress=None):
        opts: JohnsonOptions = request.options or JohnsonOptions()
        with self.runtime.inference():
            result = run_network(prepared, content, tile=opts.tile, progress=progress)
        result = result.float().clamp(0, 1)
        return preserve_colors(result, content, opts.preserve_color, strength=opts.color_strength)

    # -- train --------------------------------------------------------------
    def train(self, request: TrainRequest, *, progress=None):
        opts: JohnsonTrainOptions = request.options or JohnsonTrainOptions()
        if len(request.styles) != 1:
            raise UsageError(
                f"method 'johnson' trains one network per style; give exactly one --style "
                f"({len(request.styles)} given; --method cin holds many styles in one model)"
            )
        if request.model is not None:
            raise UsageError(
                "method 'johnson' trains from scratch; --model is for cin (--add-style) and metastyle (a starting network)"
            )
        perceptual = PerceptualLoss.build(self.runtime, opts.perceptual_weights())
        target = perceptual.style_target(request.styles[0], size=opts.style_size)
        metadata = {
            "method": self.name,
            "styles": list(request.style_names),
            "backbone": opts.backbone,
            **transformer_metadata(architecture=opts.network, num_styles=1, neutral=True),
            "training": {"loss": asdict(opts)},
        }

        def build() -> FeedForwardTask:
            return FeedForwardTask(
                TransformerNet(num_styles=1, architecture=opts.network, neutral=True),
                perceptual,
                [target],
                styles=[0],
                metadata=metadata,
                seed=request.settings.seed,
                style_lr_scale=opts.style_lr_scale,
                neutral_steps=opts.neutral_steps,
                neutral_photos=opts.neutral_photos,
            )

        kwargs = {} if progress is None else {"progress": progress}
        return run_training(self.runtime, build, request, method=self.name, **kwargs)
