"""MetaStyle: the bilevel gradient, meta-training, adaptation, one-shot stylize with its cache, blending."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.func import functional_call

from styletool import (
    AdaptRequest,
    StylizeRequest,
    TrainRequest,
    TrainSettings,
    TransformerNet,
    UsageError,
    load_image,
    load_model,
    save_image,
    save_model,
)
from styletool.framework.options import make_options
from styletool.framework.specs import resolve
from styletool_metastyle.meta import adapt_weights, fast_weight_names, query_loss

from conftest import IMAGES, shared_file
from tiny_backbone import tiny_runtime

TINY_LOSS = {
    "backbone": "tiny-random",
    "content_layers": ["relu3_1"],
    "style_layers": ["relu1_1", "relu2_1", "relu3_1"],
    "style_size": 32,
}


# -- the meta-gradient ----------------------------------------------------------
class TinyNet(nn.Module):
    """Conv, instance norm with affine, ReLU, conv: the shape of the transformer network, in miniature."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.InstanceNorm2d(4, affine=True)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.norm(self.conv1(x))))


def _tiny_problem(seed=0):
    torch.manual_seed(seed)
    net = TinyNet().double()
    with torch.no_grad():  # off the default affine (1, 0) so every term of the gradient is exercised
        net.norm.weight.uniform_(0.5, 1.5)
        net.norm.bias.uniform_(-0.3, 0.3)
    support, query = torch.rand(2, 3, 6, 6, dtype=torch.double), torch.rand(2, 3, 6, 6, dtype=torch.double)
    style = torch.rand(3, 3, dtype=torch.double)

    def loss(output, photos):
        # content: stay near the photo; "style": match a channel-correlation target (a Gram matrix).
        flat = output.flatten(2)
        gram = flat @ flat.transpose(1, 2) / flat.shape[-1]
        return {"content": ((output - photos) ** 2).mean(), "style": ((gram - style) ** 2).mean()}

    return net, support, query, loss


def _meta_objective(net, loss, support, query, *, first_order, lr=0.5, steps=2):
    fast = fast_weight_names(net, "norm")

    def objective(weights):
        terms = query_loss(net, weights, fast, support, query, loss, lr=lr, steps=steps, first_order=first_order)
        return sum(terms.values())

    return objective


def test_norm_fast_weights_are_the_instance_norm_scales_and_shifts():
    net = TransformerNet()
    names = fast_weight_names(net, "norm")
    assert len(names) == 30 and all(".norm.norm." in name for name in names)  # 15 normalization layers x (scale, shift)
    assert fast_weight_names(net, "all") == [name for name, _ in net.named_parameters()]
    with pytest.raises(ValueError):
        fast_weight_names(net, "convs")


def test_second_order_meta_gradient_matches_finite_differences():
    net, support, query, loss = _tiny_problem()
    objective = _meta_objective(net, loss, support, query, first_order=False)
    weights = dict(net.named_parameters())
    grads = torch.autograd.grad(objective(weights), list(weights.values()))
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):  # directional derivatives along random directions over all parameters
        direction = {name: torch.randn(w.shape, generator=generator, dtype=w.dtype) for name, w in weights.items()}
        eps = 1e-6
        with torch.no_grad():
            plus = {name: w + eps * direction[name] for name, w in weights.items()}
            minus = {name: w - eps * direction[name] for name, w in weights.items()}
        with torch.enable_grad():  # the objective differentiates its inner steps
            plus = {k: v.requires_grad_() for k, v in plus.items()}
            minus = {k: v.requires_grad_() for k, v in minus.items()}
            numeric = (objective(plus) - objective(minus)).item() / (2 * eps)
        analytic = sum((g * direction[name]).sum() for g, name in zip(grads, weights)).item()
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_first_order_is_the_gradient_with_the_inner_update_detached():
    net, support, query, loss = _tiny_problem()
    weights = dict(net.named_parameters())
    fast = fast_weight_names(net, "norm")
    first = torch.autograd.grad(
        _meta_objective(net, loss, support, query, first_order=True, steps=1)(weights), list(weights.values())
    )
    # By hand: one inner step whose gradient is a constant.
    inner = torch.autograd.grad(
        sum(loss(functional_call(net, weights, (support,)), support).values()), [weights[n] for n in fast]
    )
    adapted = dict(weights)
    for name, grad in zip(fast, inner):
        adapted[name] = weights[name] - 0.5 * grad.detach()
    by_hand = torch.autograd.grad(
        sum(loss(functional_call(net, adapted, (query,)), query).values()), list(weights.values())
    )
    for a, b in zip(first, by_hand):
        torch.testing.assert_close(a, b)
    # ... and it differs from the full gradient by the second-order terms, which are not negligible here.
    second = torch.autograd.grad(
        _meta_objective(net, loss, support, query, first_order=False, steps=1)(weights), list(weights.values())
    )
    difference = sum(((a - b) ** 2).sum() for a, b in zip(first, second)).sqrt()
    assert difference > 1e-3 * sum((b**2).sum() for b in second).sqrt()


