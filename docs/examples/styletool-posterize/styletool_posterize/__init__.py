"""Hooks of the example plugin: a method ('posterize'), a style loss ('channel-mean') and a backbone ('edges').

Keep this module light: styletool imports it for every command, including
`styletool --help`, so it must not import torch. The classes live in other
modules and are named by "module:attribute" strings.
"""

from styletool import BackboneSpec, LossSpec, MethodSpec, hookimpl


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


@hookimpl
def register_losses(register):
    register(
        LossSpec(
            name="channel-mean",
            summary="Example plugin: style as each channel's mean (colour and overall activity only)",
            load="styletool_posterize.loss:ChannelMeanLoss",
            role="style",
        )
    )


@hookimpl
def register_backbones(register):
    register(
        BackboneSpec(
            name="edges",
            summary="Example plugin: two fixed layers of oriented edge filters, no weights file",
            load="styletool_posterize.backbone:edges_backbone",
            weight_source="built in (fixed filters)",
            weights_available=lambda: True,
            layers=("conv1", "relu1", "pool1", "conv2", "relu2"),
        )
    )
