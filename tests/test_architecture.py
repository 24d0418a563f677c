"""Layering rules: the core never imports plugins, and packaging ships no top-level 'plugins'."""

from __future__ import annotations

import ast
import tomllib

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


def test_plugins_import_only_the_public_core_api_and_no_other_plugin():
    offenders = []
    for package in (REPO / "plugins").iterdir():
        for path in package.rglob("*.py"):
            for module in _imported_modules(path):
                top = module.split(".")[0]
                if top.startswith("styletool_") and top != package.name:
                    offenders.append(f"{path.relative_to(REPO)} imports another plugin: {module}")
    assert offenders == []


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
