"""Copy a trained model into the package as a shipped model: fp16 weights, recipe in the header, manifest updated.

    python recipes/ship.py TRAINED.safetensors --name NAME --summary "..." --recipe recipes/NAME.sh [--default]

The weights are stored in float16 (half the size; the network computes in
float32 after loading, and the pictures differ from the fp32 model's by far
less than one level of 255: measured in docs/models.md). The model's header
gains ``shipped``: the recipe file, the training data and the summary.
MANIFEST.json records the file's SHA-256, which tests/test_shipped.py checks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from styletool.io.cache import file_digest
from styletool.io.modelfile import load_model, save_model
from styletool.io.shipped import MANIFEST, SHIPPED_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--recipe", required=True, help="the script that trains this model, relative to the repository")
    parser.add_argument(
        "--data", default="../shared/datasets/photos (BSDS500, research licence); paintings as named in the recipe"
    )
    parser.add_argument("--default", action="store_true", help="the model --method uses when no --model is given")
    args = parser.parse_args()

    model = load_model(args.model)
    metadata = {key: value for key, value in model.metadata.items() if key not in ("format", "styletool_version")}
    metadata["shipped"] = {"name": args.name, "recipe": args.recipe, "data": args.data, "summary": args.summary}
    tensors = {name: value.half() for name, value in model.tensors.items()}
    target = SHIPPED_DIR / f"{args.name}.safetensors"
    save_model(target, tensors, metadata)

    entries = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else []
    entries = [entry for entry in entries if entry["name"] != args.name]
    if args.default:
        for entry in entries:
            if entry["method"] == metadata["method"]:
                entry["default"] = False
    digest = file_digest(target)
    entries.append(
        {
            "name": args.name,
            "method": metadata["method"],
            "file": target.name,
            "sha256": digest,
            "default": args.default,
            "summary": args.summary,
        }
    )
    MANIFEST.write_text(json.dumps(entries, indent=2) + "\n")
    print(f"shipped {target} ({target.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...)")


if __name__ == "__main__":
    main()
