"""Built-in loss terms: content, Gram, mean/std, histogram and total variation.

The classes live in :mod:`styletool.losses`; the specs name them by
``"module:attr"`` string so that registering (and listing) never imports torch.
"""

from __future__ import annotations

from styletool import LossSpec, hookimpl


@hookimpl
def register_losses(register):
    register(
        LossSpec(
            name="content",
            summary="Feature reconstruction (MSE of features), Gatys et al. 2016",
            load="styletool.losses:ContentLoss",
            role="content",
        )
    )
    register(
        LossSpec(
            name="gram",
            summary="Gram-matrix feature correlations, Gatys et al. 2016 (option: shift)",
            load="styletool.losses:GramLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="meanstd",
            summary="Per-channel mean and std (AdaIN), Huang & Belongie 2017",
            load="styletool.losses:MeanStdLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="histogram",
            summary="Per-channel histogram matching, Risser et al. 2017",
            load="styletool.losses:HistogramLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="tv",
            summary="Total variation smoothness prior (option: p=1|2)",
            load="styletool.losses:TotalVariationLoss",
            role="image",
        )
    )
