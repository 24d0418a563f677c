"""Start-up: the first photo through a shipped feed-forward model, from the shell prompt to the written file.

Each figure is the median wall time of fresh processes (the command a user
types), beside two baselines run the same way, in turn with it: Python doing
nothing, and Python importing torch (the floor no command that uses torch can
go below). "before" is the same command through ``styletool.cli.main`` with
Python's orderly shutdown, which is how the console script ended before it
learned to exit at once (styletool.cli.run).

The breakdown runs the phases in one process and times each: importing
torch, the CLI and the plugins, then the command itself (model load,
preparation, the photo, writing the file).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHOTO = "../shared/images/content/tubingen.jpg"


def _model(folder: Path) -> tuple[str, list[str]]:
    """The shipped cin model when there is one, else a light cin network with random weights (same cost)."""
    from styletool.io.shipped import default_model

    shipped = default_model("cin")
    if shipped is not None:
        return "cin", ["--model", shipped.name]
    from styletool import TransformerNet, save_model

    net = TransformerNet(num_styles=8, architecture="light")
    path = save_model(
        folder / "cin.safetensors",
        {k: v.half() for k, v in net.state_dict().items()},
        {"method": "cin", "num_styles": 8, "architecture": "light", "styles": [str(i) for i in range(8)]},
    )
    return "cin", ["--model", str(path)]


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def _breakdown(arguments: list[str]) -> dict[str, float]:
    code = f"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from styletool.cli import create_app
app = create_app()
t2 = time.perf_counter()
try:
    app(args={arguments!r}, prog_name="styletool", standalone_mode=False)
finally:
    t3 = time.perf_counter()
    print(json.dumps({{"import torch": t1 - t0, "import the CLI and plugins": t2 - t1, "the command (model, photo, file)": t3 - t2}}))
"""
    run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    import json

    return json.loads(run.stdout.strip().splitlines()[-1])


def run(runtime, *, quick: bool, log):
    repeats = 2 if quick else 7
    size = 128 if quick else 512
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        method, model = _model(folder)
        arguments = [
            "--device",
            "cpu",
            "stylize",
            PHOTO,
            "--method",
            method,
            *model,
            "--size",
            str(size),
            "-o",
            str(folder / "out.png"),
            "--overwrite",
        ]
        commands = {
            "styletool (console script)": [sys.executable, "-c", "from styletool.cli import run; run()", *arguments],
            "before: orderly exit": [
                sys.executable,
                "-c",
                "import sys; from styletool.cli import main; main(sys.argv[1:])",
                *arguments,
            ],
            "python, nothing": [sys.executable, "-c", "pass"],
            "python, import torch": [sys.executable, "-c", "import os, torch; os._exit(0)"],
        }
        times = {name: [] for name in commands}
        for _ in range(repeats):  # in turn, so load from elsewhere hits every command alike
            for name, command in commands.items():
                times[name].append(_wall(command))
        medians = {name: statistics.median(values) for name, values in times.items()}
        phases = _breakdown(arguments)
    ours, before = medians["styletool (console script)"], medians["before: orderly exit"]
    figures = {
        "seconds": medians,
        "phases": phases,
        "size": size,
        "repeats": repeats,
        "speedup_over_before": before / ours,
        "over_torch_import": ours / medians["python, import torch"],
    }
    log(f"startup: {medians}, phases {phases}")
    rows = [f"| {name} | {seconds:.2f} s |" for name, seconds in medians.items()]
    rows += [f"| phase: {name} | {seconds:.2f} s |" for name, seconds in phases.items()]
    table = "\n".join(
        [
            "### Start-up",
            "",
            f"First photo ({size} px) through a light cin model, fresh process, median of {repeats}: "
            f"{ours:.2f} s, {figures['speedup_over_before']:.2f}x faster than before, "
            f"{figures['over_torch_import']:.2f}x the time Python takes to import torch.",
            "",
            "| command or phase | seconds |",
            "| --- | --- |",
            *rows,
        ]
    )
    return figures, table
