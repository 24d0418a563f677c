"""Method options: typed parsing from --flags as the commands parse them, validation, suggestions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from styletool import MethodSpec, UsageError, hookimpl, option
from styletool.cli.method_options import PARSER_ERROR
from styletool.framework.options import make_options, option_infos

from conftest import make_module, parse_method_options


@dataclass
class Opts:
    iterations: int = option(100, help="steps", min=1)
    lr: float | None = option(None, help="rate", min=0, min_exclusive=True)
    optimizer: str = option("lbfgs", help="which", choices=("lbfgs", "adam"))
    layers: list[str] = option(["a", "b"], help="layers")
    blend: list[float] = option([], help="weights", min=0)
    fast: bool = option(False, help="go fast")


@pytest.fixture
def demo(fake_plugins):
    """A plugin whose method 'demo' has the options above; parse(words) parses them as `stylize` does."""

    @hookimpl
    def register_methods(register):
        register(MethodSpec(name="demo", summary="test", load="builtins:object", options=Opts))

    fake_plugins(demo=make_module("demo_plugin", register_methods=register_methods))
    return lambda words: parse_method_options("stylize", "demo", words)


def test_defaults_and_types(demo):
    assert demo([]) == Opts()
    opts = demo(["--iterations", "7", "--lr=0.5", "--layers", "x,y,z", "--blend", "0.7", "--blend", "0.3", "--fast"])
    assert (opts.iterations, opts.lr, opts.layers, opts.blend, opts.fast) == (7, 0.5, ["x", "y", "z"], [0.7, 0.3], True)
    assert demo(["--blend", "0.7,0.3"]).blend == [0.7, 0.3]


def test_negated_flag_and_a_flag_given_a_value(demo):
    assert demo(["--fast", "--no-fast"]).fast is False
    with pytest.raises(PARSER_ERROR, match="--fast"):
        demo(["--fast=yes"])


def test_list_defaults_are_not_shared():
    a, b = Opts(), Opts()
    a.layers.append("c")
    assert b.layers == ["a", "b"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--iterations", "ten"], "not a valid integer"),
        (["--iterations", "0"], "must be at least 1"),
        (["--lr", "0"], "must be greater than 0"),
        (["--lr", "nan"], "not a valid number"),
        (["--optimizer", "adma"], "did you mean 'adam'"),
        (["--blend", "0.5,-1"], "out of range"),
    ],
)
def test_bad_values_are_usage_errors(demo, words, expected):
    with pytest.raises(UsageError, match=expected):
        demo(words)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        # click words the suggestion "Did you mean ...?" or "(Possible options: ...)" by version.
        (["--iteration", "5"], ["No such option", "--iteration", "--iterations"]),
        (["--iterations"], ["--iterations", "requires an argument"]),
        (["stray"], ["unexpected extra argument", "stray"]),
    ],
)
def test_the_parser_refuses_unknown_flags_missing_values_and_strays(demo, words, expected):
    with pytest.raises(PARSER_ERROR) as refused:
        demo(words)
    message = refused.value.format_message()  # what the command prints
    assert all(fragment in message for fragment in expected), message


def test_make_options_validates_python_values():
    assert make_options(Opts, {"iterations": 3}).iterations == 3
    with pytest.raises(UsageError, match="at least 1"):
        make_options(Opts, {"iterations": 0})
    with pytest.raises(UsageError, match="did you mean 'iterations'"):
        make_options(Opts, {"iteratons": 3})


def test_option_infos_describe_for_help():
    infos = {i.flag: i for i in option_infos(Opts)}
    assert infos["--iterations"].type_name == "integer"
    assert infos["--iterations"].describe_range() == ">= 1"
    assert infos["--optimizer"].describe_range() == "lbfgs|adam"
    assert infos["--layers"].describe_default() == "a,b"
    assert infos["--lr"].describe_default() == "none"
    assert infos["--fast"].type_name == "flag"


def test_blend_weights_are_checked_and_normalized_the_same_way_for_every_method():
    from styletool import blend_weights

    assert blend_weights([3, 1], flag="--mix") == [0.75, 0.25]
    with pytest.raises(UsageError, match=r"option --mix: 3 weights for 2 --model files; give one weight each"):
        blend_weights([1, 1, 1], flag="--mix", count=2, per="--model files")
    for bad in ([-1, 2], [float("inf"), 1], [float("nan"), 1]):
        with pytest.raises(UsageError, match="must be finite and >= 0"):
            blend_weights(bad, flag="--style-mix")
    with pytest.raises(UsageError, match="at least one weight must be positive"):
        blend_weights([0, 0], flag="--style-blend")
