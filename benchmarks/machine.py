"""What a figure was measured on: the CPU (model and the instruction sets torch uses), threads, torch.

Printed beside every figure: the README's gatys command took 45 s on one
2-core AVX-512 BF16 EPYC and 119 s on another, and a reader can only weigh a
figure whose machine they know (AMX, where a CPU has it, runs bf16
convolutions on matrix units: another class of machine again).
"""

from __future__ import annotations

import os
import platform

import torch


def machine() -> dict:
    """The facts a timing depends on, as a JSON-ready dict."""
    cpu = getattr(torch, "cpu", None)

    def has(check: str) -> bool:
        return bool(getattr(cpu, check, lambda: False)())

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        # What torch's CPU kernels dispatch to, and the extensions bf16 and int8 speed depend on.
        "vector_isa": torch.backends.cpu.get_cpu_capability(),
        "avx512_bf16": has("_is_avx512_bf16_supported"),
        "amx": has("_is_amx_tile_supported"),
        "vnni": has("_is_vnni_supported"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def describe(facts: dict) -> str:
    """One line for beside a figure: 'Intel Xeon (AVX512, avx512_bf16, amx, vnni), 2 cores, 2 threads, torch 2.14.1'."""
    flags = [facts["vector_isa"], *(name for name in ("avx512_bf16", "amx", "vnni") if facts[name])]
    gpu = f", GPU {facts['gpu']}" if facts["gpu"] else ""
    return (
        f"{facts['cpu']} ({', '.join(flags)}), {facts['cores']} cores, {facts['threads']} threads, "
        f"torch {facts['torch']}{gpu}"
    )


def _cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo; elsewhere what the platform module knows)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
