"""The built-in MetaStyle method: meta-train once, adapt to any painting in a few hundred steps.

It ships ``meta``, a network that learned 34 paintings and a predictor of
any painting's blend of them (recipes/metastyle_meta.sh, docs/metastyle.md),
the model ``--method metastyle`` adapts when no ``--model`` is given.
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
            sha256="ea81fb24a52f6d1fe6e83d16d58edc1b0b7928754a44df3dcb3b10cf2633bbf2",
            summary="A light network that paints any painting (--style): a first picture in about 2 s from the "
            "painting's predicted blend of 34 learned paintings (--steps 0), an adapted one in about 15 s on a 2-core CPU.",
        )
    )