def test_inner_steps_are_plain_sgd_until_the_cap():
    net, support, _, loss = _tiny_problem()
    weights = dict(net.named_parameters())
    fast = fast_weight_names(net, "norm")
    grads = torch.autograd.grad(sum(loss(net(support), support).values()), [weights[n] for n in fast])
    plain = adapt_weights(net, weights, fast, support, loss, lr=0.01, steps=1, first_order=True, max_step=10.0)
    for name, grad in zip(fast, grads):
        torch.testing.assert_close(plain[name], weights[name] - 0.01 * grad)
    capped = adapt_weights(net, weights, fast, support, loss, lr=1e6, steps=1, first_order=True, max_step=0.1)
    length = sum(((capped[n] - weights[n]) ** 2).sum() for n in fast).sqrt()
    assert float(length.detach()) == pytest.approx(0.1)
    assert all(capped[n] is weights[n] for n in weights if n not in fast)  # slow weights untouched


# -- meta-training, adaptation, stylizing ------------------------------------------
@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in ["tubingen", "golden_gate", "chicago"]:
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), folder / f"{name}.jpg")
    return folder


def paintings(*seeds):
    return [torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(s)) for s in seeds]


def meta_train(tmp_path, photos, *, steps=4, resume=None, output="meta.safetensors", model=None, lr=1e-3, **options):
    runtime = tiny_runtime()
    method = runtime.method("metastyle")
    opts = make_options(
        resolve(runtime.registry.method("metastyle").train_options), {**TINY_LOSS, "meta_batch": 2, **options}
    )
    settings = TrainSettings(steps=steps, batch_size=2, image_size=32, workers=0, checkpoint_every=2, lr=lr)
    request = TrainRequest(
        options=opts,
        settings=settings,
        content_dir=photos,
        output=tmp_path / output,
        styles=paintings(1, 2, 3),
        style_names=["red", "green", "blue"],
        resume=resume,
        model=model,
    )
    return method, method.train(request)


def adapt(method, model, output, *, style_seed=9, content_dir=None, content_files=(), **options):
    opts = make_options(
        resolve(method.runtime.registry.method("metastyle").adapt_options),
        {"steps": 3, "image_size": 32, "batch_size": 2, **options},
    )
    request = AdaptRequest(
        options=opts,
        model=model,
        style=paintings(style_seed)[0],
        style_name="noise",
        output=output,
        content_dir=content_dir,
        content_files=list(content_files),
    )
    return method.adapt(request)


def stylize(method, photo, *, models, styles=(), inputs=(), **options):
    opts = make_options(
        resolve(method.runtime.registry.method("metastyle").options),
        {"steps": 3, "image_size": 32, "batch_size": 2, **options},
    )
    request = StylizeRequest(
        options=opts,
        styles=list(styles),
        style_names=[f"s{i}" for i in range(len(styles))],
        model=models[0],
        models=list(models),
        inputs=list(inputs),
    )
    return method.stylize(photo, request, method.prepare(request))


