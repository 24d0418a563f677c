"""Copy a trained model into its method's plugin as a shipped model: fp16 weights, the recipe in the header.

    python recipes/ship.py TRAINED.safetensors --name NAME --summary "..." --recipe recipes/NAME.sh

The weights are stored in float16 (half the size; the network computes in
float32 after loading, and the pictures differ from the fp32 model's by far
less than one level of 255: measured in docs/models.md). The model's header
gains ``shipped``: the recipe file, the training data and the summary. The
file goes to ``plugins/styletool_METHOD/models/NAME.safetensors``, where the
plugin declares it (``ModelSpec`` in its ``register_models`` hook); the
script prints the SHA-256 to put in that declaration, which
tests/test_shipped.py checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from styletool.io.cache import file_digest
from styletool.io.modelfile import load_model, save_model

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--recipe", required=True, help="the script that trains this model, relative to the repository")
    parser.add_argument(
        "--data", default="../shared/datasets/photos (BSDS500, research licence); paintings as named in the recipe"
    )
    args = parser.parse_args()

    model = load_model(args.model)
    metadata = {key: value for key, value in model.metadata.items() if key not in ("format", "styletool_version")}
    metadata["shipped"] = {"name": args.name, "recipe": args.recipe, "data": args.data, "summary": args.summary}
    tensors = {name: value.half() for name, value in model.tensors.items()}
    target = PLUGINS / f"styletool_{metadata['method']}" / "models" / f"{args.name}.safetensors"
    target.parent.mkdir(exist_ok=True)
    save_model(target, tensors, metadata)
    digest = file_digest(target)
    print(f"shipped {target} ({target.stat().st_size / 1e6:.2f} MB)")
    print(
        f"declare it in {target.parent.parent.name}/__init__.py: ModelSpec(name={args.name!r}, sha256={digest!r}, ...)"
    )


if __name__ == "__main__":
    main()
