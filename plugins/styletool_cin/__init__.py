"""The built-in CIN method: many styles in one feed-forward network (conditional instance norm).

It ships ``paintings``, a model of sixteen paintings (recipes/cin_paintings.sh,
docs/models.md), the model ``--method cin`` uses when no ``--model`` is given.
"""

from __future__ import annotations

from pathlib import Path

from styletool import MethodSpec, ModelSpec, hookimpl

MODELS = Path(__file__).parent / "models"


@hookimpl
def register_methods(register):
    register(
        MethodSpec(
            name="cin",
            summary="One network, many styles and their blends (Dumoulin et al. 2017, conditional instance norm)",
            load="styletool_cin.method:CinMethod",
            options="styletool_cin.options:CinOptions",
            train_options="styletool_cin.options:CinTrainOptions",
            capabilities={"stylize", "train", "video"},
            default_model="paintings",
        )
    )


@hookimpl
def register_models(register):
    register(
        ModelSpec(
            name="paintings",
            method="cin",
            file=MODELS / "paintings.safetensors",
            sha256="5cc8d1238404faea1b6c723159d51321a73b3221e303715916982cae8b2f6c1c",
            summary="Sixteen paintings in one light network, with --strength: starry_night, the_scream, shipwreck, "
            "woman-with-hat-matisse, candy, rain_princess, la_muse, picasso_self_portrait, frida_kahlo, "
            "escher_sphere, trial, asheville, brushstrokes, antimonocromatismo, wikiart_22 (impressionist "
            "landscape), wikiart_36 (watercolour road).",
        )
    )
