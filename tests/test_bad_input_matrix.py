"""The bad-input matrix, end to end through the command line.

Every case must end with one line on stderr starting with ``error:``, a
non-zero exit code, no traceback, and no output file. Unusual but valid
images (CMYK, 16-bit, grayscale, palette with transparency, animated GIF,
1x1) must instead be stylized into a normal RGB result of the right size.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from styletool import TransformerNet, UsageError, load_image, save_model
from styletool.cli.method_options import PARSER_ERROR
from styletool.io.modelfile import FORMAT_VERSION

from conftest import make_module, parse_method_options


@pytest.fixture
def env(tmp_path):
    """A photo, a painting, a working johnson model, and a folder for outputs."""
    photo = tmp_path / "photo.png"
    PILImage.new("RGB", (40, 30), (200, 120, 40)).save(photo)
    painting = tmp_path / "painting.png"
    PILImage.effect_noise((32, 32), 80).convert("RGB").save(painting)
    torch.manual_seed(0)
    model = save_model(
        tmp_path / "model.safetensors", TransformerNet().state_dict(), {"method": "johnson", "styles": ["x"]}
    )
    cin = save_model(
        tmp_path / "cin.safetensors",
        TransformerNet(num_styles=2).state_dict(),
        {"method": "cin", "styles": ["a", "b"], "num_styles": 2},
    )
    return {
        "tmp": tmp_path,
        "photo": photo,
        "painting": painting,
        "model": model,
        "cin": cin,
        "out": tmp_path / "out.png",
    }


def _png_header_only(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", b"junk")
    )


def _bad_photo(kind, tmp):
    """Write a broken photo of the given kind and return its path."""
    if kind == "missing":
        return tmp / "missing.jpg"
    if kind == "empty":
        path = tmp / "empty.jpg"
        path.write_bytes(b"")
        return path
    if kind in ("truncated-jpeg", "truncated-png"):
        suffix = "jpg" if kind == "truncated-jpeg" else "png"
        whole = tmp / f"whole.{suffix}"
        PILImage.effect_noise((64, 48), 60).convert("RGB").save(whole)
        path = tmp / f"truncated.{suffix}"
        path.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
        return path
    if kind == "text-named-jpg":
        path = tmp / "notes.jpg"
        path.write_text("this is not an image\n")
        return path
    if kind == "decompression-bomb":
        path = tmp / "bomb.png"
        path.write_bytes(_png_header_only(20_000, 20_000))
        return path
    raise ValueError(kind)


def _assert_clean_failure(result, out, *, code=None, fragment=None):
    lines = result.err.strip().splitlines()
    assert result.code != 0 and (code is None or result.code == code), (result.code, result.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert not out.exists()
    if fragment is not None:
        assert fragment in lines[0], lines[0]


BROKEN_PHOTOS = {
    "missing": "no such file",
    "empty": "empty",
    "truncated-jpeg": "truncated",
    "truncated-png": "truncated",
    "text-named-jpg": "not an image",
    "decompression-bomb": "image too large",
}


@pytest.mark.parametrize("kind", list(BROKEN_PHOTOS))
@pytest.mark.parametrize("method", ["johnson", "gatys"])
def test_broken_photos(cli, env, kind, method):
    photo = _bad_photo(kind, env["tmp"])
    extra = ["--model", env["model"]] if method == "johnson" else ["--style", env["painting"], "--iterations", "1"]
    result = cli("stylize", photo, "--method", method, *extra, "-o", env["out"])
    _assert_clean_failure(result, env["out"], code=1, fragment=BROKEN_PHOTOS[kind])
    assert str(photo) in result.err


@pytest.mark.parametrize("kind", ["empty", "truncated-jpeg", "text-named-jpg"])
def test_broken_paintings(cli, env, kind):
    painting = _bad_photo(kind, env["tmp"])
    result = cli("stylize", env["photo"], "--style", painting, "--iterations", "1", "-o", env["out"])
    _assert_clean_failure(result, env["out"], fragment=str(painting))


def _odd_image(kind, tmp):
    path = tmp / f"{kind}.png"
    if kind == "cmyk-jpeg":
        path = tmp / "cmyk.jpg"
        PILImage.new("CMYK", (40, 30), (10, 200, 30, 5)).save(path)
    elif kind == "16-bit-png":
        PILImage.new("I;16", (40, 30), 40000).save(path)
    elif kind == "grayscale":
        PILImage.new("L", (40, 30), 90).save(path)
    elif kind == "palette-with-transparency":
        image = PILImage.new("P", (40, 30), 1)
        image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
        image.info["transparency"] = 0
        image.save(path, transparency=0)
    elif kind == "animated-gif":
        path = tmp / "anim.gif"
        frames = [PILImage.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0))]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    elif kind == "one-pixel":
        PILImage.new("RGB", (1, 1), (200, 30, 30)).save(path)
    return path


def test_a_one_pixel_photo_is_stylized_by_a_network_and_refused_by_optimization(cli, env):
    photo = _odd_image("one-pixel", env["tmp"])
    result = cli("stylize", photo, "--method", "johnson", "--model", env["model"], "-o", env["out"])
    assert result.code == 0, result.err
    assert load_image(env["out"]).size == (1, 1)
    env["out"].unlink()
    result = cli("stylize", photo, "--style", env["painting"], "--iterations", "1", "-o", env["out"])
    _assert_clean_failure(result, env["out"], code=1, fragment="too small")


@pytest.mark.parametrize("kind", ["cmyk-jpeg", "16-bit-png", "grayscale", "palette-with-transparency", "animated-gif"])
@pytest.mark.parametrize("method", ["johnson", "gatys"])
def test_unusual_but_valid_images_are_stylized(cli, env, kind, method):
    photo = _odd_image(kind, env["tmp"])
    extra = ["--model", env["model"]] if method == "johnson" else ["--style", env["painting"], "--iterations", "1"]
    result = cli("stylize", photo, "--method", method, *extra, "-o", env["out"])
    assert result.code == 0, result.err
    expected = PILImage.open(photo).size
    assert load_image(env["out"]).size == expected


@pytest.mark.parametrize("method", ["johnson", "gatys"])
def test_an_impossible_output_size_is_refused_up_front(cli, env, method):
    args = ["--method", "johnson", "--model", env["model"]] if method == "johnson" else ["--style", env["painting"]]
    result = cli("stylize", env["photo"], *args, "--size", "100000", "-o", env["out"])
    _assert_clean_failure(result, env["out"], fragment="size 100000 would make a 100000x75000 image")
    assert "photo.png" in result.err


def test_unwritable_output_folder(cli, env, monkeypatch):
    folder = env["tmp"] / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere: let the permission check see what a user would
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode, **kw: False if Path(path) == folder else real_access(path, mode, **kw)
        )
    try:
        result = cli("stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", folder / "o.png")
        _assert_clean_failure(result, folder / "o.png", fragment="not writable")
    finally:
        folder.chmod(0o700)


def test_output_into_a_missing_folder(cli, env):
    out = env["tmp"] / "nowhere" / "o.png"
    result = cli("stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", out)
    _assert_clean_failure(result, out, fragment="does not exist")


def test_output_path_equal_to_the_input(cli, env):
    before = env["photo"].read_bytes()
    result = cli(
        "stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", env["photo"], "--overwrite"
    )
    assert result.code != 0 and "overwrite the input" in result.err and len(result.err.strip().splitlines()) == 1
    assert env["photo"].read_bytes() == before


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--method", "gatsy"], "did you mean 'gatys'"),
        (["--backbone", "vgg91"], "did you mean 'vgg19'"),
        (["--style-loss", "gramm"], "did you mean 'gram'"),
        (["--iteratons", "5"], "--iterations"),
        (["--style-weight", "-1"], "--style-weight"),
        (["--iterations", "0"], "--iterations"),
        (["--style-blend", "0.5,0.3,0.2"], "--style-blend"),
    ],
    ids=["method", "backbone", "loss", "option", "negative-weight", "zero-iterations", "blend-count"],
)
def test_bad_names_and_values(cli, env, args, fragment):
    result = cli(
        "stylize", env["photo"], "--style", env["painting"], "--style", env["painting"], *args, "-o", env["out"]
    )
    _assert_clean_failure(result, env["out"], code=2, fragment=fragment)


def _bad_model(kind, env):
    tmp = env["tmp"]
    path = tmp / f"{kind}.safetensors"
    if kind == "truncated":
        data = env["model"].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random-bytes":
        path.write_bytes(os.urandom(4096))
    elif kind == "pickle":
        torch.save({"weights": torch.zeros(3)}, path)
    elif kind == "other-method":
        path = env["cin"]
    elif kind == "newer-format":
        from safetensors.torch import save_file

        save_file(
            {"w": torch.zeros(1)},
            str(path),
            metadata={"styletool": json.dumps({"format": FORMAT_VERSION + 1, "method": "johnson"})},
        )
    elif kind == "missing":
        pass
    return path


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("truncated", "model"),
        ("random-bytes", "model"),
        ("pickle", "model"),
        ("other-method", "'cin' model"),
        ("newer-format", "newer"),
        ("missing", "no such model file"),
    ],
)
def test_bad_model_files(cli, env, kind, fragment):
    model = _bad_model(kind, env)
    result = cli("stylize", env["photo"], "--method", "johnson", "--model", model, "-o", env["out"])
    _assert_clean_failure(result, env["out"], fragment=fragment)


def test_style_index_out_of_range(cli, env):
    result = cli(
        "stylize", env["photo"], "--method", "cin", "--model", env["cin"], "--style-index", "5", "-o", env["out"]
    )
    _assert_clean_failure(result, env["out"], fragment="style 5 does not exist")


def test_device_that_does_not_exist(cli, env):
    result = cli(
        "--device", "cuda:7", "stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", env["out"]
    )
    _assert_clean_failure(result, env["out"])
    result = cli(
        "--device", "tpu", "stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", env["out"]
    )
    _assert_clean_failure(result, env["out"])


def test_a_pickle_planted_as_a_model_never_runs(cli, env):
    marker = env["tmp"] / "pwned"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    planted = env["tmp"] / "planted.safetensors"
    torch.save({"x": Planted()}, planted)
    for command in (
        ["stylize", env["photo"], "--method", "johnson", "--model", planted, "-o", env["out"]],
        ["models", "info", planted],
        ["export", planted, "--format", "onnx", "-o", env["tmp"] / "x.onnx"],
    ):
        result = cli(*command)
        assert result.code != 0 and len(result.err.strip().splitlines()) == 1
    assert not marker.exists()
    # A planted training checkpoint is refused the same way.
    from styletool.training import TrainingError, load_checkpoint

    torch.save({"x": Planted()}, env["tmp"] / "planted.pt")
    with pytest.raises(TrainingError):
        load_checkpoint(env["tmp"] / "planted.pt")
    assert not marker.exists()


# -- property-based: option parsing never crashes unexpectedly ---------------------------
_WORDS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "--iterations",
                "--style-weight",
                "--optimizer",
                "--style-blend",
                "--scales",
                "--preserve-color",
                "--content-layers",
                "--init",
                "--lr",
                "--tv-weight",
                "--style-layer-weights",
                "--no-such",
            ]
        ),
        st.text(max_size=12),
        st.integers(-5, 5).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=_WORDS)
def test_option_parsing_raises_only_usage_errors(words):
    for name in ("gatys", "johnson", "cin", "metastyle"):
        for kind in ("stylize", "train"):
            try:
                parse_method_options(kind, name, words)
            except (UsageError, PARSER_ERROR):  # one line and exit code 2 from the command
                pass


def test_metastyle_model_mistakes(cli, env):
    result = cli("stylize", env["photo"], "--method", "metastyle", "--model", env["model"], "-o", env["out"])
    _assert_clean_failure(result, env["out"], fragment="'johnson' model, not a 'metastyle' model")
    torch.manual_seed(0)
    meta = save_model(
        env["tmp"] / "meta.safetensors",
        TransformerNet().state_dict(),
        {"method": "metastyle", "kind": "meta", "styles": ["a", "b"], "network": "transformer"},
    )
    result = cli("stylize", env["photo"], "--method", "metastyle", "--model", meta, "-o", env["out"])
    _assert_clean_failure(result, env["out"], code=2, fragment="give one --style PAINTING")
    result = cli(
        "stylize",
        env["photo"],
        "--method",
        "metastyle",
        "--model",
        meta,
        "--style",
        env["painting"],
        "--steps",
        "0",
        "-o",
        env["out"],
    )
    _assert_clean_failure(result, env["out"], code=2, fragment="--steps")


# -- non-finite and malformed results are never written (issue: "nothing silently wrong") -------------
@pytest.mark.parametrize(
    "flag, value",
    [
        ("--style-weight", "inf"),
        ("--style-weight", "-inf"),
        ("--content-weight", "nan"),
        ("--tv-weight", "1e400"),  # overflows to inf
        ("--style-blend", "1,inf"),
    ],
)
def test_non_finite_numbers_are_refused_when_the_options_are_parsed(cli, env, flag, value):
    result = cli(
        "stylize", env["photo"], "--style", env["painting"], "--style", env["painting"], flag, value, "-o", env["out"]
    )
    _assert_clean_failure(result, env["out"], code=2, fragment=f"option {flag}: '{value}' is not a valid number")
    assert "finite" in result.err


def test_non_finite_numbers_are_refused_from_python_and_for_training(cli, env):
    import styletool

    with pytest.raises(UsageError, match="--style-weight: inf is not a valid number"):
        styletool.stylize(env["photo"], style=[env["painting"]], options={"style_weight": float("inf")})
    out = env["tmp"] / "m.safetensors"
    result = cli(
        "train",
        "--method",
        "johnson",
        "--content-dir",
        env["tmp"],
        "--style",
        env["painting"],
        "-o",
        out,
        "--lr",
        "inf",
    )
    _assert_clean_failure(result, out, code=2, fragment="--lr must be a positive finite number")


def test_a_model_with_non_finite_weights_is_refused_at_load_naming_the_file(cli, env):
    state = TransformerNet().state_dict()
    state["head.1.weight"][0, 0, 0, 0] = float("nan")
    poisoned = save_model(env["tmp"] / "poisoned.safetensors", state, {"method": "johnson", "styles": ["x"]})
    result = cli("stylize", env["photo"], "--method", "johnson", "--model", poisoned, "-o", env["out"])
    _assert_clean_failure(result, env["out"], code=1, fragment=f"{poisoned}: the model's weights hold NaN")
    assert "'head.1.weight'" in result.err
    onnx = env["tmp"] / "p.onnx"
    result = cli("export", poisoned, "--format", "torchscript", "-o", onnx)
    _assert_clean_failure(result, onnx, code=1, fragment="NaN or infinite")


def _third_party(method_class, name="oddball"):
    """A plugin module registering ``method_class`` as the method ``name``, as an installed distribution would."""
    from styletool import MethodSpec, hookimpl

    @hookimpl
    def register_methods(register):
        register(MethodSpec(name=name, summary="test", load=method_class, capabilities={"stylize", "video"}))

    return make_module("third_party", register_methods=register_methods)


def _returning(make_result):
    from styletool import Method

    class Returning(Method):
        name = "oddball"
        needs_style = False

        def stylize(self, content, request, prepared, *, progress):
            return make_result(content)

    return Returning


BAD_RESULTS = {
    "nan": (lambda content: content * float("nan"), "NaN or infinite values"),
    "wrong-shape": (lambda content: content[..., :10, :], "shape [1, 3, 10, 40] for a 40x30 photo"),
    "no-batch": (lambda content: content[0], "shape [3, 30, 40]"),
    "uint8": (lambda content: (content * 255).to(torch.uint8), "returned uint8 pixels"),
    "0-255": (lambda content: content * 255, "not RGB in [0, 1]"),
    "list": (lambda content: [content], "returned list, not a picture tensor"),
}


@pytest.mark.parametrize("kind", list(BAD_RESULTS))
def test_a_result_that_is_not_a_picture_is_an_error_naming_the_photo_and_the_method(cli, env, fake_plugins, kind):
    make, fragment = BAD_RESULTS[kind]
    fake_plugins(thirdparty=_third_party(_returning(make)))
    result = cli("stylize", env["photo"], "--method", "oddball", "-o", env["out"])
    _assert_clean_failure(result, env["out"], code=1, fragment=fragment)
    assert result.err.startswith(f"error: {env['photo']}: method 'oddball' (plugin 'thirdparty') returned")


def test_a_diverging_plugin_loss_gives_an_error_not_a_black_picture(tmp_path, env):
    from styletool import FeatureLoss, JobListener, LossSpec, StylizeJob, run_job

    from tiny_backbone import tiny_runtime

    class Diverging(FeatureLoss):
        role = "style"

        def layer_target(self, features):
            return features.mean()

        def layer_loss(self, features, target):
            return features.mean() * float("inf")

    runtime = tiny_runtime()
    runtime.registry.add(LossSpec(name="diverging", summary="test", load=Diverging, role="style"), plugin="lossy")
    job = StylizeJob(
        inputs=[env["photo"]],
        outputs=[env["out"]],
        method="gatys",
        styles=[env["painting"]],
        options={"style_loss": "diverging", "backbone": "tiny-random", "iterations": 2, "scales": 1},
    )
    failures = []

    class Listener(JobListener):
        def finished(self, result):
            failures.append(result.error)

    tally = run_job(job, runtime=runtime, listener=Listener())
    assert tally.failed == [str(env["photo"])] and not env["out"].exists()
    assert "method 'gatys' returned a picture with NaN or infinite values" in str(failures[0])


def test_an_exception_inside_a_plugin_is_that_plugin_s_against_its_photo_and_the_batch_goes_on(
    cli, tmp_path, fake_plugins
):
    from styletool import Method

    class Flaky(Method):  # raises on dark photos (a bug in its own code), paints the others grey
        name = "oddball"
        needs_style = False

        def can_batch(self, request, prepared):
            return True  # all three photos arrive in one call: the run finds which one the method fails on

        def stylize(self, content, request, prepared, *, progress):
            if float(content.mean(dim=(1, 2, 3)).min()) < 0.2:
                raise ZeroDivisionError("division by zero in the plugin's own code")
            return torch.full_like(content, 0.5)

    fake_plugins(thirdparty=_third_party(Flaky))
    photos = []
    for name, colour in (("a", (200, 120, 40)), ("b", (5, 5, 5)), ("c", (90, 200, 90))):
        photos.append(tmp_path / f"{name}.png")
        PILImage.new("RGB", (40, 30), colour).save(photos[-1])
    out = tmp_path / "out"
    result = cli("stylize", *photos, "--method", "oddball", "--output-dir", out, "--json")
    assert result.code == 1 and "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {photos[1]}: method 'oddball' (plugin 'thirdparty') failed: "
        "ZeroDivisionError: division by zero in the plugin's own code"
    ]
    assert "2 done, 0 skipped, 1 failed" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["a_none_oddball.png", "c_none_oddball.png"]
    assert [json.loads(line)["status"] for line in result.out.splitlines()] == ["ok", "failed", "ok"]
    debug = cli("--debug", "stylize", photos[1], "--method", "oddball", "-o", tmp_path / "b_out.png")
    assert debug.code == 1 and "ZeroDivisionError" in debug.err and "Traceback" in debug.err


def test_an_exception_while_a_plugin_prepares_is_one_line_naming_the_plugin(cli, env, fake_plugins):
    from styletool import Method

    class Unprepared(Method):
        name = "oddball"
        needs_style = False

        def prepare(self, request, *, progress):
            return {}["missing key"]

        def stylize(self, content, request, prepared, *, progress):
            return content

    fake_plugins(thirdparty=_third_party(Unprepared))
    result = cli("stylize", env["photo"], "--method", "oddball", "-o", env["out"])
    _assert_clean_failure(
        result, env["out"], code=1, fragment="method 'oddball' (plugin 'thirdparty') failed while preparing: KeyError"
    )


# -- a model is never replaced, nor a run restarted, without --overwrite ----------------------------------
def test_train_adapt_and_export_keep_an_existing_model_file_unless_told(cli, env):
    from styletool import transformer_metadata

    exportable = save_model(
        env["tmp"] / "exportable.safetensors",
        TransformerNet(architecture="light").state_dict(),
        {"method": "johnson", "styles": ["x"], **transformer_metadata(architecture="light")},
    )
    painting, photo = env["painting"], env["photo"]
    commands = {
        "model.safetensors": ["train", "--method", "johnson", "--content-dir", env["tmp"], "--style", painting],
        "adapted.safetensors": ["adapt", "--method", "metastyle", "--style", painting, "--content", photo],
        "exported.pt": ["export", exportable, "--format", "torchscript"],
    }
    for name, command in commands.items():
        existing = env["tmp"] / f"hours_of_work_{name}"
        existing.write_bytes(b"precious")
        result = cli(*command, "-o", existing)
        what = "already exists" if command[0] == "export" else "model file already exists"
        assert result.code == 1 and result.err.strip().splitlines() == [
            f"error: {existing}: {what}; pass --overwrite to replace it"
        ], result.err
        assert existing.read_bytes() == b"precious"
    exported = cli(*commands["exported.pt"], "-o", existing, "--overwrite")
    assert exported.code == 0 and existing.read_bytes() != b"precious", exported.err


def test_train_without_resume_over_an_earlier_run_s_checkpoint_says_how_to_resume(cli, env):
    out = env["tmp"] / "starry.safetensors"
    checkpoints = env["tmp"] / "starry.checkpoints"
    checkpoints.mkdir()
    (checkpoints / "last.pt").write_bytes(b"an earlier run")
    result = cli("train", "--method", "johnson", "--content-dir", env["tmp"], "--style", env["painting"], "-o", out)
    _assert_clean_failure(
        result, out, code=1, fragment=f"continue it with --resume {checkpoints / 'last.pt'}, or pass --overwrite"
    )
    assert (checkpoints / "last.pt").read_bytes() == b"an earlier run"


# -- output names never collide, and -o means what it says -----------------------------------------------
def test_cin_outputs_are_named_by_their_style_so_two_styles_share_a_folder(cli, env):
    out = env["tmp"] / "out"
    for style in ("a", "b"):
        result = cli(
            "stylize", env["photo"], "--method", "cin", "--model", env["cin"], "--style-name", style,
            "--output-dir", out, "--skip-existing", "--json",
        )  # fmt: skip
        assert result.code == 0 and json.loads(result.out)["status"] == "ok", result.err
    mix = cli(
        "stylize", env["photo"], "--method", "cin", "--model", env["cin"], "--style-mix", "a=1,b=3",
        "--output-dir", out,
    )  # fmt: skip
    assert mix.code == 0, mix.err
    assert sorted(p.name for p in out.iterdir()) == [
        "photo_cin-a=1+b=3_cin.png",
        "photo_cin-a_cin.png",
        "photo_cin-b_cin.png",
    ]


def test_what_the_options_declare_and_a_strength_other_than_1_go_into_the_name(tmp_path):
    from dataclasses import dataclass

    from styletool import FeedForwardOptions, output_paths
    from styletool_cin.options import CinOptions

    @dataclass
    class Options:  # a third-party method's options: its own label, no strength rule
        strength: float = 1.0
        blend: str = ""

        def output_label(self):
            return self.blend

    def name(options):
        paths = output_paths(
            [tmp_path / "p.jpg"], output_dir=tmp_path, method="m", style_label="model", options=options
        )
        return paths[0].name

    assert name(Options()) == "p_model_m.png"
    assert name(Options(strength=0.5, blend="x")) == "p_model-x_m.png"
    assert name(FeedForwardOptions(strength=0.5)) == "p_model-s0.5_m.png"
    assert name(CinOptions(strength=0.25, style_mix="x=1,y=1")) == "p_model-x=1+y=1-s0.25_m.png"
    assert name(object()) == "p_model_m.png"  # options that declare no label add nothing


def test_recursive_inputs_with_the_same_names_are_kept_apart_by_the_folder_field(cli, env):
    photos = env["tmp"] / "photos"
    for folder in ("2023", "2024"):
        (photos / folder).mkdir(parents=True)
        PILImage.new("RGB", (40, 30), (200, 120, 40)).save(photos / folder / "beach.png")
    out = env["tmp"] / "out"
    model = ["--method", "johnson", "--model", env["model"]]
    refused = cli("stylize", photos, "-r", *model, "--output-dir", out)
    _assert_clean_failure(refused, out, code=2, fragment="add {folder} to --name")
    advice = refused.err.split("e.g. --name ")[1].strip().strip("'")
    assert advice == "{folder}/{stem}_{style}_{method}.{ext}"
    result = cli("stylize", photos, "-r", *model, "--output-dir", out, "--name", advice)
    assert result.code == 0, result.err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "2023/beach_model_johnson.png",
        "2024/beach_model_johnson.png",
    ]


@pytest.mark.parametrize(
    "output, fmt, fragment",
    [
        ("out.png", "jpg", "--format jpg does not match the file name's .png; name the file out.jpg or drop --format"),
        ("out.jpeg", "webp", "does not match the file name's .jpeg"),
        ("folder", None, "is a directory; -o names a file: to write into a folder use --output-dir"),
        ("newfolder", None, "has no file extension to choose the image format from"),
    ],
)
def test_o_names_a_file_in_the_format_asked_for(cli, env, output, fmt, fragment):
    (env["tmp"] / "folder").mkdir()
    target = env["tmp"] / output
    result = cli(
        "stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", target,
        *(["--format", fmt] if fmt else []),
    )  # fmt: skip
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and fragment in result.err, result.err
    assert "--output-dir" in result.err or fmt is not None
    assert not target.exists() or target.is_dir() and not any(target.iterdir())


def test_a_matching_format_and_suffix_are_fine(cli, env):
    result = cli(
        "stylize", env["photo"], "--method", "johnson", "--model", env["model"], "-o", env["tmp"] / "o.jpeg",
        "--format", "jpg",
    )  # fmt: skip
    assert result.code == 0 and PILImage.open(env["tmp"] / "o.jpeg").format == "JPEG"


# -- errors blame the right file --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(64, 1), (1, 1), (15, 200)])
def test_a_painting_too_small_to_carry_a_style_is_refused_naming_the_painting(cli, env, size):
    painting = env["tmp"] / "tiny_painting.png"
    PILImage.new("RGB", size, (30, 60, 200)).save(painting)
    width, height = size
    fragment = f"{painting}: painting of {width}x{height} pixels is too small to carry a style"
    for method in (["--iterations", "1"], ["--method", "metastyle", "--steps", "1"]):
        result = cli("stylize", env["photo"], "--style", painting, *method, "-o", env["out"])
        _assert_clean_failure(result, env["out"], code=1, fragment=fragment)
    out = env["tmp"] / "m.safetensors"
    result = cli("train", "--method", "johnson", "--content-dir", env["tmp"], "--style", painting, "-o", out)
    _assert_clean_failure(result, out, code=1, fragment=fragment)


def test_a_long_thin_painting_is_used_at_every_scale(cli, env):
    painting = env["tmp"] / "scroll.png"
    PILImage.effect_noise((256, 16), 80).convert("RGB").save(painting)
    # At the 40 px output the painting would be 40x2.5 px: too thin for the deepest style layer, so it is kept deeper.
    result = cli("stylize", env["photo"], "--style", painting, "--iterations", "1", "-o", env["out"])
    assert result.code == 0, result.err
    assert load_image(env["out"]).size == (40, 30)


def test_a_seed_too_large_for_the_generators_is_a_usage_error(cli, env):
    result = cli(
        "--seed", "99999999999999999999999", "stylize", env["photo"], "--method", "johnson",
        "--model", env["model"], "-o", env["out"],
    )  # fmt: skip
    _assert_clean_failure(result, env["out"], code=2, fragment="--seed")


def test_an_unexpected_failure_reading_one_photo_names_it_and_the_batch_goes_on(cli, env, monkeypatch):
    from styletool.pipeline import stylizer as stylizer_module

    real = stylizer_module.load_photo
    cursed = env["tmp"] / "cursed.png"
    PILImage.new("RGB", (40, 30)).save(cursed)

    def load_photo(path, **kwargs):
        if Path(path) == cursed:
            raise OverflowError("Python int too large to convert to C long")
        return real(path, **kwargs)

    monkeypatch.setattr(stylizer_module, "load_photo", load_photo)
    out = env["tmp"] / "out"
    result = cli("stylize", cursed, env["photo"], "--method", "johnson", "--model", env["model"], "--output-dir", out)
    assert result.code == 1 and "Traceback" not in result.err
    assert f"error: {cursed}: cannot read: OverflowError: Python int too large" in result.err
    assert "1 done, 0 skipped, 1 failed" in result.err and (out / "photo_model_johnson.png").exists()


def test_files_styletool_cannot_read_in_a_folder_are_counted_as_skipped_with_the_reason(cli, env):
    photos = env["tmp"] / "phone"
    photos.mkdir()
    PILImage.new("RGB", (40, 30), (200, 120, 40)).save(photos / "a.jpg")
    (photos / "b.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (photos / "c.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (photos / ".DS_Store").write_bytes(b"hidden files stay out of it")
    out = env["tmp"] / "out"
    model = ["--method", "johnson", "--model", env["model"]]
    result = cli("stylize", photos, *model, "--output-dir", out, "--json")
    assert result.code == 0, result.err
    assert result.err.strip().splitlines() == [
        "1 done, 2 skipped, 0 failed; skipped 2 files styletool cannot read (.heic)"
    ]
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [(Path(r["input"]).name, r["status"]) for r in records] == [
        ("b.heic", "skipped"),
        ("c.HEIC", "skipped"),
        ("a.jpg", "ok"),
    ]
    assert ".heic is not a format styletool reads (it reads .bmp, .gif, .jpeg" in records[0]["error"]
    (photos / "a.jpg").unlink()
    only_heic = cli("stylize", photos, *model, "--output-dir", out)
    _assert_clean_failure(
        only_heic, out / "nothing", code=2, fragment="no images in the folder itself; 2 files styletool cannot read"
    )
    assert "--recursive" not in only_heic.err  # no subfolder holds images: the old hint would be false
    (photos / "2024").mkdir()
    PILImage.new("RGB", (40, 30)).save(photos / "2024" / "d.png")
    below = cli("stylize", photos, *model, "--output-dir", out)
    _assert_clean_failure(below, out / "nothing", code=2, fragment="its subfolders hold images: add --recursive")


def test_a_misspelt_style_name_gets_a_suggestion(cli, env):
    result = cli("stylize", env["photo"], "--method", "cin", "--style-name", "stary_night", "-o", env["out"])
    _assert_clean_failure(
        result, env["out"], code=2, fragment="no style named 'stary_night'; did you mean 'starry_night'?"
    )
    assert "the model has 0=starry_night" in result.err


def test_training_settings_and_blends_out_of_any_range_are_usage_errors_not_crashes(cli, env):
    out = env["tmp"] / "m.safetensors"
    train = ["train", "--method", "johnson", "--content-dir", env["tmp"], "--style", env["painting"], "-o", out]
    result = cli(*train, "--image-size", "99999999999999999999")
    _assert_clean_failure(result, out, code=2, fragment="--image-size must be at most 8192")
    result = cli(
        "stylize", env["photo"], "--method", "cin", "--model", env["cin"], "--style-mix", "a=1e308,b=1e308",
        "-o", env["out"],
    )  # fmt: skip
    _assert_clean_failure(result, env["out"], code=2, fragment="option --style-mix: weights too large to add up")


def test_an_exception_inside_a_plugin_s_training_is_that_plugin_s(cli, env, fake_plugins):
    from styletool import Method, MethodSpec, hookimpl

    class Untrainable(Method):
        name = "oddball"

        def train(self, request, *, progress):
            raise ValueError("shapes do not match in the plugin's own loss")

    @hookimpl
    def register_methods(register):
        register(MethodSpec(name="oddball", summary="test", load=Untrainable, capabilities={"stylize", "train"}))

    fake_plugins(thirdparty=make_module("third_party", register_methods=register_methods))
    out = env["tmp"] / "m.safetensors"
    result = cli("train", "--method", "oddball", "--content-dir", env["tmp"], "--style", env["painting"], "-o", out)
    _assert_clean_failure(
        result,
        out,
        code=1,
        fragment="method 'oddball' (plugin 'thirdparty') failed while training: ValueError: shapes do not match",
    )
