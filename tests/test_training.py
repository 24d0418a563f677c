"""The shared training engine, through the johnson method, on tiny images with a random loss network."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from styletool import PerceptualLoss, StylizeRequest, TrainRequest, TrainSettings, TransformerNet, load_model
from styletool.framework.options import make_options
from styletool.framework.specs import resolve
from styletool.training import PhotoFolder, StepBatches, TrainingError, load_checkpoint

from conftest import shared_file
from tiny_backbone import tiny_runtime

TINY_LOSS = {
    "backbone": "tiny-random",
    "content_layers": ["relu3_1"],
    "style_layers": ["relu1_1", "relu2_1", "relu3_1"],
    "style_size": 32,
    "neutral_steps": 2,
}


@pytest.fixture
def photos(tmp_path):
    """A small training folder: shared photos in nested folders, plus broken files."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for i, name in enumerate(["tubingen", "golden_gate", "chicago", "astronaut"]):
        target = folder / ("nested" if i % 2 else "") / f"{name}.jpg"
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), target)
    (folder / "notes.txt").write_text("not an image")
    data = (folder / "tubingen.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 20])  # header parses, pixels do not
    return folder


def train_request(tmp_path, photos, *, steps=4, output="model.safetensors", resume=None, seed=0, workers=0, **loss):
    runtime = tiny_runtime()
    method = runtime.method("johnson")
    spec = runtime.registry.method("johnson")
    options = make_options(resolve(spec.train_options), {**TINY_LOSS, **loss})
    painting = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3))
    settings = TrainSettings(
        steps=steps, batch_size=2, image_size=32, workers=workers, checkpoint_every=0, seed=seed, log_every=1
    )
    request = TrainRequest(
        options=options,
        settings=settings,
        content_dir=photos,
        output=tmp_path / output,
        styles=[painting],
        style_names=["noise"],
        resume=resume,
    )
    return runtime, method, request


def test_unreadable_files_are_skipped_and_counted(photos):
    data = PhotoFolder(photos, image_size=32)
    assert len(data) == 5  # 4 photos + the truncated JPEG, whose header still parses
    assert [p.name for p in data.unreadable] == ["notes.txt"]
    index = [p.name for p in data.files].index("truncated.jpg")
    assert data[(index, 0)][1] is None
    assert data[(0, 0)][1].shape == (3, 32, 32)


def test_batches_depend_only_on_seed_and_step():
    a = StepBatches(10, batch_size=3, steps=8, seed=1)
    b = StepBatches(10, batch_size=3, steps=8, seed=1, start=5)
    assert list(a)[5:] == list(b)
    ranks = [StepBatches(10, batch_size=2, steps=4, seed=1, rank=r, world=2) for r in range(2)]
    for step in range(4):
        seen = [key for r in ranks for key in r.batch(step)]
        assert len({draw for _, draw in seen}) == 4  # the two ranks never share a sample
    first_epoch = [
        index for step in range(5) for index, _ in StepBatches(10, batch_size=2, steps=5, seed=1).batch(step)
    ]
    assert sorted(first_epoch) == list(range(10))  # an epoch visits every image once


