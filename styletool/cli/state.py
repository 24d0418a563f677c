"""Settings from the root command's global options, shared by every command."""

from __future__ import annotations

from dataclasses import dataclass

# Read by main() to decide whether a failure prints its traceback.
debug = False


@dataclass
class GlobalOptions:
    """The global options; the runtime is built from them only when a command needs torch."""

    device: str = "auto"
    precision: str = "auto"
    seed: int | None = None
    quiet: bool = False
    debug: bool = False

    def runtime(self):
        from styletool.framework.runtime import Runtime

        return Runtime(device=self.device, precision=self.precision, seed=self.seed)


options = GlobalOptions()
