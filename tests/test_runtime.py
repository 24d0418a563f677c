"""The device runtime: device resolution, precision, seeds, shared backbones."""

from __future__ import annotations

import copy

import pytest
import torch

from styletool import DeviceError, Runtime, UnknownNameError, UsageError
from styletool.framework.runtime import resolve_device


def test_auto_and_cpu_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_unavailable_cuda_is_a_clear_error():
    with pytest.raises(DeviceError, match="'cuda:1' is not available.*--device cpu"):
        resolve_device("cuda:1")


def test_unknown_device_string():
    with pytest.raises(UsageError, match="unknown device 'gpu'"):
        resolve_device("gpu")


def test_precision_validation():
    with pytest.raises(UsageError, match="unknown precision"):
        Runtime(device="cpu", precision="fp8")
    with pytest.raises(UsageError, match="fp16 is not supported on the CPU"):
        Runtime(device="cpu", precision="fp16")
    assert Runtime(device="cpu", precision="bf16").autocast_dtype == torch.bfloat16


def test_auto_precision_stylizes_exactly_and_trains_in_bf16_only_where_the_cpu_has_it(monkeypatch):
    runtime = Runtime(device="cpu")
    assert runtime.precision == "auto" and runtime.autocast_dtype is None  # pictures stay exact fp32
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert runtime.optimization_dtype == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert runtime.optimization_dtype is None  # emulated bf16 would be slower than fp32
    assert Runtime(device="cpu", precision="fp32").optimization_dtype is None
    assert Runtime(device="cpu", precision="bf16").optimization_dtype == torch.bfloat16


def test_same_seed_same_numbers():
    a = torch.rand(5, generator=Runtime(device="cpu", seed=3).generator())
    b = torch.rand(5, generator=Runtime(device="cpu", seed=3).generator())
    c = torch.rand(5, generator=Runtime(device="cpu", seed=4).generator())
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_backbones_are_cached_frozen_and_looked_up_by_name():
    runtime = Runtime(device="cpu")
    first = runtime.backbone("vgg19")
    assert first is Runtime(device="cpu").backbone("vgg19")
    assert first is not runtime.backbone("vgg19", pooling="avg")
    assert not first.training
    assert all(not p.requires_grad for p in first.parameters())
    with pytest.raises(UnknownNameError, match="did you mean 'vgg19'"):
        runtime.backbone("vgg91")


def test_cpu_backbones_run_channels_last_with_the_same_features():
    # oneDNN's convolutions are fastest in that layout; the numbers must not change with it.
    fast = Runtime(device="cpu").backbone("vgg19")
    assert fast.channels_last
    image = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = fast(image, ["relu1_1", "relu3_1"])
        plain = copy.deepcopy(fast).use_channels_last(False)(image, ["relu1_1", "relu3_1"])
    assert ours["relu3_1"].is_contiguous(memory_format=torch.channels_last)
    for layer in ours:  # fp32 sums in another order: equal to rounding, relative to the layer's scale
        scale = float(plain[layer].abs().max())
        torch.testing.assert_close(ours[layer], plain[layer], rtol=1e-4, atol=1e-5 * scale)


def test_losses_and_methods_come_from_the_registry():
    runtime = Runtime(device="cpu")
    assert runtime.loss("gram", layers=["relu1_1"]).layers == {"relu1_1": 1.0}
    assert runtime.method("gatys").runtime is runtime
