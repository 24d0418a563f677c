"""Timing and peak-memory helpers shared by the benchmarks."""

from __future__ import annotations

import time
from contextlib import contextmanager

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved(runs: dict, device: torch.device, repeats: int) -> dict[str, list[float]]:
    """Seconds of each call of each of ``runs`` (label: function), called in turn ``repeats`` times.

    Each is called once first as a warm-up. Taking turns means a stretch of
    load from elsewhere on a shared machine slows every contender alike
    rather than the one that happened to be running.
    """
    for run in runs.values():
        run()
    sync(device)
    seconds: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            started = time.perf_counter()
            run()
            sync(device)
            seconds[label].append(time.perf_counter() - started)
    return seconds


def best_of_interleaved(runs: dict, device: torch.device, repeats: int) -> dict[str, float]:
    """Seconds of the fastest call of each of ``runs``, called in turn (:func:`interleaved`)."""
    return {label: min(times) for label, times in interleaved(runs, device, repeats).items()}


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


class Peak:
    """The result of :func:`peak_memory`: ``bytes`` above what was in use when it started."""

    bytes: int | None = None

    @property
    def megabytes(self) -> float | None:
        return None if self.bytes is None else self.bytes / 1e6


def _release_free_memory() -> None:
    """Hand memory that is free but still held by the C allocator back to the system.

    Without this an earlier, larger run leaves freed pages resident, the next
    block reuses them, and its RSS peak reads as zero.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@contextmanager
def peak_memory(device: torch.device):
    """Measure the peak memory of the block: allocated bytes on a GPU, resident set (RSS) on a CPU.

    On the CPU freed memory is first returned to the system and the kernel's
    high-water mark reset (``/proc/self/clear_refs``), so each block is measured
    on its own; where that is not possible (not Linux)
    ``bytes`` stays None rather than report a wrong figure.
    """
    peak = Peak()
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield peak
        sync(device)
        peak.bytes = torch.cuda.max_memory_allocated(device) - base
        return
    _release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
        base = _status_bytes("VmRSS")
    except OSError:
        yield peak
        return
    yield peak
    peak.bytes = max(0, _status_bytes("VmHWM") - base)


def mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MB"