def test_training_writes_model_checkpoint_and_metrics(tmp_path, photos):
    runtime, method, request = train_request(tmp_path, photos, steps=6)
    result = method.train(request)
    assert result.steps == 6 and result.output == tmp_path / "model.safetensors"
    assert any(name.endswith("truncated.jpg") for name in result.unreadable)
    assert any(name.endswith("notes.txt") for name in result.unreadable)
    model = load_model(result.output, method="johnson")
    assert model.styles == ["noise"] and model.metadata["training"]["steps_done"] == 6
    records = [json.loads(line) for line in (tmp_path / "model.checkpoints" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    # The neutral start (photo given back), then the painting with the neutral row alongside.
    assert {"neutral", "lr", "images_per_second"} <= set(records[0]) and "style" not in records[0]
    assert {"content", "style", "neutral"} <= set(records[-1])
    assert load_checkpoint(result.checkpoint)["step"] == 6


def test_training_lowers_the_loss(tmp_path, photos):
    runtime, method, request = train_request(tmp_path, photos, steps=30)
    result = method.train(request)

    # Judge on a fixed batch, the initial (seeded) network against the trained one.
    data = PhotoFolder(photos, image_size=32)
    good = [i for i, path in enumerate(data.files) if path.name != "truncated.jpg"]
    batch = torch.stack([data[(i, 100 + i)][1] for i in good])
    loss = PerceptualLoss.build(runtime, request.options.perceptual_weights())
    target = loss.style_target(request.styles[0], size=32)
    torch.manual_seed(request.settings.seed)
    initial = TransformerNet(num_styles=1, architecture="light", neutral=True)  # the default network
    trained = TransformerNet(num_styles=1, architecture="light", neutral=True)
    trained.load_state_dict(load_model(result.output).tensors)
    with torch.no_grad():
        before = sum(loss(initial(batch, style=0), batch, target).values())
        after = sum(loss(trained(batch, style=0), batch, target).values())
    assert after < 0.2 * before


def test_the_default_loss_charges_a_pixel_fine_pattern_relative_to_the_photos_roughness(tmp_path, photos):
    """Long runs otherwise learn stripes the loss network reads as texture (docs/training.md): the default smooths."""
    runtime, method, request = train_request(tmp_path, photos)
    loss = PerceptualLoss.build(runtime, request.options.perceptual_weights())
    target = loss.style_target(request.styles[0], size=32)
    data = PhotoFolder(photos, image_size=32)
    batch = torch.stack([data[(0, 1)][1], data[(2, 3)][1]])
    stripes = torch.zeros_like(batch)
    stripes[..., ::2] = 0.15  # every other column brighter: what a spoiled run paints over a sky
    with torch.no_grad():
        photo_itself = loss(batch, batch, target)
        striped = loss((batch + stripes).clamp(0, 1), batch, target)
    default = request.options.tv_weight
    assert default > 0
    # Relative to the photos' own roughness: the photos themselves cost exactly the weight.
    assert float(photo_itself["tv"]) == pytest.approx(default, rel=1e-4)
    assert float(striped["tv"]) > 1.5 * default
    off = make_options(resolve(runtime.registry.method("johnson").train_options), {**TINY_LOSS, "tv_weight": 0})
    assert "tv" not in PerceptualLoss.build(runtime, off.perceptual_weights())(batch, batch, target)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path).tensors


def test_resume_after_ctrl_c_matches_an_uninterrupted_run(tmp_path, photos):
    _, method, straight = train_request(tmp_path, photos, steps=5, output="straight.safetensors")
    method.train(straight)

    _, method, first = train_request(tmp_path, photos, steps=5, output="resumed.safetensors")

    def interrupt(event):
        if event.step == 2:
            raise KeyboardInterrupt

    interrupted = method.train(first, progress=interrupt)
    assert interrupted.interrupted and interrupted.steps == 2 and interrupted.output is None
    assert not (tmp_path / "resumed.safetensors").exists()  # nothing half-finished is written

    _, method, second = train_request(
        tmp_path, photos, steps=5, output="resumed.safetensors", resume=interrupted.checkpoint
    )
    result = method.train(second)
    assert result.steps == 5
    a, b = _weights(tmp_path / "straight.safetensors"), _weights(tmp_path / "resumed.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_data_workers_do_not_change_the_result(tmp_path, photos):
    _, method, inline = train_request(tmp_path, photos, steps=3, output="inline.safetensors", workers=0)
    method.train(inline)
    _, method, workers = train_request(tmp_path, photos, steps=3, output="workers.safetensors", workers=2)
    method.train(workers)
    a, b = _weights(tmp_path / "inline.safetensors"), _weights(tmp_path / "workers.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_mismatched_settings(tmp_path, photos):
    _, method, request = train_request(tmp_path, photos, steps=2)
    result = method.train(request)
    _, method, other = train_request(tmp_path, photos, steps=4, resume=result.checkpoint, seed=7)
    with pytest.raises(TrainingError, match="--seed"):
        method.train(other)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    _, method, garbage = train_request(tmp_path, photos, steps=4, resume=bad)
    with pytest.raises(TrainingError, match="not a readable checkpoint"):
        method.train(garbage)


def test_trained_model_stylizes_any_size(tmp_path, photos):
    _, method, request = train_request(tmp_path, photos, steps=2)
    result = method.train(request)
    stylize_request = StylizeRequest(options=None, model=result.output)
    net = method.prepare(stylize_request)
    out = method.stylize(torch.rand(1, 3, 37, 51), stylize_request, net)
    assert out.shape == (1, 3, 37, 51) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_two_process_ddp_on_cpu(tmp_path, photos):
    """torchrun with 2 gloo processes: the step count is kept, ranks agree, rank 0 alone writes."""
    import subprocess
    import sys

    script = Path(__file__).parent / "ddp_train.py"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(_free_port()),
            str(script),
            str(tmp_path),
            str(photos),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 4
    assert all(torch.equal(ranks[0]["weights"][k], ranks[1]["weights"][k]) for k in ranks[0]["weights"])
    model = load_model(tmp_path / "model.safetensors", method="johnson")
    assert model.metadata["training"]["steps_done"] == 4
    lines = (tmp_path / "model.checkpoints" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]  # written once, by rank 0
    # Training really changed the weights (the ranks did not just agree on the initial ones).
    torch.manual_seed(0)
    from styletool import TransformerNet

    initial = TransformerNet(architecture="light").state_dict()  # the default network
    assert any(not torch.equal(initial[k], ranks[0]["weights"][k]) for k in initial)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_resume_refuses_a_checkpoint_of_another_model_naming_what_differs(tmp_path, photos):
    import dataclasses

    _, method, request = train_request(tmp_path, photos, steps=2)
    checkpoint = method.train(request).checkpoint
    other_painting = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(99))
    cases = {
        "styles ['noise'] then, ['waves'] now": {"style_names": ["waves"]},
        "the paintings are other pictures under the same names": {"styles": [other_painting]},
    }
    for message, change in cases.items():
        _, method, other = train_request(tmp_path, photos, steps=4, resume=checkpoint)
        with pytest.raises(TrainingError, match=re.escape(message)) as caught:
            method.train(dataclasses.replace(other, **change))
        assert str(checkpoint) in str(caught.value)
    for message, loss in {
        "style_weight 3.0 then, 10.0 now": {"style_weight": 10.0},
        "architecture light then, full now": {"network": "full"},
    }.items():
        _, method, other = train_request(tmp_path, photos, steps=4, resume=checkpoint, **loss)
        with pytest.raises(TrainingError, match=re.escape(message)):
            method.train(other)
    _, method, same = train_request(tmp_path, photos, steps=4, resume=checkpoint)
    assert method.train(same).steps == 4  # the same model resumes


def test_a_fresh_run_starts_its_checkpoint_folder_afresh(tmp_path, photos):
    _, method, first = train_request(tmp_path, photos, steps=3)
    method.train(first)
    _, method, second = train_request(tmp_path, photos, steps=2)  # no --resume: a new run (the command asks first)
    method.train(second)
    lines = (tmp_path / "model.checkpoints" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]  # none of the first run's lines
    assert load_checkpoint(tmp_path / "model.checkpoints" / "last.pt")["step"] == 2


def test_a_checkpoint_from_before_an_option_existed_still_resumes_while_the_option_is_unused():
    from styletool.training.engine import identity_differences

    saved = {"model": {"training": {"loss": {"style_weight": 3.0}}}}
    unused = {"model": {"training": {"loss": {"style_weight": 3.0, "painting_weight": []}}}}
    used = {"model": {"training": {"loss": {"style_weight": 3.0, "painting_weight": ["candy=2"]}}}}
    assert identity_differences(saved, unused) == []
    assert identity_differences(saved, used) == ["painting_weight (none) then, ['candy=2'] now"]
