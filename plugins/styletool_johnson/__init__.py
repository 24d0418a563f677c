"""The built-in Johnson method: one feed-forward network per style, trained once, then instant."""

from __future__ import annotations

from styletool import MethodSpec, hookimpl


@hookimpl
def register_methods(register):
    register(
        MethodSpec(
            name="johnson",
            summary="Feed-forward network per style (Johnson et al. 2016): train once, then stylize in milliseconds",
            load="styletool_johnson.method:JohnsonMethod",
            options="styletool_johnson.options:JohnsonOptions",
            train_options="styletool_johnson.options:JohnsonTrainOptions",
            capabilities={"stylize", "train", "video"},
        )
    )
