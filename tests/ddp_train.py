"""Run under torchrun by the tests: train METHOD (johnson or metastyle) on 2 CPU processes (gloo), save each rank's weights."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from styletool import TrainRequest, TrainSettings
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

from tiny_backbone import tiny_runtime


def main(out: Path, photos: Path, name: str = "johnson") -> None:
    runtime = tiny_runtime()
    method = runtime.method(name)
    options = make_options(
        resolve(runtime.registry.method(name).train_options),
        {
            "backbone": "tiny-random",
            "content_layers": ["relu3_1"],
            "style_layers": ["relu1_1", "relu2_1"],
            "style_size": 32,
        },
    )
    count = 1 if name == "johnson" else 3  # metastyle meta-trains over several paintings
    paintings = [torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3 + i)) for i in range(count)]
    settings = TrainSettings(steps=4, batch_size=2, image_size=32, workers=0, checkpoint_every=2, log_every=1)
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=photos,
        output=out / "model.safetensors",
        styles=paintings,
        style_names=[f"noise{i}" for i in range(count)],
    )
    result = method.train(request)
    rank = int(os.environ["RANK"])
    torch.save({"steps": result.steps, "weights": result.model.state_dict()}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:])
