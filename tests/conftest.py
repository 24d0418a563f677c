"""Shared fixtures: paths to ../shared data, an in-process CLI runner, fake entry points."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from styletool.cli import main
from styletool.plugins import reset_plugin_manager

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
