"""Every runnable example of README.md and docs/*.md, and what running one here takes.

An *example* is a fenced ```python block, one command of a ```bash block
(lines joined at a trailing backslash; comment lines left out), or a whole
```bash block that is a script (it starts with ``#!``). Each runs in a fresh
copy of a *workspace*: a folder holding every file the examples name, made
from ../shared at tiny sizes, with the home folder set to it (so
``~/photos`` is there too) and ``../shared`` beside it. How a documented
example becomes one that runs in seconds here:

- ``WORKSPACE`` (built by :func:`build_workspace`): ``photo.jpg``,
  ``painting.jpg``, ``photos/``, ``starry.safetensors``, ``clip.mp4``, ...
  are small copies of ../shared photos and paintings, and models trained for
  a step or two, so the file names of the docs need no change.
- ``TINY``: flags the ``styletool`` on the examples' PATH adds to each
  command (:func:`tiny_args`): gatys runs a few iterations at 48 px,
  training and adaptation two steps on 32 px crops. A flag the example
  gives itself keeps the example's value unless ``TINY`` says to override it.
- ``SUBSTITUTIONS``: literal replacements in a few examples' text, each with
  its reason (a Python call's sizes, a ``...`` placeholder).
- ``SKIPPED``: the examples that cannot run here, each with the reason.

A command that writes a file the workspace already holds (``train -o
starry.safetensors``) runs without that file: its copy of the workspace
loses the names given to ``-o``/``--output``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}


@dataclass(frozen=True)
class Example:
    document: str  # README.md, docs/api.md, ...
    line: int  # where the example starts in the document
    language: str  # python, bash or toml
    text: str

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def examples() -> list[Example]:
    """Every example of README.md and docs/*.md, in document order."""
    found = []
    for path in DOCUMENTS:
        document = str(path.relative_to(REPO))
        text = path.read_text()
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            language, body = match.group(1), match.group(2)
            first = text[: match.start()].count("\n") + 2  # the block's first line
            if language == "python" or language == "toml":
                found.append(Example(document, first, language, body))
            elif language in SHELL_LANGUAGES:
                found += _commands(document, first, body)
    return found


def _commands(document: str, first: int, body: str) -> list[Example]:
    if body.startswith("#!"):  # a script: one example
        return [Example(document, first, "bash", body)]
    commands, pending, start = [], "", first
    for offset, line in enumerate(body.splitlines()):
        if not pending:
            start = first + offset
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(Example(document, start, "bash", pending.strip()))
            pending = ""
    return commands


# -- what an example needs changed or cannot do here ---------------------------------------------

# Text in an example -> why the examples holding it cannot run in the test suite.
SKIPPED = {
    "pip install": "installs packages (pip); the suite runs on the installed package and its dev extra",
    "pytest -n auto": "the test suite's own command",
    "ruff check .": "the lint CI runs before the tests (.ci/run)",
    "torchrun ": "several processes (torchrun); the sharded batch and distributed training are tested by "
    "tests/test_sharded_stylize.py and tests/test_training.py",
    "styletool plugins install": "installs a distribution with pip; the example plugin is tested by "
    "tests/test_example_plugin.py",
    "--method foo": "runs the plugin that `styletool plugins install` installs",
    "styletool methods show foo": "shows the plugin that `styletool plugins install` installs",
    "    def output_label": "one method of the options class above it, shown alone",
}

# Text in an example -> [(text, what it becomes)]: why is said beside each.
SUBSTITUTIONS = {
    # `...` stands for the rest of any stylize command.
    "--seed 1 stylize ...": [("stylize ...", "stylize photo.jpg --style painting.jpg -o seeded.png")],
    # A Python call takes no flags from the PATH's styletool: its iterations and size are made tiny here.
    '"iterations": 300': [('"iterations": 300', '"iterations": 3'), ("size=512", "size=48")],
}


def skip_reason(example: Example) -> str | None:
    return next((why for text, why in SKIPPED.items() if text in example.text), None)


# Flags the `styletool` on the examples' PATH adds, by command and method ("*": any method). A flag
# the example gives keeps its value, unless it is in OVERRIDDEN (long runs documented as such).
TINY = {
    ("stylize", "gatys"): {"--iterations": "3", "--size": "48"},
    ("grid", "gatys"): {"--iterations": "3", "--size": "48"},
    ("stylize", "metastyle"): {"--steps": "2", "--image-size": "32"},
    ("train", "*"): {"--steps": "2", "--image-size": "32", "--batch-size": "2", "--workers": "0"},
    ("adapt", "*"): {"--steps": "2", "--image-size": "32"},
}
OVERRIDDEN = {"--steps", "--iterations", "--image-size", "--size"}
DEFAULT_METHOD = {"stylize": "gatys", "grid": "gatys"}
GLOBAL_WITH_VALUE = {"--device", "--precision", "--seed"}


def tiny_args(args: list[str]) -> list[str]:
    """A styletool command line made tiny: ``TINY``'s flags for its command and method, added or overriding."""
    args = list(args)
    index = 0
    while index < len(args) and args[index].startswith("-"):  # global options come first
        index += 2 if args[index] in GLOBAL_WITH_VALUE else 1
    if index >= len(args):
        return args
    command = args[index]
    methods = [args[i + 1] for i, word in enumerate(args[:-1]) if word in ("--method", "-m")]
    method = methods[0] if len(methods) == 1 else DEFAULT_METHOD.get(command) if not methods else None
    flags = {**TINY.get((command, "*"), {}), **TINY.get((command, method or ""), {})}
    if "--help" in args or "-h" in args:
        return args
    for flag, value in flags.items():
        if flag in args:
            if flag in OVERRIDDEN:
                args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


def outputs_of(example: Example) -> list[str]:
    """The files a shell example names with -o/--output: they must not exist before it runs."""
    try:
        words = shlex.split(example.text, comments=True)
    except ValueError:
        return []
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-o", "--output")]


def example_text(example: Example) -> str:
    """The example as it runs here: with its ``SUBSTITUTIONS``."""
    text = example.text
    for key, replacements in SUBSTITUTIONS.items():
        if key in text:
            for old, new in replacements:
                text = text.replace(old, new)
    return text


# -- the workspace --------------------------------------------------------------------------------

PHOTOS = {  # workspace name -> ../shared/images/content photo
    "photo.jpg": "tubingen",
    "a.jpg": "golden_gate",
    "b.jpg": "chicago",
    "me.jpg": "astronaut",
    "tubingen.jpg": "tubingen",
    "golden_gate.jpg": "golden_gate",
    "photos/tubingen.jpg": "tubingen",
    "photos/golden_gate.jpg": "golden_gate",
    "photos/chicago.jpg": "chicago",
    "holiday/newyork.jpg": "newyork",
    "holiday/cornell.jpg": "cornell",
    "videos/rocket.jpg": "rocket",
}
PAINTINGS = {  # workspace name -> ../shared/images/style painting
    "painting.jpg": "starry_night",
    "p1.jpg": "starry_night",
    "p2.jpg": "the_scream",
    "starry.jpg": "starry_night",
    "wave.jpg": "shipwreck",
    "new.jpg": "mondrian",
    "starry_night.jpg": "starry_night",
    "the_scream.jpg": "the_scream",
    "paintings/starry_night.jpg": "starry_night",
    "paintings/the_scream.jpg": "the_scream",
    "paintings/shipwreck.jpg": "shipwreck",
    "paintings/mondrian.jpg": "mondrian",
}
SIDE = 96  # longest side of the workspace's pictures


def build_workspace(folder: Path, shared: Path) -> Path:
    """Every file the examples name, small; models trained for a step on them. Returns ``folder``."""
    from PIL import Image as PILImage

    folder.mkdir(parents=True)
    for names, kind in ((PHOTOS, "content"), (PAINTINGS, "style")):
        for name, source in names.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with PILImage.open(shared / "images" / kind / f"{source}.jpg") as image:
                image = image.convert("RGB")
                image.thumbnail((SIDE, SIDE))
                image.save(target, quality=92)
    with PILImage.open(folder / "photo.jpg") as image:
        image.save(folder / "other.png")
    _clip(folder / "clip.mp4", folder / "photo.jpg")
    shutil.copy(folder / "clip.mp4", folder / "videos" / "clip.mp4")
    _models(folder)
    return folder


def _clip(path: Path, photo: Path, frames: int = 12) -> None:
    """A tiny video: a window panning across ``photo``, 12 frames at 24 per second."""
    import av
    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(photo) as image:
        pixels = np.asarray(image.convert("RGB"))
    height, width = 48, 64
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            left = index * (pixels.shape[1] - width) // frames
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(pixels[:height, left : left + width]), format="rgb24"
            )
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def _models(folder: Path) -> None:
    """The model files the examples use, each trained for a step or two (what they paint does not matter here)."""
    from styletool import AdaptRequest, Runtime, TrainRequest, TrainSettings, load_painting
    from styletool.nn.export import export_model

    runtime = Runtime(device="cpu", seed=0)
    settings = TrainSettings(
        steps=1, batch_size=2, image_size=32, workers=0, checkpoint_every=0, save_checkpoints=False
    )
    paintings = sorted((folder / "paintings").glob("*.jpg"))

    def train(method: str, output: str, styles: list[Path]) -> Path:
        spec = runtime.registry.method(method)
        request = TrainRequest(
            options=spec.make_options({}, kind="train"),
            settings=settings,
            content_dir=folder / "photos",
            output=folder / output,
            styles=[load_painting(path).pixels[None] for path in styles],
            style_names=[path.stem for path in styles],
        )
        runtime.method(method).train(request)
        return request.output

    train("johnson", "starry.safetensors", [folder / "starry.jpg"])
    multi = train("cin", "multi.safetensors", paintings)
    shutil.copy(multi, folder / "many.safetensors")
    meta = train("metastyle", "meta.safetensors", paintings)
    for name, painting in (("wave", "wave.jpg"), ("scream", "the_scream.jpg")):
        request = AdaptRequest(
            options=runtime.registry.method("metastyle").make_options({"steps": 1, "image_size": 32}, kind="adapt"),
            model=meta,
            style=load_painting(folder / painting).pixels[None],
            style_name=name,
            output=folder / f"{name}.safetensors",
            content_files=[folder / "photo.jpg"],
        )
        runtime.method("metastyle").adapt(request)
    export_model(folder / "starry.safetensors", folder / "starry.onnx", fmt="onnx")


def styletool_command(bin_folder: Path) -> Path:
    """A ``styletool`` for the examples' PATH: this Python, the command line made tiny by :func:`tiny_args`."""
    bin_folder.mkdir(parents=True, exist_ok=True)
    script = bin_folder / "styletool"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from documented_examples import tiny_args\n"
        "from styletool.cli import run\n"
        "sys.argv[1:] = tiny_args(sys.argv[1:])\n"
        "run()\n"
    )
    script.chmod(0o755)
    return script
