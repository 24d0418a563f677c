"""Layering rules: the core never imports plugins, plugins use only the public module, and packaging ships no top-level 'plugins'."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

from conftest import REPO


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_never_imports_a_plugin_package():
    plugin_packages = {p.name for p in (REPO / "plugins").iterdir() if p.is_dir() and p.name.startswith("styletool_")}
    assert plugin_packages, "no plugin packages found"
    offenders = []
    for path in (REPO / "styletool").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in plugin_packages or top == "plugins" or top.startswith("styletool_"):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {contract["name"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def test_every_core_module_is_closed_to_plugins_unless_it_is_the_public_module():
    # A module added to the core is private until someone decides otherwise: the contract must name it.
    core = {
        f"styletool.{path.stem if path.suffix else path.name}"
        for path in (REPO / "styletool").iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").is_file()
    }
    forbidden = set(_contracts()["Plugins use only the public styletool module"]["forbidden_modules"])
    assert core - forbidden == set(), "core modules plugins could import without the contract noticing"
    assert forbidden - core == set(), "the contract names modules that no longer exist"


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    plugins = {p.name for p in (REPO / "plugins").iterdir() if p.name.startswith("styletool_")}
    roots = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])
    assert plugins <= roots, "a built-in plugin is not checked by the contracts"


def test_packaging_finds_every_plugin_and_no_top_level_plugins_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    packages = set()
    for where in find["where"]:
        packages |= set(find_packages(where=str(REPO / where), include=find["include"]))
    assert "plugins" not in packages and not any(p.startswith("plugins.") for p in packages)
    assert "tests" not in packages
    for module in config["project"]["entry-points"]["styletool"].values():
        assert module.split(":")[0] in packages


def test_the_core_has_no_import_cycles():
    """No two core modules import each other, directly or through others (imports inside functions count)."""
    import grimp

    graph = grimp.build_graph("styletool", cache_dir=None)
    cycles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported != module and graph.chain_exists(importer=imported, imported=module)
    }
    assert sorted(cycles) == []


def test_the_public_module_is_what_docs_plugins_md_lists():
    """Plugins and scripts learn the public names from the table in docs/plugins.md: it lists each, and no other."""
    import re

    import styletool

    text = (REPO / "docs" / "plugins.md").read_text()
    table = text.split("## The public module", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| for ")]
    listed = {name for row in rows for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row.split("|")[2])}
    assert listed == set(styletool.__all__) - {"__version__"}
