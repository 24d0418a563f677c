"""The device runtime: the one place that resolves devices, precision and seeds.

The CLI builds one :class:`Runtime` from ``--device``, ``--precision`` and
``--seed`` and hands it to the method; methods never pick devices themselves.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator
from typing import Any

import torch

from styletool.errors import DeviceError, UsageError
from styletool.framework.registry import Registry

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# "auto": exact fp32 for a forward pass (feed-forward stylizing); long optimizations (training,
# gatys) autocast where the hardware has fast half-precision arithmetic.
PRECISION_CHOICES = ("auto", *PRECISIONS)

# Frozen backbones are expensive to build (weights decode, device copy), so one
# instance per (name, device, options) is shared by every runtime in the process.
_BACKBONE_CACHE: dict[tuple, Any] = {}


def resolve_device(spec: str) -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a usable device, or explain why not."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if match:
        if not torch.cuda.is_available():
            why = "this PyTorch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU was found"
            raise DeviceError(f"device '{spec}' is not available: {why}; use --device cpu")
        index = int(match.group(1) or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"device '{spec}' does not exist: {count} CUDA device(s) found (cuda:0..cuda:{count - 1})"
            )
        return torch.device("cuda", index)
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' is not available: it needs Apple silicon and a PyTorch build with MPS")
        return torch.device("mps")
    raise UsageError(f"unknown device '{spec}'; use auto, cpu, cuda, cuda:N or mps")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware (so bf16 autocast is a speed-up, not an emulation)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    return False


class Runtime:
    """Device, precision, seed and the shared backbones for one run."""

    def __init__(
        self,
        *,
        device: str = "auto",
        precision: str = "auto",
        seed: int | None = None,
        registry: Registry | None = None,
    ):
        if precision not in PRECISION_CHOICES:
            raise UsageError(f"unknown precision '{precision}'; use {', '.join(PRECISION_CHOICES)}")
        self.device = resolve_device(device)
        self.precision = precision
        self.seed = seed
        self._registry = registry
        if precision == "fp16" and self.device.type == "cpu":
            # CPU fp16 kernels are slow and partly missing; bf16 is the CPU's half type.
            raise UsageError("precision fp16 is not supported on the CPU; use bf16 or fp32")
        if seed is not None:
            self.reseed()

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from styletool.framework.plugins import get_registry

            self._registry = get_registry()
        return self._registry

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The reduced-precision type for autocast when stylizing, or None for plain fp32 ("auto" is exact)."""
        return None if self.precision in ("fp32", "auto") else PRECISIONS[self.precision]

    @property
    def optimization_dtype(self) -> torch.dtype | None:
        """The reduced-precision type long optimizations autocast to, or None for plain fp32.

        Training and gatys's image optimization run the backbone thousands of
        times. With "auto" they use bf16 where the hardware computes it
        natively (CPUs with AVX-512 BF16 or AMX, CUDA GPUs that support it):
        about twice the images per second of fp32 in training, 1.9x the gatys
        iterations per second at 512 px, with results as close to the
        painting (docs/performance.md, docs/gatys.md). Emulated bf16 would be
        slower than fp32, so other CPUs stay in fp32.
        """
        if self.precision != "auto":
            return self.autocast_dtype
        return torch.bfloat16 if native_bf16(self.device) else None

    def optimization_autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for a long optimization's forward passes (see :attr:`optimization_dtype`)."""
        dtype = self.optimization_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the forward passes, as ``--precision`` asked."""
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def reseed(self) -> None:
        """Seed every random generator so the same seed gives the same output."""
        if self.seed is None:
            return
        random.seed(self.seed)
        torch.manual_seed(self.seed)
        try:
            import numpy

            numpy.random.seed(self.seed % 2**32)
        except ImportError:  # numpy is optional
            pass

    def generator(self) -> torch.Generator:
        """A generator on the runtime's device, seeded when a seed was given."""
        gen = torch.Generator(device=self.device)
        if self.seed is not None:
            gen.manual_seed(self.seed)
        else:
            gen.seed()
        return gen

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(self.device, non_blocking=True)

    # -- registered components -------------------------------------------
    def backbone(
        self, name: str, *, pooling: str = "max", padding: str = "zero", weights: str | os.PathLike | None = None
    ):
        """The frozen, cached backbone ``name`` on this runtime's device."""
        spec = self.registry.backbone(name)
        key = (name, str(self.device), pooling, padding, os.fspath(weights) if weights else None)
        backbone = _BACKBONE_CACHE.get(key)
        if backbone is None:
            factory = _load(spec)
            backbone = factory(pooling=pooling, padding=padding, weights=weights)
            backbone = backbone.to(self.device).eval().requires_grad_(False)
            if self.device.type == "cpu" and hasattr(backbone, "use_channels_last"):
                # oneDNN's convolutions are fastest channels-last (a bf16 gatys iteration at 512 px: 0.80 s to 0.45 s).
                backbone.use_channels_last()
            _BACKBONE_CACHE[key] = backbone
        return backbone

    def loss(self, name: str, **kwargs: Any):
        """A new instance of the registered loss ``name``."""
        return _load(self.registry.loss(name))(**kwargs)

    def method(self, name: str):
        """A new instance of the registered method ``name`` bound to this runtime."""
        return _load(self.registry.method(name))(self)

    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        with torch.inference_mode(), self.autocast():
            yield

    def __repr__(self) -> str:
        return f"Runtime(device={self.device}, precision={self.precision}, seed={self.seed})"


def _load(spec) -> Any:
    from styletool.framework.specs import resolve

    return resolve(spec.load)
