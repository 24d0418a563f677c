"""`styletool stylize`: paint photos in the manner of paintings with any method."""

from __future__ import annotations

import inspect
import time
import traceback
from pathlib import Path
from typing import List, Optional

import typer

from styletool.cli import state
from styletool.cli.catalog import method_options_class
from styletool.cli.output import print_json
from styletool.errors import StyletoolError, UsageError
from styletool.options import option_infos, parse_options
from styletool.plugins import get_registry

DEFAULT_NAME = "{stem}_{style}_{method}.{ext}"
GLOBAL_OPTIONS = {"-q", "--quiet", "--debug", "--device", "--precision", "--seed"}

HELP = """Stylize photos with a painting's style.

Examples:

  styletool stylize photo.jpg --style painting.jpg -o out.png

  styletool stylize a.jpg b.jpg --style painting.jpg --output-dir out/ --iterations 300

Method options (such as --iterations for gatys) are ordinary flags after the
photos; `styletool methods show METHOD` lists them.
"""


def split_method_words(words: list[str], options_cls: type | None) -> tuple[list[str], list[str]]:
    """Separate photo paths from method option words (a flag and, if it takes one, its value)."""
    takes_value = {}
    if options_cls is not None:
        takes_value = {info.flag: not info.is_flag for info in option_infos(options_cls)}
    inputs: list[str] = []
    option_words: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            if word.split("=")[0] in GLOBAL_OPTIONS:
                raise UsageError(f"{word} is a global option: put it before the command (styletool {word} stylize ...)")
            option_words.append(word)
            if "=" not in word and takes_value.get(word, False) and i + 1 < len(words):
                option_words.append(words[i + 1])
                i += 1
        else:
            inputs.append(word)
        i += 1
    return inputs, option_words


def output_paths(inputs: list[Path], *, output: Path | None, output_dir: Path | None, name: str, fmt: str | None, method: str, style_label: str) -> list[Path]:
    """Where each input's result goes: -o for one input, or --output-dir with a name template."""
    if output is not None and output_dir is not None:
        raise UsageError("give either -o FILE or --output-dir DIR, not both")
    if output is not None:
        if len(inputs) != 1:
            raise UsageError(f"-o takes exactly one input ({len(inputs)} given); use --output-dir DIR for several")
        return [output]
    if output_dir is None:
        raise UsageError("no output: give -o FILE (one input) or --output-dir DIR")
    ext = (fmt or "png").lower()
    paths = []
    for path in inputs:
        try:
            file_name = name.format(stem=path.stem, style=style_label, method=method, ext=ext)
        except (KeyError, IndexError, ValueError) as exc:
            raise UsageError(f"--name {name!r}: bad template ({exc}); fields are {{stem}}, {{style}}, {{method}}, {{ext}}") from None
        paths.append(output_dir / file_name)
    if len(set(paths)) != len(paths):
        raise UsageError("several inputs map to the same output name; add {stem} to --name")
    return paths


