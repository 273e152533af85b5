#!/usr/bin/python3
"""Reference cases of normalization.hpp: batch_norm in training (batch statistics; the
running statistics it updates are outputs too) and evaluation, with and without weight,
bias and running statistics, over [N, C], [N, C, L], [N, C, H, W], [N, C, D, H, W];
local_response_norm over sizes (odd, even, larger than C) and constants; dropout in its
deterministic cases (evaluation, p = 0). Writes norm.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("norm")


def batch_norm(shape, training, weight=True, bias=True, stats=True, momentum=0.1, eps=1e-5):
    c = shape[1]
    inputs = [randn(*shape) * 2 + 0.5]
    has = {"running": stats, "weight": weight, "bias": bias}
    if stats:
        inputs += [randn(c) * 0.3, torch.rand(c) + 0.5]
    if weight:
        inputs.append(randn(c))
    if bias:
        inputs.append(randn(c))

    def fn(x, *rest):
        rest = list(rest)
        rm, rv = (rest.pop(0), rest.pop(0)) if stats else (None, None)
        w = rest.pop(0) if weight else None
        b = rest.pop(0) if bias else None
        out = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
        return (out, rm.clone(), rv.clone()) if stats else out

    # PyTorch 1.13 cannot differentiate evaluation-mode batch_norm twice without a weight.
    family.case("batch_norm", inputs, fn, nondiff=(1, 2) if stats else (), second_order=training or weight,
                options={"training": training, "momentum": momentum, "eps": eps, **has})


for shape in [(4, 3), (2, 3, 5), (3, 2, 4, 5), (1, 3, 3, 3), (2, 2, 2, 3, 2)]:
    batch_norm(shape, training=True)
    batch_norm(shape, training=False)
batch_norm((5, 4), training=True, weight=False, bias=False)
batch_norm((2, 3, 4, 4), training=True, stats=False)
batch_norm((2, 3, 4, 4), training=True, momentum=0.5, eps=1e-3, bias=False)
batch_norm((3, 3, 5), training=False, weight=False, eps=0.1)
for shape, size, alpha, beta, k in [((2, 5, 4, 4), 5, 1e-4, 0.75, 1.0), ((1, 6, 3, 5), 2, 0.5, 0.6, 2.0),
                                    ((2, 3, 7), 3, 1.0, 0.75, 1.0), ((1, 4, 3, 3), 7, 0.3, 1.5, 0.5),
                                    ((2, 3, 2, 3, 3), 3, 0.2, 0.75, 1.0)]:
    family.case("local_response_norm", [randn(*shape) * 2],
                lambda x: F.local_response_norm(x, size, alpha, beta, k),
                options={"size": size, "alpha": alpha, "beta": beta, "k": k})
family.case("dropout", [randn(3, 4)], lambda x: F.dropout(x, 0.5, training=False), options={"p": 0.5, "training": False})
family.case("dropout", [randn(2, 3, 4)], lambda x: F.dropout(x, 0.0, training=True), options={"p": 0.0, "training": True})
family.write()
