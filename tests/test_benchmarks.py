"""The benchmark command runs (quick mode) and reports every figure beside its baseline, so it cannot rot."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import shared_file

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_quick_benchmarks_write_a_table_and_figures(tmp_path):
    shared_file("images", "content", "chicago.jpg")  # the benchmarks read ../shared
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path), "--device", "cpu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    for section in ("### Gatys", "### Feed-forward inference", "### Training", "### MetaStyle", "### Start-up"):
        assert section in table
    figures = json.loads((tmp_path / "results.json").read_text())["benchmarks"]
    assert set(figures) == {"gatys", "feedforward", "training", "metastyle", "startup"}
    startup = figures["startup"]
    assert startup["seconds"]["python, import torch"] < startup["seconds"]["styletool (console script)"]
    assert startup["speedup_over_before"] > 0 and set(startup["phases"]) >= {"import torch"}

    for size, values in figures["feedforward"]["inference"].items():
        ours = values["styletool"]
        assert ours["max_abs_diff"] < 1e-4, size  # speed never hides a wrong answer
        assert ours["speedup"] > 0 and math.isfinite(ours["speedup"])
        assert values["styletool_peak_mb"] is not None and values["plain_peak_mb"] is not None
        if "styletool --int8" in values:  # x86 CPUs: not exact, but the same picture
            assert values["styletool --int8"]["psnr_db"] > 30 and values["styletool --int8"]["speedup"] > 0
    assert figures["feedforward"]["light_network"]["light network"]["speedup"] > 0
    for label, values in figures["feedforward"]["reduced_precision"].items():  # bf16 on a CPU, both layouts
        assert values["speedup"] > 0 and values["psnr_db"] > 20, label
    assert {"bf16, NCHW", "bf16, channels-last"} <= set(figures["feedforward"]["reduced_precision"])
    assert all(0 < s["quickest_s"] <= s["slowest_s"] for s in figures["gatys"]["backbone_pass"].values())
    assert "Measured on" in table and "torch " in table  # the machine beside the figures
    for values in figures["gatys"]["seconds_per_iteration"].values():
        assert values["styletool_s"] > 0 and values["plain_s"] > 0 and values["styletool_peak_mb"] is not None
    for runs in figures["gatys"]["defaults"].values():  # every run judged, beside the old defaults and plain
        assert set(runs) == {"defaults", "defaults, fp32", "before", "plain, same time"}
        assert all(run["seconds"] > 0 and 0 < run["style_distance"] and -1 <= run["ssim"] <= 1 for run in runs.values())
    for name in ("johnson", "cin"):
        training = figures["training"][name]
        assert training["plain_images_per_second"] > 0
        assert all(run["images_per_second"] > 0 and run["speedup"] > 0 for run in training["engine"].values())
    ddp = figures["training"]["ddp"]
    assert ddp["one_process"]["processes"] == 1 and ddp["two_processes"]["processes"] == 2
    assert ddp["two_processes"]["images_per_second"] > 0
    assert figures["metastyle"]["adaptation"]["seconds_per_step"] > 0


def test_the_machine_and_the_spread_are_reported_as_a_reader_needs_them():
    from benchmarks.__main__ import spread, spread_table
    from benchmarks.machine import describe, machine

    facts = machine()
    line = describe(facts)
    assert facts["cpu"] and f"torch {facts['torch']}" in line and f"{facts['threads']} threads" in line
    runs = [
        {"gatys": {"defaults": {"seconds": 45.0, "ssim": 0.39}}, "startup": {"seconds": {"cli": 1.7}}},
        {"gatys": {"defaults": {"seconds": 119.0, "ssim": 0.39}}, "startup": {"seconds": {"cli": 2.1}}},
    ]
    spreads = spread(runs)
    assert set(spreads) == {"gatys/defaults/seconds", "startup/seconds/cli"}  # timings only, not measures
    assert spreads["gatys/defaults/seconds"] == {"low": 45.0, "high": 119.0, "ratio": 119.0 / 45.0}
    assert "| gatys/defaults/seconds | 45 | 119 | 2.64x |" in spread_table(spreads, 2)
