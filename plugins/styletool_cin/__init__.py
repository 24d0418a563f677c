"""The built-in CIN method: many styles in one feed-forward network (conditional instance norm)."""

from __future__ import annotations

from styletool import MethodSpec, hookimpl


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
        )
    )