@pytest.fixture(scope="module")
def meta(tmp_path_factory, photos):
    tmp_path = tmp_path_factory.mktemp("meta")
    method, result = meta_train(tmp_path, photos)
    return method, result.output


@pytest.fixture(scope="module")
def adapted(tmp_path_factory, meta, photos):
    method, path = meta
    folder = tmp_path_factory.mktemp("adapted")
    a = adapt(method, path, folder / "a.safetensors", style_seed=9, content_dir=photos).output
    b = adapt(method, path, folder / "b.safetensors", style_seed=10, content_dir=photos).output
    return a, b


def test_meta_model_records_what_it_is(meta):
    _, path = meta
    model = load_model(path, method="metastyle")
    assert model.metadata["kind"] == "meta" and model.styles == ["red", "green", "blue"]
    assert model.metadata["training"]["meta"]["fast_weights"] == "norm"
    assert model.metadata["training"]["loss"]["backbone"] == "tiny-random"
    assert model.metadata["training"]["steps_done"] == 4


def test_meta_training_resumes_exactly(tmp_path, photos):
    _, straight = meta_train(tmp_path / "a", photos, steps=4)
    _, first = meta_train(tmp_path / "b", photos, steps=2)
    _, resumed = meta_train(tmp_path / "b", photos, steps=4, resume=first.checkpoint)
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_first_order_all_weights_and_a_separate_query_folder_train(tmp_path, photos):
    _, plain = meta_train(tmp_path / "plain", photos, steps=2)
    _, other = meta_train(
        tmp_path / "other", photos, steps=2, first_order=True, fast_weights="all", val_content_dir=str(photos)
    )
    assert other.output.is_file()
    changed = [n for n, v in plain.model.state_dict().items() if not torch.equal(v, other.model.state_dict()[n])]
    assert changed  # the options change the training, not just the metadata


def test_meta_training_starts_from_a_cin_model_with_its_styles_averaged(tmp_path, photos, adapted):
    torch.manual_seed(0)
    cin = TransformerNet(num_styles=3, architecture="light")
    with torch.no_grad():  # distinct style rows, so the mean is not the default (1, 0)
        for table in cin.style_parameters():
            table.normal_()
    save_model(
        tmp_path / "cin.safetensors",
        cin.state_dict(),
        {
            "method": "cin",
            "network": "transformer-cin",
            "num_styles": 3,
            "architecture": "light",
            "styles": ["a", "b", "c"],
        },
    )
    # A vanishing learning rate: what comes out is the starting point itself.
    _, result = meta_train(tmp_path, photos, steps=1, lr=1e-12, model=tmp_path / "cin.safetensors", network="full")
    model = load_model(result.output, method="metastyle")
    assert model.metadata["architecture"] == "light"  # the starting network's, whatever --network says
    assert model.metadata["started_from"]["file"] == "cin.safetensors"
    mean = cin.single_style().state_dict()
    for name, value in model.tensors.items():
        assert torch.allclose(value, mean[name], atol=1e-6), name
    photo = torch.rand(1, 3, 32, 32)
    weights = torch.full((3,), 1 / 3)
    with torch.no_grad():
        assert torch.allclose(cin.single_style()(photo), cin(photo, weights), atol=1e-5)
    with pytest.raises(UsageError, match="adapted to one painting"):
        meta_train(tmp_path / "again", photos, steps=1, model=adapted[0])


