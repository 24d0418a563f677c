"""The bilevel (MAML-style) objective MetaStyle trains with, for any network.

For one style, the *fast weights* (a chosen subset of the parameters) start
from the current parameters and take plain gradient steps on the style's
perceptual loss over a "support" batch of photos. The adapted network is then
scored on a different, "query" batch. Meta-training minimizes that query loss
with respect to the starting parameters, so they become a point from which a
few gradient steps reach any style.

Differentiating the query loss through the inner steps needs the gradient of
a gradient (second order): the inner gradients are computed with
``create_graph=True``. The first-order approximation treats the inner
gradients as constants, which is cheaper and drops exactly the terms that
involve second derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn
from torch.func import functional_call

FAST_WEIGHTS = ("norm", "all")
_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)

# loss(output, photos) -> named loss terms; their sum is what is minimized.
LossTerms = Callable[[Tensor, Tensor], dict[str, Tensor]]


def fast_weight_names(net: nn.Module, which: str) -> list[str]:
    """Names of the parameters the inner loop adapts: the normalization scales and shifts, or all."""
    if which == "all":
        return [name for name, _ in net.named_parameters()]
    if which != "norm":
        raise ValueError(f"fast weights must be one of {', '.join(FAST_WEIGHTS)}, not {which!r}")
    names = [
        f"{module_name}.{name}" if module_name else name
        for module_name, module in net.named_modules()
        if isinstance(module, _NORMS)
        for name, _ in module.named_parameters(recurse=False)
    ]
    if not names:
        raise ValueError("the network has no normalization parameters to adapt; use fast weights 'all'")
    return names


def adapt_weights(
    net: nn.Module,
    weights: dict[str, Tensor],
    fast: list[str],
    support: Tensor,
    loss: LossTerms,
    *,
    lr: float,
    steps: int,
    first_order: bool,
    max_step: float | None = None,
    call: dict[str, object] | None = None,
) -> dict[str, Tensor]:
    """``weights`` after ``steps`` plain gradient steps of the fast weights on ``support``.

    The result stays a differentiable function of ``weights``: fully (second
    order), or with the inner gradients held constant (``first_order``).
    ``max_step`` caps the length of each step (the norm over all fast
    weights): perceptual losses of an untrained network are many orders of
    magnitude above those of a trained one, and one plain step sized for the
    latter would throw the former far away. Steps shorter than the cap are
    plain gradient steps. ``call`` holds keyword arguments of the network's
    forward (a conditional network's ``style``).
    """
    current = dict(weights)
    for _ in range(steps):
        terms = loss(functional_call(net, current, (support,), call), support)
        total = cast(Tensor, sum(terms.values()))
        grads = torch.autograd.grad(total, [current[name] for name in fast], create_graph=not first_order)
        scale: float | Tensor = lr
        if max_step is not None:
            length = lr * torch.sqrt(cast(Tensor, sum((grad * grad).sum() for grad in grads)))
            scale = lr * torch.clamp(max_step / (length + 1e-12), max=1.0)
        for name, grad in zip(fast, grads):
            current[name] = current[name] - scale * grad
    return current


def query_loss(
    net: nn.Module,
    weights: dict[str, Tensor],
    fast: list[str],
    support: Tensor,
    query: Tensor,
    loss: LossTerms,
    *,
    lr: float,
    steps: int,
    first_order: bool,
    max_step: float | None = None,
    call: dict[str, object] | None = None,
) -> dict[str, Tensor]:
    """The meta-objective for one style: the loss on ``query`` after adapting on ``support``."""
    adapted = adapt_weights(
        net, weights, fast, support, loss, lr=lr, steps=steps, first_order=first_order, max_step=max_step, call=call
    )
    return loss(functional_call(net, adapted, (query,), call), query)
