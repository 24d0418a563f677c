"""A batch job across processes started by torchrun, and the run's tally.

Every process expands the same inputs and checks the same outputs, then
takes every WORLD-th input starting at its RANK (round-robin, so a folder
sorted by size spreads evenly), stylizes and writes its own share, and
reports its own failures. At the end the processes gather their tallies:
rank 0 prints the summary for the whole run, and every process exits 1 if
any input failed anywhere, so torchrun's exit status tells the truth.

The process group is joined once, at the start, and left at the end; a
method that trains while preparing (metastyle adapting to a painting) trains
in that same group, across all the processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from styletool.framework.distributed import Distributed

T = TypeVar("T")

# Processes finish their shares at different times; the first to finish waits
# for the last at the gather. A batch may run for days, so the wait may too.
GATHER_TIMEOUT = timedelta(days=7)


@dataclass
class Tally:
    """What happened to the inputs of a run: how many were done and skipped, and which failed."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    # The skipped files that are not images styletool reads (counted in ``skipped`` too).
    unreadable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.done} done, {self.skipped} skipped, {len(self.failed)} failed"
        if self.unreadable:
            kinds = sorted({Path(path).suffix.lower() or "no extension" for path in self.unreadable})
            count = len(self.unreadable)
            text += f"; skipped {count} file{'s' if count != 1 else ''} styletool cannot read ({', '.join(kinds)})"
        return text


def my_share(items: Sequence[T], dist: Distributed) -> list[T]:
    """Inputs ``rank, rank + world, ...`` of ``items``."""
    return list(items[dist.rank :: dist.world])


def gather_tally(tally: Tally, dist: Distributed) -> Tally:
    """The whole run's tally, from every process's own (every process must call this, in the process group)."""
    if dist.world == 1:
        return tally
    import torch.distributed as torch_dist

    tallies: list[Tally | None] = [None] * dist.world
    torch_dist.all_gather_object(tallies, tally)
    total = Tally()
    for part in tallies:
        assert part is not None  # all_gather_object filled every place
        total.done += part.done
        total.skipped += part.skipped
        total.failed.extend(part.failed)
        total.unreadable.extend(part.unreadable)
    return total