def test_meta_training_needs_several_styles_and_two_photos_per_batch(tmp_path, photos):
    runtime = tiny_runtime()
    method = runtime.method("metastyle")
    opts = make_options(resolve(runtime.registry.method("metastyle").train_options), TINY_LOSS)
    one_style = TrainRequest(
        options=opts,
        settings=TrainSettings(steps=1, batch_size=2, image_size=32, workers=0),
        content_dir=photos,
        output=tmp_path / "m.safetensors",
        styles=paintings(1),
        style_names=["a"],
    )
    with pytest.raises(UsageError, match="several paintings"):
        method.train(one_style)
    small_batch = TrainRequest(
        options=opts,
        settings=TrainSettings(steps=1, batch_size=1, image_size=32, workers=0),
        content_dir=photos,
        output=tmp_path / "m.safetensors",
        styles=paintings(1, 2),
        style_names=["a", "b"],
    )
    with pytest.raises(UsageError, match="batch-size must be at least 2"):
        method.train(small_batch)
    assert not (tmp_path / "m.safetensors").exists()


def test_adaptation_writes_an_ordinary_model_and_only_norm_keeps_the_convolutions(tmp_path, meta, photos):
    method, path = meta
    result = adapt(method, path, tmp_path / "norm.safetensors", content_files=[photos / "chicago.jpg"], only_norm=True)
    model = load_model(result.output, method="metastyle")
    assert model.metadata["kind"] == "adapted" and model.styles == ["noise"]
    assert model.metadata["adapted_from"]["file"] == path.name
    start = load_model(path).tensors
    norms = set(fast_weight_names(TransformerNet(), "norm"))
    assert all(torch.equal(start[n], model.tensors[n]) for n in start if n not in norms)
    assert any(not torch.equal(start[n], model.tensors[n]) for n in norms)
    assert not (tmp_path / "norm.checkpoints").exists()  # adaptation leaves only the model file


def test_an_adapted_model_is_not_adapted_again_and_a_meta_model_needs_a_style(meta, adapted, tmp_path):
    method, path = meta
    photo = torch.rand(1, 3, 24, 30)
    with pytest.raises(UsageError, match="not a meta-trained model"):
        adapt(method, adapted[0], tmp_path / "again.safetensors", content_files=[IMAGES / "content" / "chicago.jpg"])
    with pytest.raises(UsageError, match="give one --style"):
        stylize(method, photo, models=[path])
    with pytest.raises(UsageError, match="already adapted"):
        stylize(method, photo, models=[adapted[0]], styles=paintings(4))
    result = stylize(method, photo, models=[adapted[0]])
    assert result.shape == photo.shape and 0 <= float(result.min()) and float(result.max()) <= 1


def test_one_shot_stylize_adapts_once_then_uses_the_cache(meta, photos, tmp_path, monkeypatch):
    method, path = meta
    monkeypatch.setenv("STYLETOOL_CACHE_DIR", str(tmp_path / "cache"))
    photo = load_image(photos / "chicago.jpg", size=40).pixels[None]
    painting = paintings(5)
    first = stylize(method, photo, models=[path], styles=painting, inputs=[photos / "chicago.jpg"])
    cached = list((tmp_path / "cache" / "metastyle").glob("*.safetensors"))
    assert len(cached) == 1 and load_model(cached[0]).metadata["kind"] == "adapted"

    def no_adapting(*args, **kwargs):
        raise AssertionError("adapted again instead of using the cache")

    monkeypatch.setattr(type(method), "adapt", no_adapting)
    second = stylize(method, photo, models=[path], styles=painting, inputs=[photos / "chicago.jpg"])
    assert torch.equal(first, second)
    with pytest.raises(AssertionError, match="adapted again"):  # another setting is another cache entry
        stylize(method, photo, models=[path], styles=painting, inputs=[photos / "chicago.jpg"], steps=4)


def test_no_cache_adapts_without_storing(meta, photos, tmp_path, monkeypatch):
    method, path = meta
    monkeypatch.setenv("STYLETOOL_CACHE_DIR", str(tmp_path / "cache"))
    photo = torch.rand(1, 3, 24, 30)
    stylize(method, photo, models=[path], styles=paintings(6), inputs=[photos / "chicago.jpg"], no_cache=True)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.safetensors"))


