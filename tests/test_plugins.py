"""Plugin loading: good, broken, typo'd, raising, conflicting and blocked plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

from PIL import Image as PILImage

from styletool import LossSpec, MethodSpec, hookimpl
from styletool.framework.plugins import get_plugin_manager, reset_plugin_manager

from conftest import make_module


def method_plugin(*names):
    @hookimpl
    def register_methods(register):
        for name in names:
            register(MethodSpec(name=name, summary=f"{name} method", load="math:sqrt"))

    return make_module("m", register_methods=register_methods)


def loss_plugin(name):
    @hookimpl
    def register_losses(register):
        register(LossSpec(name=name, summary="a loss", load="math:sqrt", role="style"))

    return make_module("l", register_losses=register_losses)


def test_good_plugin_registers_and_is_attributed(fake_plugins):
    fake_plugins(alpha=method_plugin("one", "two"), beta=loss_plugin("fancy"))
    manager = get_plugin_manager()
    assert manager.records["alpha"].status == "ok"
    assert manager.records["alpha"].distribution == "styletool-alpha"
    assert manager.records["alpha"].version == "1.2.3"
    assert manager.records["alpha"].registered == {"method": ["one", "two"]}
    assert manager.registry.method("two").plugin == "alpha"
    assert manager.registry.loss("fancy").plugin == "beta"


def test_import_error_is_isolated_and_reported_once(fake_plugins, cli):
    fake_plugins(broken=ModuleNotFoundError("No module named 'missingdep'"), alpha=method_plugin("one"))
    result = cli("plugins", "--json")
    assert result.code == 0
    records = {r["name"]: r for r in map(json.loads, result.out.splitlines())}
    assert records["broken"]["status"] == "failed"
    assert "missingdep" in records["broken"]["error"]
    assert records["alpha"]["status"] == "ok"
    warnings = [line for line in result.err.splitlines() if "broken" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: plugin 'broken'")


def test_typo_in_hook_name_fails_that_plugin_with_a_suggestion(fake_plugins):
    @hookimpl
    def register_method(register):  # missing the final "s"
        register(MethodSpec(name="x", summary="x", load="math:sqrt"))

    fake_plugins(typo=make_module("t", register_method=register_method), alpha=method_plugin("one"))
    manager = get_plugin_manager()
    record = manager.records["typo"]
    assert record.status == "failed"
    assert "register_method" in record.error and "did you mean 'register_methods'" in record.error
    assert "one" in manager.registry.methods


def test_raising_hook_drops_that_plugin_only(fake_plugins):
    @hookimpl
    def register_methods(register):
        register(MethodSpec(name="half", summary="registered before the crash", load="math:sqrt"))
        raise RuntimeError("boom")

    fake_plugins(crashy=make_module("c", register_methods=register_methods), alpha=method_plugin("one"))
    manager = get_plugin_manager()
    assert manager.records["crashy"].status == "failed"
    assert "RuntimeError: boom" in manager.records["crashy"].error
    assert "half" not in manager.registry.methods
    assert manager.records["alpha"].status == "ok"


def test_wrong_spec_type_fails_the_plugin(fake_plugins):
    @hookimpl
    def register_methods(register):
        register(LossSpec(name="oops", summary="wrong kind", load="math:sqrt"))

    fake_plugins(wrong=make_module("w", register_methods=register_methods))
    record = get_plugin_manager().records["wrong"]
    assert record.status == "failed" and "MethodSpec" in record.error


def test_a_name_two_third_party_plugins_register_waits_for_the_user_s_choice(fake_plugins, capsys, monkeypatch, cli):
    fake_plugins(alpha=method_plugin("same", "mine"), beta=method_plugin("same"))
    manager = get_plugin_manager()
    assert manager.registry.method("mine").plugin == "alpha"  # the rest of each plugin works
    assert [(c.name, c.kept) for c in manager.registry.conflicts] == [("same", None), ("same", None)]
    warning = capsys.readouterr().err
    assert "conflict: method 'same' is registered by plugins 'alpha' and 'beta'" in warning
    assert "STYLETOOL_PREFER=same=alpha or STYLETOOL_PREFER=same=beta" in warning
    assert manager.records["alpha"].registered == {"method": ["mine"]} and manager.records["beta"].registered == {}
    result = cli("stylize", "photo.jpg", "--method", "same", "-o", "out.png")
    assert result.code == 2 and result.err.strip().splitlines()[-1] == (
        "error: method 'same' is registered by plugins 'alpha' and 'beta'; "
        "choose one: set STYLETOOL_PREFER=same=alpha or STYLETOOL_PREFER=same=beta"
    )
    monkeypatch.setenv("STYLETOOL_PREFER", "same=beta")
    reset_plugin_manager()
    assert get_plugin_manager().registry.method("same").plugin == "beta"
    assert "conflict" not in capsys.readouterr().err  # the user chose: nothing to warn about


def test_built_in_plugins_keep_their_names_whatever_the_third_party_plugin_is_called(monkeypatch, capsys):
    from importlib import metadata

    from conftest import FakeEntryPoint

    built_in = list(metadata.entry_points(group="styletool"))
    # "broken" sorts before "gatys": in load order it would come first.
    monkeypatch.setitem(sys.modules, "fake_styletool_broken", method_plugin("gatys"))
    broken = FakeEntryPoint(
        "broken", "fake_styletool_broken", dist=SimpleNamespace(name="styletool-broken", version="1")
    )
    monkeypatch.setattr(metadata, "entry_points", lambda group=None, **_: [*built_in, broken])
    reset_plugin_manager()
    assert get_plugin_manager().registry.method("gatys").plugin == "gatys"
    warning = capsys.readouterr().err
    assert (
        "conflict: plugin 'broken' also registers method 'gatys', which built-in plugin 'gatys' provides and keeps; "
        "to use another, set STYLETOOL_PREFER=gatys=broken"
    ) in warning
    monkeypatch.setenv("STYLETOOL_PREFER", "gatys=broken")
    reset_plugin_manager()
    assert get_plugin_manager().registry.method("gatys").plugin == "broken"
    assert "conflict" not in capsys.readouterr().err


def test_disabled_plugins_are_blocked(fake_plugins, monkeypatch, cli):
    monkeypatch.setenv("STYLETOOL_DISABLE_PLUGINS", "beta, gamma")
    fake_plugins(alpha=method_plugin("one"), beta=method_plugin("two"))
    result = cli("plugins", "--json")
    records = {r["name"]: r for r in map(json.loads, result.out.splitlines())}
    assert records["beta"]["status"] == "blocked"
    assert records["alpha"]["status"] == "ok"
    assert "two" not in get_plugin_manager().registry.methods


def test_plugins_table_shows_status_and_registrations(fake_plugins, cli):
    fake_plugins(alpha=method_plugin("one"), broken=ImportError("bad"))
    result = cli("plugins")
    assert result.code == 0
    assert "alpha" in result.out and "styletool-alpha" in result.out and "1.2.3" in result.out
    assert "methods: one" in result.out
    assert "failed" in result.out


def test_builtin_plugins_are_loaded_from_entry_points(cli):
    result = cli("plugins", "--json")
    records = {r["name"]: r for r in map(json.loads, result.out.splitlines())}
    for name in ("backbones", "losses", "gatys"):
        assert records[name]["status"] == "ok", records[name]
        assert records[name]["distribution"] == "styletool"
    assert records["gatys"]["registered"] == {"method": ["gatys"]}
    assert "vgg19" in records["backbones"]["registered"]["backbone"]


def test_plugin_commands_hook_adds_a_command(fake_plugins, cli):
    @hookimpl
    def register_commands(app):
        @app.command("hello")
        def hello() -> None:
            """Say hello."""
            print("hello from a plugin")

    fake_plugins(greeter=make_module("g", register_commands=register_commands))
    result = cli("hello")
    assert result.code == 0 and "hello from a plugin" in result.out


def test_plugins_install_runs_pip_in_this_interpreter(monkeypatch, cli):
    import subprocess
    import sys

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    result = cli("plugins", "install", "styletool-foo", "--upgrade")
    assert result.code == 0
    assert calls == [[sys.executable, "-m", "pip", "install", "--upgrade", "styletool-foo"]]


def test_the_core_stands_without_the_losses_plugin_and_methods_say_what_is_missing(tmp_path):
    # The core names no loss itself: without the plugin that provides them, listing works and a
    # method that needs a loss stops with one line naming it.
    photo = tmp_path / "photo.png"
    PILImage.new("RGB", (24, 16), (200, 120, 40)).save(photo)
    env = {**os.environ, "STYLETOOL_DISABLE_PLUGINS": "losses"}

    def styletool(*args):
        return subprocess.run(
            [sys.executable, "-m", "styletool", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
        )

    listing = styletool("methods")
    assert listing.returncode == 0 and "johnson" in listing.stdout
    gatys = styletool("stylize", photo, "--style", photo, "--size", 16, "-o", tmp_path / "out.png")
    assert gatys.returncode == 2 and gatys.stderr.strip() == "error: unknown loss 'gram' (no losses are installed)"
    train = styletool(
        "train", "--method", "johnson", "--content-dir", tmp_path, "--style", photo, "-o", tmp_path / "m.safetensors"
    )
    assert train.returncode == 2 and "unknown loss 'content'" in train.stderr and "Traceback" not in train.stderr
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "m.safetensors").exists()
