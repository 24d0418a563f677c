"""Built-in loss terms: content, Gram, mean/std, histogram and total variation.

The classes live in :mod:`styletool_losses.terms`; the specs name them by
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
            load="styletool_losses.terms:ContentLoss",
            role="content",
        )
    )
    register(
        LossSpec(
            name="gram",
            summary="Gram-matrix feature correlations, Gatys et al. 2016 (option: shift)",
            load="styletool_losses.terms:GramLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="meanstd",
            summary="Per-channel mean and std (AdaIN), Huang & Belongie 2017",
            load="styletool_losses.terms:MeanStdLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="histogram",
            summary="Per-channel histogram matching, Risser et al. 2017",
            load="styletool_losses.terms:HistogramLoss",
            role="style",
        )
    )
    register(
        LossSpec(
            name="tv",
            summary="Total variation smoothness prior (option: p=1|2)",
            load="styletool_losses.terms:TotalVariationLoss",
            role="image",
        )
    )
