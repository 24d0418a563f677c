"""The built-in MetaStyle method: meta-train once, adapt to any painting in a few hundred steps.

It ships ``meta``, a model meta-trained on twenty paintings
(recipes/metastyle_meta.sh, docs/metastyle.md), the model ``--method
metastyle`` adapts when no ``--model`` is given.
"""

from __future__ import annotations

from pathlib import Path

from styletool import MethodSpec, ModelSpec, hookimpl

MODELS = Path(__file__).parent / "models"


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
            default_model="meta",
        )
    )


@hookimpl
def register_models(register):
    register(
        ModelSpec(
            name="meta",
            method="metastyle",
            file=MODELS / "meta.safetensors",
            sha256="283ddc265ef8e69df3d1331ab63d27831c6606fa8a1a1ecce727e40de8764185",
            summary="A light network meta-trained on 20 paintings; adapts to any painting (--style) in about 40 s "
            "on a 2-core CPU.",
        )
    )
