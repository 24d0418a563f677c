"""The built-in MetaStyle method: meta-train once, adapt to any painting in a few hundred steps."""

from __future__ import annotations

from styletool import MethodSpec, hookimpl


@hookimpl
def register_methods(register):
    register(
        MethodSpec(
            name="metastyle",
            summary="Meta-trained network (Zhang et al. 2019): adapts to any painting in ~200 steps, then feed-forward fast",
            load="styletool_metastyle.method:MetaStyleMethod",
            options="styletool_metastyle.options:MetaStyleOptions",
            train_options="styletool_metastyle.options:MetaStyleTrainOptions",
            adapt_options="styletool_metastyle.options:MetaStyleAdaptOptions",
            capabilities={"stylize", "train", "video", "adapt"},
        )
    )
