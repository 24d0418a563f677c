"""The built-in Gatys method: stylize by optimizing the output image itself."""

from __future__ import annotations

from styletool import MethodSpec, hookimpl


@hookimpl
def register_methods(register):
    register(
        MethodSpec(
            name="gatys",
            summary="Optimization-based style transfer (Gatys et al. 2016): slow, no training, any style",
            load="styletool_gatys.method:GatysMethod",
            options="styletool_gatys.options:GatysOptions",
            capabilities={"stylize"},
        )
    )
