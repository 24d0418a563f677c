"""Run under torchrun by benchmarks/training.py: train johnson briefly, rank 0 writes images per second.

Arguments: OUT_FOLDER DEVICE STEPS IMAGE_SIZE BATCH_PER_PROCESS.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from styletool import Runtime, TrainRequest, TrainSettings, load_image
from styletool.framework.options import make_options
from styletool.framework.specs import resolve


def main(out: Path, device: str, steps: int, image_size: int, batch_size: int) -> None:
    runtime = Runtime(device=device, seed=0)
    method = runtime.method("johnson")
    options = make_options(resolve(runtime.registry.method("johnson").train_options), {})
    painting = load_image("../shared/images/style/starry_night.jpg").pixels[None]
    settings = TrainSettings(steps=steps, batch_size=batch_size, image_size=image_size, checkpoint_every=0, workers=0)
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir="../shared/images/content",
        output=out / "model.safetensors",
        styles=[painting],
        style_names=["starry_night"],
    )
    stamps = []
    method.train(request, progress=lambda event: stamps.append(time.perf_counter()))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if int(os.environ.get("RANK", "0")) == 0:
        steps_per_second = (len(stamps) - 1) / (stamps[-1] - stamps[0])  # the first step warms up
        rate = {
            "processes": world,
            "steps_per_second": steps_per_second,
            "images_per_second": steps_per_second * batch_size * world,
        }
        (out / "rate.json").write_text(json.dumps(rate))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