def test_mix_endpoints_are_the_two_models_and_the_middle_lies_between(meta, adapted):
    method, _ = meta
    a, b = adapted
    photo = torch.rand(1, 3, 24, 30, generator=torch.Generator().manual_seed(0))
    only_a, only_b = stylize(method, photo, models=[a]), stylize(method, photo, models=[b])
    assert not torch.allclose(only_a, only_b, atol=1e-3)
    torch.testing.assert_close(stylize(method, photo, models=[a, b], mix="1,0"), only_a)
    torch.testing.assert_close(stylize(method, photo, models=[a, b], mix="0,2"), only_b)
    middle = stylize(method, photo, models=[a, b], mix="0.5,0.5")
    assert (middle - only_a).abs().mean() < (only_b - only_a).abs().mean()
    assert (middle - only_b).abs().mean() < (only_b - only_a).abs().mean()
    steps = stylize(method, photo, models=[a, b], interpolate_steps=3)
    assert steps.shape == (3, 3, 24, 30)  # one picture per step, from the first model to the second
    torch.testing.assert_close(steps[:1], only_a)
    torch.testing.assert_close(steps[1:2], middle)
    torch.testing.assert_close(steps[2:], only_b)


def test_interpolation_steps_are_variants_labelled_with_their_blend(meta, adapted):
    from styletool.grid import LABEL_HEIGHT
    from styletool.pipeline.stylizer import variant_sheet

    method, _ = meta
    a, b = adapted
    opts = make_options(resolve(method.runtime.registry.method("metastyle").options), {"interpolate_steps": 5})
    request = StylizeRequest(options=opts, model=a, models=[a, b])
    prepared = method.prepare(request)
    variants = method.variants(request, prepared)
    assert variants.labels == [a.stem, "75% / 25%", "50% / 50%", "25% / 75%", b.stem]
    assert variants.columns == 5 and not variants.with_photo
    photo = torch.rand(1, 3, 24, 30)
    sheet = variant_sheet(photo, method.stylize(photo, request, prepared), variants)
    assert sheet.shape == (1, 3, 30 + LABEL_HEIGHT, 5 * 30 + 4 * 8)  # one row of labelled 30 px cells
    single = StylizeRequest(options=None, model=a, models=[a])
    assert method.variants(single, method.prepare(single)) is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "say how to blend them"),
        ({"mix": "0.5"}, "1 weights for 2 --model files"),
        ({"mix": "0.5,x"}, "not a valid list of numbers"),
        ({"mix": "-1,2"}, "out of range; must be at least 0"),
        ({"mix": "0,0"}, "at least one weight must be positive"),
        ({"mix": "1,1", "interpolate_steps": 3}, "not both"),
    ],
)
def test_blend_options_are_validated(meta, adapted, options, message):
    method, _ = meta
    with pytest.raises(UsageError, match=message):
        stylize(method, torch.rand(1, 3, 16, 16), models=list(adapted), **options)


def test_mix_needs_several_models_and_interpolation_exactly_two(meta, adapted):
    method, _ = meta
    with pytest.raises(UsageError, match="give --model A --model B"):
        stylize(method, torch.rand(1, 3, 16, 16), models=[adapted[0]], mix="1")
    with pytest.raises(UsageError, match="exactly two"):
        stylize(method, torch.rand(1, 3, 16, 16), models=[*adapted, adapted[0]], interpolate_steps=3)


