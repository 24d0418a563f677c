"""Run the benchmarks and write results.md and results.json to a folder."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import torch

BENCHMARKS = ["gatys", "feedforward", "training", "metastyle", "startup"]


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results"), help="folder for results.md and results.json"
    )
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer iterations (a smoke run)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = parser.parse_args(argv)

    from styletool import Runtime

    runtime = Runtime(device=args.device, seed=0)
    results = {
        "machine": machine(),
        "device": str(runtime.device),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "benchmarks": {},
    }
    sections = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr)
        figures, markdown = module.run(runtime, quick=args.quick, log=lambda m: print(f"  {m}", file=sys.stderr))
        results["benchmarks"][name] = figures
        sections.append(markdown)

    args.out.mkdir(parents=True, exist_ok=True)
    header = f"Machine: {json.dumps(results['machine'])}, device {results['device']}, {results['started']}\n"
    (args.out / "results.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print((args.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