def install(app: typer.Typer) -> None:
    @app.command(
        "stylize",
        help=HELP,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def stylize(
        words: Optional[List[str]] = typer.Argument(None, metavar="PHOTO... [METHOD OPTIONS]", help="Photos to stylize."),
        style: List[Path] = typer.Option([], "--style", "-s", help="A painting whose style to use; repeat for several."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (one input)."),
        output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Output folder (any number of inputs); created if missing."),
        name: str = typer.Option(DEFAULT_NAME, "--name", help="File name template in --output-dir: {stem}, {style}, {method}, {ext}."),
        fmt: Optional[str] = typer.Option(None, "--format", help="png, jpg, webp or tiff (default: from the file name, else png)."),
        method: str = typer.Option("gatys", "--method", "-m", help="Stylization method (see `styletool methods`)."),
        bit_depth: int = typer.Option(8, "--bit-depth", help="8, or 16 for PNG and TIFF outputs."),
        size: Optional[int] = typer.Option(None, "--size", min=1, help="Longest side of the output in pixels (default: the method's)."),
        model: List[Path] = typer.Option([], "--model", help="Model file, for methods that use one; repeat to blend several (metastyle --mix)."),
        json: bool = typer.Option(False, "--json", help="Print one JSON object per output on stdout."),
    ) -> None:
        registry = get_registry()
        spec = registry.method(method)
        if "stylize" not in spec.capabilities:
            can = ", ".join(registry.methods_that_can("stylize")) or "none installed"
            raise UsageError(f"method '{method}' cannot stylize; methods that can: {can}")
        options_cls = method_options_class(spec)
        raw_inputs, option_words = split_method_words(list(words or []), options_cls)
        if options_cls is None:
            if option_words:
                raise UsageError(f"no such option {option_words[0]} (method '{method}' has no options)")
            options = None
        else:
            options = parse_options(options_cls, option_words, method=method)
        if not raw_inputs:
            raise UsageError("no photos given: styletool stylize PHOTO --style PAINTING -o OUT")
        inputs = [Path(p) for p in raw_inputs]
        _run(inputs, style=style, output=output, output_dir=output_dir, name=name, fmt=fmt,
             method=method, size=size, bit_depth=bit_depth, model=model, json=json, options=options)


def _run(inputs, *, style, output, output_dir, name, fmt, method, size, bit_depth, model, json, options) -> None:
    # Imported here so that `styletool --help` and the listing commands never import torch.
    from styletool.cli.progress import progress_bar
    from styletool.images import check_output_path, load_image, output_format, save_image
    from styletool.methods import StylizeRequest

    if bit_depth not in (8, 16):
        raise UsageError(f"--bit-depth must be 8 or 16, not {bit_depth}")
    runtime = state.options.runtime()
    stylizer = runtime.method(method)
    if stylizer.needs_style and not style:
        raise UsageError(f"method '{method}' needs at least one --style PAINTING")
    style_label = "+".join(p.stem for p in style) or ("+".join(m.stem for m in model) if model else "none")
    outputs = output_paths(inputs, output=output, output_dir=output_dir, name=name, fmt=fmt, method=method, style_label=style_label)
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StyletoolError(f"cannot create output folder: {exc.strerror or exc}", where=output_dir) from None
    # Check every destination before any long work starts.
    for out in outputs:
        check_output_path(out, inputs=inputs, format=fmt)
        if bit_depth == 16 and output_format(out, fmt) not in ("PNG", "TIFF"):
            raise UsageError(f"--bit-depth 16 needs a PNG or TIFF output, not {output_format(out, fmt)}", where=out)

    styles = [runtime.to_device(load_image(path).pixels[None]) for path in style]
    request = StylizeRequest(options=options, styles=styles, style_names=[p.stem for p in style],
                             model=model[0] if model else None, models=list(model), inputs=list(inputs))
    if "progress" in inspect.signature(stylizer.prepare).parameters:  # per-run work long enough to show (adapting)
        with progress_bar("prepare", quiet=state.options.quiet) as bar:
            prepared = stylizer.prepare(request, progress=bar)
    else:
        prepared = stylizer.prepare(request)

    failed = 0
    for path, out in zip(inputs, outputs):
        started = time.perf_counter()
        snapshots = Snapshots(out, fmt=fmt)
        try:
            image = _load_input(path, size=size, default_size=stylizer.default_size)
            runtime.reseed()  # each output depends only on its own input and the seed
            with progress_bar(path.name, quiet=state.options.quiet) as bar:
                result = stylizer.stylize(runtime.to_device(image.pixels[None]), request, prepared, progress=snapshots.wrap(bar))
            # A method may return another size (a contact sheet); the photo's alpha then does not apply.
            alpha = image.alpha if result.shape[-2:] == image.pixels.shape[-2:] else None
            save_image(result, out, alpha=alpha, format=fmt, bits=bit_depth)
        except StyletoolError as exc:
            failed += 1
            if exc.where is None:
                exc.where = str(path)
            if state.debug:
                traceback.print_exc()
            typer.echo(f"error: {exc}", err=True)
            if json:
                print_json({"input": str(path), "output": None, "method": method, "status": "failed",
                            "error": str(exc), "seconds": round(time.perf_counter() - started, 3)})
            continue
        finally:
            snapshots.remove()
        if json:
            print_json({"input": str(path), "output": str(out), "method": method, "status": "ok",
                        "seconds": round(time.perf_counter() - started, 3), "losses": snapshots.last_losses})
    if failed:
        if len(inputs) > 1:
            typer.echo(f"{len(inputs) - failed} done, {failed} failed", err=True)
        raise typer.Exit(1)


def _load_input(path: Path, *, size: int | None, default_size: int | None):
    """Load a photo at --size, or shrink it to the method's default size (never enlarge)."""
    from styletool.images import load_image, resize_longest

    image = load_image(path, size=size)
    if size is None and default_size is not None and max(image.size) > default_size:
        image.pixels = resize_longest(image.pixels, default_size)
        if image.alpha is not None:
            image.alpha = resize_longest(image.alpha, default_size)
    return image


class Snapshots:
    """Pass progress on, keep the last losses, and save intermediate images.

    A method attaches the current image to some progress events (gatys:
    --save-every N). It is written atomically to ``NAME.progress.EXT`` beside
    the output, so a viewer can watch it, and removed when the input is done:
    only the final output remains.
    """

    def __init__(self, out: Path, *, fmt: str | None):
        self.path = out.with_name(f"{out.stem}.progress{out.suffix}")
        self.fmt = fmt
        self.last_losses: dict[str, float] = {}

    def wrap(self, report):
        def handle(event):
            self.last_losses = dict(event.losses)
            if event.image is not None:
                from styletool.images import save_image

                save_image(event.image, self.path, format=self.fmt)
            report(event)

        return handle

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