def test_two_process_ddp_meta_training_keeps_ranks_identical(tmp_path, photos):
    """The inner loop bypasses DDP's wrapper; the engine's own gradient averaging must keep ranks in step."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).parent / "ddp_train.py"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(port),
            str(script),
            str(tmp_path),
            str(photos),
            "metastyle",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 4
    assert all(torch.equal(ranks[0]["weights"][k], ranks[1]["weights"][k]) for k in ranks[0]["weights"])
    assert load_model(tmp_path / "model.safetensors", method="metastyle").metadata["kind"] == "meta"


# -- the command line (real VGG-19 at tiny sizes) -----------------------------------------
def test_cli_meta_train_adapt_stylize_and_blend(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("STYLETOOL_CACHE_DIR", str(tmp_path / "cache"))
    content, style = IMAGES / "content", IMAGES / "style"
    shared_file("images", "content", "tubingen.jpg")
    meta = tmp_path / "meta.safetensors"
    result = cli(
        "train",
        "--method",
        "metastyle",
        "--content-dir",
        content,
        "--style",
        style / "mondrian.jpg",
        "--style",
        style / "the_scream.jpg",
        "-o",
        meta,
        "--steps",
        "2",
        "--image-size",
        "32",
        "--batch-size",
        "2",
        "--meta-batch",
        "2",
        "--style-size",
        "32",
        "--workers",
        "0",
        "--meta-lr",
        "1e-3",
        "--first-order",
    )
    assert result.code == 0, result.err
    adapted = tmp_path / "wave.safetensors"
    result = cli(
        "adapt",
        "--method",
        "metastyle",
        "--model",
        meta,
        "--style",
        style / "starry_night.jpg",
        "--content",
        content / "tubingen.jpg",
        "-o",
        adapted,
        "--steps",
        "2",
        "--image-size",
        "32",
        "--json",
    )
    assert result.code == 0, result.err
    assert '"status": "ok"' in result.out and load_model(adapted).metadata["kind"] == "adapted"
    out = tmp_path / "out.png"
    result = cli(
        "stylize",
        content / "tubingen.jpg",
        "--method",
        "metastyle",
        "--model",
        meta,
        "--style",
        style / "starry_night.jpg",
        "-o",
        out,
        "--size",
        "48",
        "--steps",
        "2",
        "--image-size",
        "32",
    )
    assert result.code == 0, result.err
    assert load_image(out).size == (48, 36) and len(list((tmp_path / "cache").rglob("*.safetensors"))) == 1
    strip = tmp_path / "strip.png"
    result = cli(
        "stylize",
        content / "tubingen.jpg",
        "--method",
        "metastyle",
        "--model",
        adapted,
        "--model",
        adapted,
        "--interpolate-steps",
        "3",
        "-o",
        strip,
        "--size",
        "48",
    )
    assert result.code == 0, result.err
    assert load_image(strip).size == (3 * 48 + 16, 48 + 22)  # labelled 48 px cells
    bad = cli(
        "stylize",
        content / "tubingen.jpg",
        "--method",
        "metastyle",
        "--model",
        adapted,
        "--model",
        adapted,
        "--mix",
        "1,2,3",
        "-o",
        tmp_path / "bad.png",
    )
    assert bad.code == 2 and bad.err.strip().splitlines() == [
        "error: option --mix: 3 weights for 2 --model files; give one weight each"
    ]
    assert not (tmp_path / "bad.png").exists()
    exported = cli(
        "export", adapted, "--format", "torchscript", "-o", tmp_path / "wave.pt"
    )  # an ordinary feed-forward model
    assert exported.code == 0, exported.err
    refused = cli(
        "adapt",
        "--method",
        "johnson",
        "--model",
        adapted,
        "--style",
        style / "starry_night.jpg",
        "--content",
        content / "tubingen.jpg",
        "-o",
        tmp_path / "x.safetensors",
    )
    assert refused.code == 2 and "methods that can: metastyle" in refused.err


def test_other_feed_forward_methods_refuse_several_models(cli, tmp_path):
    net = TransformerNet()
    from styletool import save_model

    path = save_model(tmp_path / "j.safetensors", net.state_dict(), {"method": "johnson", "styles": ["x"]})
    photo = tmp_path / "p.png"
    save_image(torch.rand(1, 3, 16, 16), photo)
    result = cli("stylize", photo, "--method", "johnson", "--model", path, "--model", path, "-o", tmp_path / "o.png")
    assert result.code == 2 and "takes one --model (2 given)" in result.err
