"""Hooks of the example plugin: registers the 'posterize' method.

Keep this module light: styletool imports it for every command, including
`styletool --help`, so it must not import torch. The method class lives in
another module and is named by a "module:attribute" string.
"""

from styletool import MethodSpec, hookimpl


@hookimpl
def register_methods(register):
    register(
        MethodSpec(
            name="posterize",
            summary="Example plugin: reduce the photo to a few flat colour levels",
            load="styletool_posterize.method:PosterizeMethod",
            options="styletool_posterize.options:PosterizeOptions",
            capabilities={"stylize"},
        )
    )
