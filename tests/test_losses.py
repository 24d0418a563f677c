"""Loss maths and loss classes, each checked against its formula written out here."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from styletool.perceptual.losses import FeatureLoss, gram_matrix, mean_std
from styletool_losses.terms import (
    ContentLoss,
    GramLoss,
    HistogramLoss,
    MeanStdLoss,
    TotalVariationLoss,
    content_loss,
    match_histogram,
    total_variation,
)

REPO = Path(__file__).resolve().parents[1]
FEATURE_LOSSES = [ContentLoss, GramLoss, MeanStdLoss, HistogramLoss]


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def features(seed: int = 0, n: int = 1) -> dict[str, torch.Tensor]:
    return {"a": randn(n, 3, 4, 5, seed=seed), "b": randn(n, 2, 3, 3, seed=seed + 100)}


# --- maths -------------------------------------------------------------------


def test_gram_matrix_hand_computed():
    # Channel 0 holds 1,2,3,4 and channel 1 holds 0,1,0,1; C*H*W = 8.
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]], dtype=torch.float64)
    expected = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]], dtype=torch.float64) / 8
    torch.testing.assert_close(gram_matrix(f), expected)


def test_gram_matrix_shift_hand_computed():
    # Shifted by 1: channel 0 is 2,3,4,5 and channel 1 is 1,2,1,2.
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]], dtype=torch.float64)
    expected = torch.tensor([[[54.0, 22.0], [22.0, 10.0]]], dtype=torch.float64) / 8
    torch.testing.assert_close(gram_matrix(f, shift=1.0), expected)


def test_gram_matrix_matches_loops():
    f = randn(2, 3, 4, 5)
    n, c, h, w = f.shape
    expected = torch.zeros(n, c, c, dtype=torch.float64)
    for b in range(n):
        for i in range(c):
            for j in range(c):
                products = [(f[b, i, y, x] - 0.5) * (f[b, j, y, x] - 0.5) for y in range(h) for x in range(w)]
                expected[b, i, j] = sum(products) / (c * h * w)
    torch.testing.assert_close(gram_matrix(f, shift=-0.5), expected)


def test_gram_matrix_of_a_channels_last_map_is_the_same_matrix_and_gradient():
    # CPU backbones hand back channels-last features; their Gram matrix takes another route.
    f = randn(2, 3, 4, 5).requires_grad_(True)
    last = f.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert not last.is_contiguous()
    for shift in (0.0, -0.5):
        torch.testing.assert_close(gram_matrix(last, shift=shift), gram_matrix(f, shift=shift))
    gram_matrix(f).square().sum().backward()
    gram_matrix(last).square().sum().backward()
    torch.testing.assert_close(last.grad, f.grad)


def test_mean_std_matches_loops():
    f = randn(2, 3, 4, 5)
    mean, std = mean_std(f, eps=1e-3)
    for b in range(2):
        for c in range(3):
            values = f[b, c].flatten().tolist()
            m = sum(values) / len(values)
            var = sum((v - m) ** 2 for v in values) / len(values)  # biased
            assert mean[b, c].item() == pytest.approx(m)
            assert std[b, c].item() == pytest.approx(math.sqrt(var + 1e-3))


def test_content_loss_is_mean_squared_error():
    x, y = randn(2, 3, 4, 5, seed=1), randn(2, 3, 4, 5, seed=2)
    pairs = zip(x.flatten().tolist(), y.flatten().tolist())
    expected = sum((a - b) ** 2 for a, b in pairs) / x.numel()
    assert content_loss(x, y).item() == pytest.approx(expected)


def test_total_variation_hand_computed():
    # dx: 1 and 2; dy: 3 and 4.
    image = torch.tensor([[[[0.0, 1.0], [3.0, 5.0]]]], dtype=torch.float64)
    assert total_variation(image, p=1).item() == pytest.approx((1 + 2) / 2 + (3 + 4) / 2)
    assert total_variation(image, p=2).item() == pytest.approx((1 + 4) / 2 + (9 + 16) / 2)


@pytest.mark.parametrize("p", [1, 2])
def test_total_variation_matches_loops(p):
    image = randn(2, 3, 4, 5)
    n, c, h, w = image.shape
    dx, dy = [], []
    for b in range(n):
        for k in range(c):
            for y in range(h):
                for x in range(w):
                    if x + 1 < w:
                        dx.append(image[b, k, y, x + 1] - image[b, k, y, x])
                    if y + 1 < h:
                        dy.append(image[b, k, y + 1, x] - image[b, k, y, x])
    expected = sum(abs(d) ** p for d in dx) / len(dx) + sum(abs(d) ** p for d in dy) / len(dy)
    assert total_variation(image, p=p).item() == pytest.approx(expected.item())
    assert TotalVariationLoss(p=p)(image).item() == pytest.approx(expected.item())


def test_match_histogram_hand_computed():
    f = torch.tensor([3.0, 1.0, 2.0]).reshape(1, 1, 1, 3)
    target = torch.tensor([[10.0, 20.0, 30.0]])
    assert match_histogram(f, target).flatten().tolist() == [30.0, 10.0, 20.0]


def test_match_histogram_interpolates_target_quantiles():
    # Five elements against three target values: quantiles at 0, .25, .5, .75, 1.
    f = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0]).reshape(1, 1, 1, 5)
    target = torch.tensor([[0.0, 1.0, 2.0]])
    assert match_histogram(f, target).flatten().tolist() == [2.0, 1.5, 1.0, 0.5, 0.0]


def test_match_histogram_keeps_ranks_and_takes_target_values():
    f = randn(2, 3, 4, 5, seed=1)
    target = randn(3, 20, seed=2).sort(dim=-1).values
    matched = match_histogram(f, target)
    assert matched.shape == f.shape
    for b in range(2):
        for c in range(3):
            values = matched[b, c].flatten()
            assert torch.equal(values.sort().values, target[c])
            assert torch.equal(values.argsort(), f[b, c].flatten().argsort())


def test_match_histogram_is_detached():
    f = randn(1, 2, 3, 3).requires_grad_()
    assert not match_histogram(f, randn(2, 9).sort(dim=-1).values).requires_grad


# --- loss classes ------------------------------------------------------------


def test_content_loss_class_sums_weighted_layers():
    loss = ContentLoss({"a": 2.0, "b": 0.5})
    x, c = features(seed=1), features(seed=2)
    expected = 2.0 * ((x["a"] - c["a"]) ** 2).mean() + 0.5 * ((x["b"] - c["b"]) ** 2).mean()
    torch.testing.assert_close(loss(x, loss.target(c)), expected)


def test_gram_loss_matches_einsum():
    loss = GramLoss(["a", "b"], shift=0.25)
    x, s = features(seed=1), features(seed=2)

    def gram(f):
        n, c, h, w = f.shape
        return torch.einsum("nihw,njhw->nij", f + 0.25, f + 0.25) / (c * h * w)

    expected = sum(((gram(x[k]) - gram(s[k])) ** 2).mean() for k in ("a", "b"))
    torch.testing.assert_close(loss(x, loss.target(s)), expected)


def test_gram_target_of_one_style_broadcasts_over_batch():
    loss = GramLoss(["a"])
    x, s = features(seed=1, n=3), features(seed=2, n=1)
    target = loss.target(s)
    per_sample = [loss({"a": x["a"][i : i + 1]}, target) for i in range(3)]
    torch.testing.assert_close(loss(x, target), sum(per_sample) / 3)


def test_mean_std_loss_matches_formula():
    loss = MeanStdLoss(["a", "b"])
    x, s = features(seed=1), features(seed=2)
    expected = 0.0
    for k in ("a", "b"):
        mx, ms = x[k].mean(dim=(2, 3)), s[k].mean(dim=(2, 3))
        sx = (((x[k] - mx[..., None, None]) ** 2).mean(dim=(2, 3)) + 1e-5).sqrt()
        ss = (((s[k] - ms[..., None, None]) ** 2).mean(dim=(2, 3)) + 1e-5).sqrt()
        expected = expected + ((mx - ms) ** 2).mean() + ((sx - ss) ** 2).mean()
    torch.testing.assert_close(loss(x, loss.target(s)), expected)


def test_histogram_loss_matches_formula():
    loss = HistogramLoss(["a"])
    x, s = features(seed=1), features(seed=2)
    f, style = x["a"], s["a"]
    expected = 0.0
    for c in range(f.shape[1]):
        values = f[0, c].flatten()
        target_sorted = style[0, c].flatten().sort().values
        matched = torch.empty_like(values)
        matched[values.argsort()] = target_sorted  # rank j gets the j-th smallest target value
        expected = expected + ((values - matched) ** 2).sum()
    torch.testing.assert_close(loss(x, loss.target(s)), expected / f.numel())


def test_histogram_loss_zero_on_target_distribution():
    loss = HistogramLoss(["a"])
    s = features(seed=2)
    target = loss.target(s)
    assert loss(s, target).item() == 0.0
    # Any spatial rearrangement of the style's values has the same histogram.
    flat = s["a"].flatten(2)
    permuted = flat[..., torch.randperm(flat.shape[-1], generator=torch.Generator().manual_seed(3))]
    assert loss({"a": permuted.reshape(s["a"].shape)}, target).item() == 0.0
    assert loss(features(seed=1), target).item() > 0.0


def test_histogram_target_is_sorted_channel_values():
    s = features(seed=2)["a"]
    target = HistogramLoss(["a"]).target({"a": s})["a"]
    assert target.shape == (3, 20)
    for c in range(3):
        assert torch.equal(target[c], s[0, c].flatten().sort().values)


def test_layer_weight_scales_its_contribution():
    x, s = features(seed=1), features(seed=2)
    for cls in FEATURE_LOSSES:
        one = cls({"a": 1.0, "b": 1.0})
        two = cls({"a": 2.0, "b": 1.0})
        only_a = cls(["a"])
        target = one.target(s)
        torch.testing.assert_close(two(x, target) - one(x, target), only_a(x, target))
        torch.testing.assert_close(cls({"a": 2.0})(x, target), 2 * only_a(x, target))


def test_blend_one_zero_is_first_target():
    s1, s2 = features(seed=1), features(seed=2)
    for cls in FEATURE_LOSSES:
        loss = cls(["a", "b"])
        t1, t2 = loss.target(s1), loss.target(s2)
        blended = loss.blend([t1, t2], [1.0, 0.0])
        for layer in ("a", "b"):
            for got, want in zip(_tensors(blended[layer]), _tensors(t1[layer])):
                assert torch.equal(got, want)


def test_blend_half_half_of_gram_targets_is_mean_gram():
    loss = GramLoss(["a"])
    s1, s2 = features(seed=1), features(seed=2)
    blended = loss.blend([loss.target(s1), loss.target(s2)], [0.5, 0.5])
    torch.testing.assert_close(blended["a"], (gram_matrix(s1["a"]) + gram_matrix(s2["a"])) / 2)


def test_blend_mean_std_averages_each_statistic():
    loss = MeanStdLoss(["a"])
    s1, s2 = features(seed=1), features(seed=2)
    mean, std = loss.blend([loss.target(s1), loss.target(s2)], [0.25, 0.75])["a"]
    (m1, d1), (m2, d2) = mean_std(s1["a"]), mean_std(s2["a"])
    torch.testing.assert_close(mean, 0.25 * m1 + 0.75 * m2)
    torch.testing.assert_close(std, 0.25 * d1 + 0.75 * d2)


def test_blend_histograms_of_different_sizes_averages_quantiles():
    loss = HistogramLoss(["a"])
    small = {"a": torch.tensor([0.0, 2.0, 4.0], dtype=torch.float64).reshape(1, 1, 1, 3)}
    large = {"a": torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0], dtype=torch.float64).reshape(1, 1, 1, 5)}
    blended = loss.blend([loss.target(small), loss.target(large)], [0.5, 0.5])["a"]
    # small resampled to 5 quantiles: 0, 1, 2, 3, 4; large sorted: 0, 1, 2, 3, 4.
    expected = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(blended, expected)


@pytest.mark.parametrize("cls", FEATURE_LOSSES)
def test_gradient_reaches_input_features(cls):
    loss = cls(["a", "b"])
    target = loss.target(features(seed=2))
    x = {k: v.clone().requires_grad_() for k, v in features(seed=1).items()}
    loss(x, target).backward()
    for v in x.values():
        assert v.grad is not None and v.grad.abs().sum() > 0


def test_target_is_detached():
    s = {k: v.requires_grad_() for k, v in features(seed=2).items()}
    for cls in FEATURE_LOSSES:
        for value in cls(["a"]).target(s).values():
            assert not any(t.requires_grad for t in _tensors(value))


def test_roles():
    assert [cls.role for cls in FEATURE_LOSSES] == ["content", "style", "style", "style"]
    assert TotalVariationLoss.role == "image"
    with pytest.raises(TypeError):
        FeatureLoss(["a"])  # abstract


def test_layer_sequence_means_weight_one():
    assert GramLoss(["a", "b"]).layers == {"a": 1.0, "b": 1.0}
    assert GramLoss("a").layers == {"a": 1.0}


@pytest.mark.parametrize("layers", [[], {}, {"a": -1.0}, {"a": 1.0, "b": -0.5}, {"a": float("nan")}])
def test_invalid_layers_raise(layers):
    for cls in FEATURE_LOSSES:
        with pytest.raises(ValueError):
            cls(layers)


def test_invalid_tv_power_raises():
    with pytest.raises(ValueError):
        TotalVariationLoss(p=3)
    with pytest.raises(ValueError):
        total_variation(randn(1, 1, 2, 2), p=3)


@pytest.mark.parametrize("weights", [[0.5, 0.6], [1.5, -0.5], [1.0]])
def test_invalid_blend_weights_raise(weights):
    loss = GramLoss(["a"])
    targets = [loss.target(features(seed=1)), loss.target(features(seed=2))]
    with pytest.raises(ValueError):
        loss.blend(targets, weights)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        GramLoss(["a"], 1.0)
    with pytest.raises(TypeError):
        TotalVariationLoss(2)


# --- plugin registration -----------------------------------------------------


def test_plugin_registers_five_specs_without_importing_torch():
    code = """
import sys
sys.path[:0] = ['.', 'plugins']
import styletool_losses
specs = []
styletool_losses.register_losses(register=specs.append)
assert 'torch' not in sys.modules, 'torch was imported'
for spec in specs:
    print(spec.name, spec.role, spec.load)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [(name, role) for name, role, _ in rows] == [
        ("content", "content"),
        ("gram", "style"),
        ("meanstd", "style"),
        ("histogram", "style"),
        ("tv", "image"),
    ]
    from styletool.framework.specs import resolve

    classes = [resolve(load) for _, _, load in rows]
    assert classes == [ContentLoss, GramLoss, MeanStdLoss, HistogramLoss, TotalVariationLoss]


def _tensors(value):
    return value if isinstance(value, tuple) else (value,)
