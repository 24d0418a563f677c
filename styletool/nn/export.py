"""Export transformer-network models to ONNX or TorchScript, for runtimes without styletool.

The exported graph takes ``image``: float32 ``[N, 3, H, W]`` RGB in [0, 1], any
batch and any size of at least 8 px a side, and returns ``stylized`` in the
same shape and range (clamped). A multi-style (conditional) model takes a second
input, ``style``: ``[N, num_styles]`` weights per image (a one-hot row picks
a style, a row summing to 1 blends styles); the style names, in order, are in
the ONNX file's metadata.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from styletool.errors import StyletoolError, UsageError, describe
from styletool.io.atomic import replacing
from styletool.io.modelfile import ModelFileError, load_model
from styletool.nn.transformer import TransformerNet, is_transformer_model, network_from

FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 18
MIN_SIDE = 8


class ExportError(StyletoolError):
    """The exporter failed on a model it should handle."""


class _Single(nn.Module):
    def __init__(self, net: TransformerNet):
        super().__init__()
        self.net = net

    def forward(self, image: Tensor) -> Tensor:
        return self.net(image).clamp(0, 1)


class _Conditional(nn.Module):
    def __init__(self, net: TransformerNet):
        super().__init__()
        self.net = net

    def forward(self, image: Tensor, style: Tensor) -> Tensor:
        return self.net(image, style=style).clamp(0, 1)


def exportable(path: str | Path) -> tuple[nn.Module, tuple[Tensor, ...], dict]:
    """The model in ``path`` as an eval-mode module for export, example inputs, and the file's metadata."""
    model = load_model(path)
    metadata = model.metadata
    if not is_transformer_model(metadata):
        raise ModelFileError(
            f"a '{metadata.get('method')}' model is not a transformer network; export handles the models of "
            "feed-forward methods",
            where=path,
        )
    net = network_from(model, where=path).requires_grad_(False)
    image = torch.rand(1, 3, 64, 48)
    if net.conditional and net.num_styles == 1:
        # One painting beside its style-neutral row (johnson): exported as the plain network it
        # computes at full strength, taking only the image, as single-style models always were.
        metadata = {key: value for key, value in metadata.items() if key not in ("num_styles", "neutral")}
        return _Single(net.single_style(torch.tensor([1.0])).requires_grad_(False)).eval(), (image,), metadata
    if net.num_styles is not None:
        styles = net.num_styles
        return _Conditional(net).eval(), (image, torch.full((1, styles), 1.0 / styles)), metadata
    return _Single(net).eval(), (image,), metadata


def export_model(path: str | Path, output: str | Path, *, fmt: str) -> Path:
    """Write the model in ``path`` to ``output`` as ``fmt`` (onnx or torchscript), atomically."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; use {' or '.join(FORMATS)}")
    module, inputs, metadata = exportable(path)
    output = Path(output)
    if output.resolve() == Path(path).resolve():
        raise UsageError("the export would overwrite the model itself; choose another -o", where=output)
    try:
        with replacing(output) as temp:
            if fmt == "onnx":
                _export_onnx(module, inputs, metadata, temp)
            else:
                _export_torchscript(module, inputs, metadata, temp)
    except OSError as error:
        raise StyletoolError(f"cannot write: {describe(error)}", where=output) from None
    return output


def _export_onnx(module: nn.Module, inputs: tuple[Tensor, ...], metadata: dict, target: Path) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401 - torch.onnx's exporter imports it; here the message is ours
    except ImportError:
        raise UsageError("ONNX export needs the onnx extra: pip install 'styletool[onnx]'") from None
    batch = torch.export.Dim("batch", min=1)
    height, width = torch.export.Dim("height", min=MIN_SIDE), torch.export.Dim("width", min=MIN_SIDE)
    shapes = {"image": {0: batch, 2: height, 3: width}}
    names = ["image"]
    if len(inputs) == 2:
        shapes["style"] = {0: batch}
        names.append("style")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                module,
                inputs,
                dynamic_shapes=shapes,
                input_names=names,
                output_names=["stylized"],
                opset_version=ONNX_OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        except Exception as error:  # the exporter's errors are long; keep the first line
            raise ExportError(f"ONNX export failed: {describe(error)}") from error
    if program is None:  # what the dynamo exporter returns unless asked to write the file itself
        raise ExportError("ONNX export failed: the exporter returned no program")
    model = program.model_proto
    for key, value in _description(metadata).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    import onnx

    onnx.save(model, str(target))


def _export_torchscript(module: nn.Module, inputs: tuple[Tensor, ...], metadata: dict, target: Path) -> None:
    with warnings.catch_warnings():
        # torch.jit is deprecated upstream but is still what C++ and mobile runtimes load.
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, inputs, check_trace=False)
        torch.jit.save(traced, str(target), _extra_files={"styletool.json": json.dumps(_description(metadata))})


def _description(metadata: dict) -> dict[str, str]:
    """What a user of the exported file needs to know, as strings."""
    return {
        "styletool_method": str(metadata.get("method", "")),
        "styletool_styles": json.dumps(metadata.get("styles", [])),
        "styletool_input": "image: float32 [N,3,H,W] RGB in [0,1]"
        + ("; style: float32 [N,num_styles] weights" if metadata.get("num_styles") else ""),
        "styletool_version": str(metadata.get("styletool_version", "")),
    }
