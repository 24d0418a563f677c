"""Run the benchmarks and write results.md and results.json to a folder.

Every section of results.md ends with the machine it was measured on (CPU
model and the instruction sets torch uses, threads, torch version). With
``--runs N`` every benchmark runs N times in turn and results.md adds the
spread of each timing across the runs (the quickest and the slowest), the
range to quote: a single run on a shared machine is one sample.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from benchmarks.machine import describe, machine

BENCHMARKS = ["gatys", "feedforward", "training", "metastyle", "startup"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results"), help="folder for results.md and results.json"
    )
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer iterations (a smoke run)")
    parser.add_argument("--runs", type=int, default=1, help="run each benchmark this many times; report the spread")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = parser.parse_args(argv)

    from styletool import Runtime

    runtime = Runtime(device=args.device, seed=0)
    facts = machine()
    measured_on = f"Measured on {describe(facts)}, device {runtime.device}."
    print(measured_on, file=sys.stderr)
    results: dict = {
        "machine": facts,
        "device": str(runtime.device),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "benchmarks": {},
    }
    sections = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        runs = []
        for run in range(args.runs):
            print(f"running {name} ({run + 1} of {args.runs}) ...", file=sys.stderr)
            figures, markdown = module.run(runtime, quick=args.quick, log=lambda m: print(f"  {m}", file=sys.stderr))
            runs.append(figures)
        results["benchmarks"][name] = runs[0] if args.runs == 1 else {"runs": runs, "spread": spread(runs)}
        if args.runs > 1:
            markdown += "\n\n" + spread_table(spread(runs), args.runs)
        sections.append(f"{markdown}\n\n{measured_on}")

    args.out.mkdir(parents=True, exist_ok=True)
    header = f"{measured_on} Started {results['started']}.\n"
    (args.out / "results.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print((args.out / "results.md").read_text())
    return 0


def timings(figures: object, path: str = "") -> dict[str, float]:
    """Every timing in a benchmark's figures, by its path: the numbers under a key that says seconds (or a rate)."""
    found: dict[str, float] = {}
    if isinstance(figures, dict):
        for key, value in figures.items():
            found.update(timings(value, f"{path}/{key}" if path else str(key)))
    elif isinstance(figures, (int, float)) and not isinstance(figures, bool):
        if any("second" in key or key.endswith(("_s", "_ms")) for key in path.split("/")):
            found[path] = float(figures)
    return found


def spread(runs: list) -> dict[str, dict[str, float]]:
    """For each timing of the runs: the lowest, the highest, and how far apart they are (highest / lowest)."""
    each = [timings(figures) for figures in runs]
    spreads = {}
    for path in each[0]:
        values = [figures[path] for figures in each if path in figures]
        low, high = min(values), max(values)
        spreads[path] = {"low": low, "high": high, "ratio": high / low if low > 0 else float("inf")}
    return spreads


def spread_table(spreads: dict[str, dict[str, float]], runs: int) -> str:
    rows = [f"| {path} | {s['low']:.4g} | {s['high']:.4g} | {s['ratio']:.2f}x |" for path, s in spreads.items()]
    return "\n".join(
        [
            f"Spread over {runs} runs:",
            "",
            "| timing | lowest | highest | highest / lowest |",
            "| --- | --- | --- | --- |",
            *rows,
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
