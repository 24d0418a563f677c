"""The built-in CIN method: many styles in one feed-forward network (conditional instance norm).

It ships ``paintings``, a model of eight paintings (recipes/cin_paintings.sh,
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
            sha256="f9a359b95c9c88151149af476152b8b5efb61256798f9ab3d1df16fcc822a665",
            summary="Eight paintings in one light network: starry_night, the_scream, shipwreck, "
            "woman-with-hat-matisse, wikiart_12 (mosaic), wikiart_22 (impressionist landscape), "
            "wikiart_32 (lake at sunset), wikiart_36 (watercolour road).",
        )
    )
