"""Shared fixtures: paths to ../shared data, an in-process CLI runner, fake entry points."""

from __future__ import annotations

import os
import sys

# Under pytest-xdist (`-n auto`, the README's test command) the workers share the cores: each gets its share of
# threads, set before torch starts its thread pool, and passed on to the subprocesses tests start.
# More threads than cores makes OpenMP spin against itself and everything many times slower.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // _workers))
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import typer

from styletool.cli import main
from styletool.framework.plugins import reset_plugin_manager

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
IMAGES = SHARED / "images"
WEIGHTS = SHARED / "weights"


def shared_file(*parts: str) -> Path:
    """A file from ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (the ../shared folder beside the checkout)")
    return path


@pytest.fixture(scope="session")
def starry_johnson(tmp_path_factory):
    """A real johnson model of starry_night, VGG-19 loss at the defaults, on the shared photos but one.

    The neutral start for 300 steps, then 300 steps of the painting, in batches
    of 4 crops of 128 px from photos at 256 px. A few minutes on a 2-core CPU, so
    it is trained once per session and shared (training quality, strength,
    video flicker, int8); tests using it go in one xdist group.
    """
    import shutil

    from styletool import Runtime, TrainRequest, TrainSettings, load_image
    from styletool.framework.options import make_options
    from styletool.framework.specs import resolve

    held_out = "golden_gate"
    painting = shared_file("images", "style", "starry_night.jpg")
    shared_file("images", "content", f"{held_out}.jpg")
    folder = tmp_path_factory.mktemp("starry_johnson")
    photos = folder / "photos"
    photos.mkdir()
    for path in (IMAGES / "content").glob("*.jpg"):
        if path.stem != held_out:
            shutil.copy(path, photos / path.name)
    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("johnson")
    options = make_options(resolve(runtime.registry.method("johnson").train_options), {"neutral_steps": 300})
    settings = TrainSettings(
        steps=600, batch_size=4, image_size=256, crop_size=128, lr=1e-3, checkpoint_every=0, workers=0, log_every=10
    )
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=photos,
        output=folder / "starry.safetensors",
        styles=[load_image(painting).pixels[None]],
        style_names=["starry_night"],
    )
    losses: list[dict[str, float]] = []
    method.train(request, progress=lambda event: losses.append(dict(event.losses)))
    return SimpleNamespace(model=request.output, losses=losses, held_out=held_out)


@pytest.fixture(autouse=True)
def fresh_plugins():
    """Every test loads plugins anew: tests change entry points and env vars."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``styletool ARGS`` in this process and return exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def parse_method_options(kind: str, method: str, words: list[str]):
    """The ``kind`` options of ``method`` as a command parses them from ``words`` (stylize, train, adapt, grid's way).

    Raises what the command line would report: styletool's UsageError, or a
    parser error of Typer's (``PARSER_ERROR``).
    """
    from styletool.cli.method_options import method_command, method_options

    app = typer.Typer()
    parsed = []

    @app.command(cls=method_command(kind))
    def command(ctx: typer.Context, method: str = typer.Option(..., "--method")) -> None:
        parsed.append(method_options(ctx))

    app(["--method", method, *words], standalone_mode=False)
    return parsed[0]


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    group: str = "styletool"
    dist: object = None

    def load(self):
        __import__(self.value)
        return sys.modules[self.value]


@pytest.fixture
def fake_plugins(monkeypatch):
    """Replace the installed plugins with in-memory modules: fake_plugins(name=module_or_exception, ...)."""

    def install(**plugins) -> None:
        entry_points = []
        for name, module in plugins.items():
            module_name = f"fake_styletool_{name}"
            if isinstance(module, BaseException):
                # A module whose import raises: put a finder-free stand-in that fails on load.
                entry_points.append(_FailingEntryPoint(name, module_name, error=module))
                continue
            monkeypatch.setitem(sys.modules, module_name, module)
            dist = SimpleNamespace(name=f"styletool-{name}", version="1.2.3")
            entry_points.append(FakeEntryPoint(name, module_name, dist=dist))

        def entry_points_for(*, group=None, **_):
            return [ep for ep in entry_points if group in (None, ep.group)]

        monkeypatch.setattr("importlib.metadata.entry_points", entry_points_for)
        reset_plugin_manager()

    return install


class _FailingEntryPoint(FakeEntryPoint):
    def __init__(self, name, value, *, error):
        super().__init__(name, value, dist=SimpleNamespace(name=f"styletool-{name}", version="0.0.1"))
        self.error = error

    def load(self):
        raise self.error


def make_module(name: str, **attrs) -> ModuleType:
    module = ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module
