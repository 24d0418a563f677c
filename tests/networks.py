"""Transformer networks for tests, with normalization tables that are not the identity (as after training)."""

from __future__ import annotations

import torch

from styletool import TransformerNet


def trained_like(num_styles=None, *, neutral=False):
    torch.manual_seed(0)
    net = TransformerNet(num_styles=num_styles, neutral=neutral).eval()
    for parameter in net.parameters():
        if parameter.dim() <= 2:  # norm scales and shifts, conditional tables, biases
            parameter.data += torch.randn_like(parameter) * 0.3
    return net
