"""Every example README.md and docs/*.md show runs, here, on ../shared data at tiny sizes, without an error.

How an example is mapped to something that runs in seconds (the workspace
of files named as in the docs, the tiny flags, the few substitutions, the
examples that cannot run here and why) is in tests/documented_examples.py.
Shell examples each start styletool in a process of its own and are marked
slow; Python examples run in this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import types

import pytest

from conftest import SHARED
from documented_examples import (
    SKIPPED,
    SUBSTITUTIONS,
    build_workspace,
    example_text,
    examples,
    outputs_of,
    skip_reason,
    styletool_command,
    tiny_args,
)

EXAMPLES = examples()
# A shell example gets this long: the slowest (training a step, adapting, gatys at 48 px) take seconds.
TIMEOUT = 300


def _param(example):
    return pytest.param(example, id=example.id, marks=[pytest.mark.slow] if example.language == "bash" else [])


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """The files the examples name (built once: a few seconds, training four tiny models)."""
    if not (SHARED / "images").is_dir():
        pytest.skip(f"test data not found: {SHARED} (the ../shared folder beside the checkout)")
    root = tmp_path_factory.mktemp("documented")
    (root / "shared").symlink_to(SHARED.resolve())  # ../shared beside the examples' working folder
    bin_folder = root / "bin"
    styletool_command(bin_folder)
    return build_workspace(root / "files", SHARED), bin_folder


@pytest.fixture
def working_folder(workspace, tmp_path):
    """A fresh copy of the workspace beside ../shared, for one example to change as it likes."""
    files, bin_folder = workspace
    folder = tmp_path / "work"
    shutil.copytree(files, folder)
    shared = tmp_path / "shared"
    shared.symlink_to(SHARED.resolve())
    return folder, bin_folder


@pytest.mark.parametrize("example", [_param(example) for example in EXAMPLES])
def test_the_documented_example_runs(example, working_folder, monkeypatch):
    reason = skip_reason(example)
    if reason is not None:
        pytest.skip(reason)
    folder, bin_folder = working_folder
    text = example_text(example)
    if example.language == "toml":
        tomllib.loads(text)  # a configuration snippet: it must at least be valid TOML
        return
    if example.language == "python":
        monkeypatch.chdir(folder)
        monkeypatch.setenv("HOME", str(folder))
        module = _module(example)
        monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look their module up
        exec(compile(text, example.id, "exec"), module.__dict__)
        return
    for name in outputs_of(example):  # the command writes it: it runs without the workspace's copy
        (folder / name).unlink(missing_ok=True)
    if "jq " in text and shutil.which("jq") is None:
        pytest.skip("needs jq, which is not installed here")
    env = {**os.environ, "HOME": str(folder), "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", text],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, f"{example.id} failed:\n{text}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


_MODULES: dict[str, types.ModuleType] = {}


def _module(example) -> types.ModuleType:
    """One module per document, as a reader runs its Python blocks one after the other (plugins.md's
    method class uses the options class of the block before)."""
    name = "documented_" + "".join(ch if ch.isalnum() else "_" for ch in example.document)
    return _MODULES.setdefault(example.document, types.ModuleType(name))


def test_every_skip_and_substitution_still_names_an_example():
    texts = [example.text for example in EXAMPLES]
    for key in [*SKIPPED, *SUBSTITUTIONS]:
        assert any(key in text for text in texts), f"{key!r} matches no documented example any more"
    for key, replacements in SUBSTITUTIONS.items():
        for old, _ in replacements:
            assert any(key in text and old in text for text in texts), f"{key!r}: {old!r} is not in its example"


def test_the_extraction_finds_commands_scripts_and_python():
    by_id = {example.id: example for example in EXAMPLES}
    assert any(e.document == "docs/api.md" and e.language == "python" for e in EXAMPLES)
    scripts = [e for e in EXAMPLES if e.text.startswith("#!")]
    assert scripts and all("\n" in e.text for e in scripts)  # a script stays whole
    joined = [e for e in EXAMPLES if "torchrun --nproc_per_node 4 -m styletool stylize" in e.text]
    assert joined and "--skip-existing" in joined[0].text  # a continued line is one command
    assert all(not e.text.lstrip().startswith("#") for e in EXAMPLES if e.language == "bash" and e not in scripts)
    assert len(by_id) == len(EXAMPLES)


def test_tiny_args_shrinks_long_runs_and_keeps_the_rest():
    assert tiny_args(["stylize", "p.jpg", "--style", "s.jpg", "-o", "o.png"]) == [
        "stylize", "p.jpg", "--style", "s.jpg", "-o", "o.png", "--iterations", "3", "--size", "48",
    ]  # fmt: skip
    train = tiny_args(["--seed", "1", "train", "--method", "cin", "--steps", "20000", "--batch-size", "8"])
    assert train[train.index("--steps") + 1] == "2" and train[train.index("--batch-size") + 1] == "8"
    assert tiny_args(["stylize", "p.jpg", "--method", "cin", "-o", "o.png"]) == [
        "stylize", "p.jpg", "--method", "cin", "-o", "o.png",
    ]  # fmt: skip
    assert tiny_args(["stylize", "--method", "cin", "--help"]) == ["stylize", "--method", "cin", "--help"]
