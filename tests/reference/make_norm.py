#!/usr/bin/python3
"""Reference cases of normalization.hpp: batch_norm in training (batch statistics; the
running statistics it updates are outputs too) and evaluation, with and without weight,
bias and running statistics, over [N, C], [N, C, L], [N, C, H, W], [N, C, D, H, W];
local_response_norm over sizes (odd, even, larger than C) and constants; dropout in its
deterministic cases (evaluation, p = 0); group_norm over group counts (1, some, C) and
layer_norm over one to all trailing dims, with and without weight and bias (PyTorch 1.13's
group_norm backward fails with a bias but no weight, "tensor does not have a device", and
layer_norm's double backward, "Expected a proper Tensor but got None": those cases pass
PyTorch a weight of ones, the same function), over 1-D to
5-D inputs and channels long enough for the SIMD loops; instance_norm with and without
input statistics and running statistics (updated with the batch mean of the per-instance
ones: outputs too); and nn.BatchNorm1d/2d with momentum None (a cumulative moving average)
run on two earlier batches before the one whose output and statistics are compared.
Writes norm.safetensors."""
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


def optional_affine(shape, weight, bias):
    return ([randn(*shape)] if weight else []) + ([randn(*shape)] if bias else [])


def split_affine(rest, weight, bias):
    rest = list(rest)
    w = rest.pop(0) if weight else None
    b = rest.pop(0) if bias else None
    return w, b


for shape, groups, weight, bias, eps in [((2, 4, 3), 2, True, True, 1e-5), ((1, 6, 2, 3), 3, True, False, 1e-5),
                                         ((3, 4), 2, False, True, 1e-5), ((2, 6, 2, 2, 2), 6, False, False, 1e-5),
                                         ((1, 4, 5), 1, True, True, 1e-3), ((2, 4, 17), 2, True, True, 1e-5),
                                         ((3, 3, 4, 5), 3, True, True, 0.1)]:
    def group_norm(x, *rest):
        w, b = split_affine(rest, weight, bias)
        if w is None and b is not None:  # PyTorch 1.13's backward fails for a bias without a weight
            w = torch.ones(x.shape[1], dtype=x.dtype)
        return F.group_norm(x, groups, w, b, eps=eps)

    family.case("group_norm", [randn(*shape) * 2 + 0.5] + optional_affine((shape[1],), weight, bias), group_norm,
                options={"num_groups": groups, "eps": eps, "weight": weight, "bias": bias})

for shape, normalized, weight, bias, eps in [((3, 5), [5], True, True, 1e-5), ((2, 3, 4), [3, 4], True, False, 1e-5),
                                             ((4,), [4], False, False, 1e-5), ((2, 2, 3, 2), [2, 3, 2], False, True, 1e-5),
                                             ((1, 3, 7), [7], True, True, 1e-3), ((2, 40), [40], True, True, 1e-5),
                                             ((2, 1, 2, 3, 2), [3, 2], True, True, 0.1)]:
    def layer_norm(x, *rest):
        w, b = split_affine(rest, weight, bias)
        if w is None and b is not None:  # PyTorch 1.13's double backward fails for a bias without a weight
            w = torch.ones(normalized, dtype=x.dtype)
        return F.layer_norm(x, normalized, w, b, eps=eps)

    family.case("layer_norm", [randn(*shape) * 2 - 0.5] + optional_affine(normalized, weight, bias), layer_norm,
                options={"normalized_shape": normalized, "eps": eps, "weight": weight, "bias": bias})


def instance_norm(shape, use_input_stats=True, weight=True, bias=True, stats=True, momentum=0.1, eps=1e-5):
    c = shape[1]
    inputs = [randn(*shape) * 2 + 0.5]
    if stats:
        inputs += [randn(c) * 0.3, torch.rand(c) + 0.5]
    inputs += optional_affine((c,), weight, bias)

    def fn(x, *rest):
        rest = list(rest)
        rm, rv = (rest.pop(0), rest.pop(0)) if stats else (None, None)
        w, b = split_affine(rest, weight, bias)
        out = F.instance_norm(x, rm, rv, w, b, use_input_stats=use_input_stats, momentum=momentum, eps=eps)
        return (out, rm.clone(), rv.clone()) if stats else out

    # As batch_norm: PyTorch 1.13 cannot differentiate it twice without input statistics and a weight.
    family.case("instance_norm", inputs, fn, nondiff=(1, 2) if stats else (), second_order=use_input_stats or weight,
                options={"use_input_stats": use_input_stats, "momentum": momentum, "eps": eps, "running": stats,
                         "weight": weight, "bias": bias})


instance_norm((2, 3, 4), momentum=0.2)
instance_norm((1, 2, 3, 3), stats=False, bias=False)
instance_norm((3, 2, 5), weight=False, bias=False)
instance_norm((2, 2, 2, 3, 2))
instance_norm((1, 3, 17), stats=False, eps=1e-3)
instance_norm((2, 3, 4), use_input_stats=False)
instance_norm((2, 2, 3, 3), use_input_stats=False, weight=False, eps=1e-3)


def batch_norm_module_momentum_none(shape):
    """nn.BatchNorm{1,2}d(C, momentum=None) after two batches: the third is weighed 1/3."""
    module = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d}[len(shape)]

    def fn(x1, x2, x3):
        bn = module(shape[1], momentum=None).double()
        with torch.no_grad():
            bn(x1)
            bn(x2)
        out = bn(x3)
        return out, bn.running_mean.clone(), bn.running_var.clone()

    family.case("batch_norm_momentum_none", [randn(*shape) * 2 + 0.5 for _ in range(3)], fn, nondiff=(0, 1),
                options={})


batch_norm_module_momentum_none((4, 3))
batch_norm_module_momentum_none((2, 3, 5))
batch_norm_module_momentum_none((2, 2, 3, 3))
family.write()
