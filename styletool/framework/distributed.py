"""This process's place among torchrun's processes, and the device it runs on.

Training and batch stylizing both run under torchrun, so these facts belong
to the runtime's layer, below both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass
class Distributed:
    """This process's place among torchrun's processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    opened: bool = field(default=False, repr=False, compare=False)  # this object joined the process group

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))

    def setup(self, device: torch.device, *, timeout: timedelta | None = None) -> None:
        """Join the process group, unless this process is already in one (a batch stylize that adapts)."""
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", timeout=timeout)
            self.opened = True

    def teardown(self) -> None:
        """Leave the process group if ``setup`` joined it: whoever opened a group closes it.

        (Under torchrun a group cannot be opened a second time in one process:
        the new one would find the old one's addresses in torchrun's store.)
        """
        if self.opened and dist.is_initialized():
            dist.destroy_process_group()
            self.opened = False

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def process_device(self, device: torch.device) -> torch.device:
        """The device this process works on: under torchrun on GPUs, the GPU of its local rank."""
        if self.world > 1 and device.type == "cuda":
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device
