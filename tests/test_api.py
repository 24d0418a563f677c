"""styletool.stylize: the command's work from Python, with the same result."""

from __future__ import annotations

import pytest
import torch

import styletool
from styletool import UsageError, load_image, save_image, save_model

from networks import trained_like


@pytest.fixture
def files(tmp_path):
    photo = tmp_path / "photo.png"
    save_image(torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(3)), photo)
    model = save_model(
        tmp_path / "model.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]}
    )
    return photo, model


def test_stylize_from_python_paints_what_the_command_paints(cli, tmp_path, files):
    photo, model = files
    out = tmp_path / "out.png"
    assert cli("stylize", photo, "--method", "johnson", "--model", model, "-o", out).code == 0

    from_file = styletool.stylize(photo, method="johnson", model=model)
    from_tensor = styletool.stylize(load_image(photo).pixels, method="johnson", model=model)

    assert from_file.shape == (3, 40, 56)
    assert torch.equal(from_file, from_tensor)
    # The command's file holds the same picture, rounded to 8 bits.
    assert (load_image(out).pixels - from_file).abs().max() <= 0.5 / 255 + 1e-6


def test_options_are_checked_as_on_the_command_line(files):
    photo, model = files
    with pytest.raises(UsageError, match="unknown option 'tilee'; did you mean 'tile'"):
        styletool.stylize(photo, method="johnson", model=model, options={"tilee": 64})
    with pytest.raises(UsageError, match="needs at least one style painting"):
        styletool.stylize(photo, method="gatys")
    with pytest.raises(UsageError, match=r"photo must be a \[3, H, W\] RGB tensor"):
        styletool.stylize(torch.rand(1, 3, 8, 8), method="johnson", model=model)


def test_the_shipped_default_model_needs_no_model_argument_from_python(tmp_path):
    """The first example of docs/api.md: cin's shipped model, one of its paintings, by name."""
    photo = tmp_path / "photo.png"
    save_image(torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(5)), photo)
    picture = styletool.stylize(photo, method="cin", options={"style_name": "starry_night"})
    assert picture.shape == (3, 30, 40)
    shipped = styletool.stylize(photo, method="cin", model="paintings", options={"style_name": "starry_night"})
    assert torch.equal(picture, shipped)


def test_a_stylizer_prepared_once_paints_each_photo_as_a_single_call_does(tmp_path, files):
    photo, model = files
    other = tmp_path / "other.png"
    save_image(torch.rand(3, 24, 20, generator=torch.Generator().manual_seed(6)), other)
    stylizer = styletool.Stylizer.load("johnson", models=[model], options={"preserve_color": "luminance"})
    for path in (photo, other, photo):
        alone = styletool.stylize(path, method="johnson", model=model, options={"preserve_color": "luminance"})
        assert torch.equal(stylizer(path), alone)
    batch = torch.stack([load_image(photo).pixels, load_image(photo).pixels])
    assert stylizer.can_batch and torch.equal(stylizer.stylize(batch)[1].cpu(), stylizer(photo))
    with pytest.raises(UsageError, match="method 'gatys' cannot train; methods that can"):
        styletool.Runtime().registry.method_that_can("gatys", "train")
    with pytest.raises(UsageError, match="method 'johnson' has no adapt options"):
        styletool.Runtime().registry.method("johnson").make_options({"steps": 3}, kind="adapt")


def test_size_resizes_and_small_photos_are_not_enlarged(files):
    photo, model = files
    assert styletool.stylize(photo, method="johnson", model=model, size=28).shape == (3, 20, 28)
    small = torch.rand(3, 12, 16)
    assert styletool.stylize(small, method="johnson", model=model).shape == (3, 12, 16)


class _Collect(styletool.JobListener):
    def __init__(self):
        self.results = []
        self.stages = []

    def progress(self, label):
        self.stages.append(label)
        return super().progress(label)

    def finished(self, result):
        self.results.append(result)


def test_a_batch_job_from_python_reports_each_input_and_goes_on_past_a_bad_one(tmp_path, files):
    photo, model = files
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    second = tmp_path / "second.png"
    save_image(torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(4)), second)
    inputs = [photo, broken, second]
    outputs = styletool.output_paths(inputs, output_dir=tmp_path / "out", method="johnson", style_label="x")
    job = styletool.StylizeJob(inputs=inputs, outputs=outputs, method="johnson", models=[model], create_folders=True)
    listener = _Collect()

    tally = styletool.run_job(job, runtime=styletool.Runtime(device="cpu"), listener=listener)

    assert (tally.done, tally.skipped, tally.failed) == (2, 0, [str(broken)])
    assert [r.status for r in listener.results] == ["ok", "failed", "ok"]  # in input order
    assert str(broken) in str(listener.results[1].error) and not outputs[1].exists()
    # Each saved picture is what styletool.stylize paints for that photo, and the listener is handed it.
    done = listener.results[0]
    assert done.output == outputs[0] and done.picture.shape == (1, 3, 40, 56)
    assert (
        load_image(outputs[0]).pixels - styletool.stylize(photo, method="johnson", model=model)
    ).abs().max() < 1 / 255
    assert listener.stages[0] == "prepare"

    # Run again: every output exists, and the job refuses to overwrite them unless told to skip.
    again = styletool.run_job(job, runtime=styletool.Runtime(device="cpu"), listener=_Collect())
    assert len(again.failed) == 3
    skipping = styletool.StylizeJob(inputs=inputs, outputs=outputs, method="johnson", models=[model], existing="skip")
    assert styletool.run_job(skipping, runtime=styletool.Runtime(device="cpu")).skipped == 2
