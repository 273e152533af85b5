#!/usr/bin/python3
"""Reference cases of loss.hpp: nll_loss and cross_entropy over [N, C], [N, C, d...] and
unbatched [C] inputs with class weights, ignore_index (some targets ignored, and all of
them: a NaN mean) and label smoothing, cross_entropy with class-probability targets (with
weight and smoothing); mse_loss, l1_loss, smooth_l1_loss (beta 1, 0.5, 0), huber_loss
(delta 1, 0.4, 2) with equal and broadcast shapes; binary_cross_entropy with and without
weight; binary_cross_entropy_with_logits with weight, pos_weight over the last dim and
logits of +-1000; kl_div with every reduction (batchmean too) and log_target. Every
reduction throughout. Class weights and pos_weight get no gradient (PyTorch refuses one);
a soft-target weight does. Class-index targets are i64 inputs. Inputs of
binary_cross_entropy stay inside (0, 1) and kl_div's targets positive: at 0 and 1 the
gradients are +-inf or 0 / 0, pinned in tests/test_ops_loss_*.cpp instead.

Where every target is ignored, the mean is NaN and its gradient 0 in both; PyTorch's jvp
and second-order products there are NaN (its double backward recomputes the mean of
nothing) where xgrad's, derived from that zero gradient, are 0: those two cases check
outputs and gradients only. Writes loss.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("loss")
REDUCTIONS = ["none", "sum", "mean"]


def labels(shape, classes, ignore=None, ignore_at=()):
    t = torch.randint(0, classes, shape)
    for i in ignore_at:
        t.view(-1)[i] = ignore
    return t


def class_case(op, shape, reduction, weight=False, ignore_index=-100, ignore_at=(), smoothing=0.0, higher=True):
    classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    inputs = [randn(*shape) * 2, labels(target_shape, classes, ignore_index, ignore_at)]
    if weight:
        inputs.append(torch.rand(classes) + 0.5)
    options = {"reduction": reduction, "ignore_index": ignore_index, "weight": weight}
    if op == "cross_entropy":
        options["label_smoothing"] = smoothing

    def fn(x, t, w=None):
        if op == "nll_loss":
            return F.nll_loss(x, t, weight=w, ignore_index=ignore_index, reduction=reduction)
        return F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                               label_smoothing=smoothing)

    family.case(op, inputs, fn, options=options, nondiff=(2,), second_order=higher, forward=higher)


for reduction in REDUCTIONS:
    class_case("nll_loss", (4, 5), reduction)
    class_case("nll_loss", (3, 4, 2), reduction, weight=True, ignore_at=(1,))
    class_case("nll_loss", (2, 3, 2, 3), reduction, weight=True, ignore_index=1, ignore_at=(0, 4))
    class_case("nll_loss", (5,), reduction, weight=True)
    class_case("cross_entropy", (1, 3), reduction)
    class_case("cross_entropy", (4, 5), reduction, weight=True, smoothing=0.2, ignore_at=(2,))
    class_case("cross_entropy", (2, 3, 4), reduction, smoothing=0.1, ignore_index=0, ignore_at=(3,))
    class_case("cross_entropy", (2, 4, 3, 2), reduction, weight=True, smoothing=1.0)
    class_case("cross_entropy", (6,), reduction, weight=True, smoothing=0.3)
# All targets ignored: a NaN mean, whose gradient is 0 (as PyTorch); see the docstring on higher orders.
class_case("nll_loss", (3, 4), "mean", weight=True, ignore_at=(0, 1, 2), higher=False)
class_case("cross_entropy", (2, 3), "mean", smoothing=0.4, ignore_at=(0, 1), higher=False)


def soft_case(shape, reduction, weight=False, smoothing=0.0):
    classes = shape[0] if len(shape) == 1 else shape[1]
    inputs = [randn(*shape) * 2, torch.softmax(randn(*shape), 0 if len(shape) == 1 else 1)]
    if weight:
        inputs.append(torch.rand(classes) + 0.5)
    family.case("cross_entropy_soft", inputs,
                lambda x, q, w=None: F.cross_entropy(x, q, weight=w, reduction=reduction, label_smoothing=smoothing),
                options={"reduction": reduction, "weight": weight, "label_smoothing": smoothing})


for reduction in REDUCTIONS:
    soft_case((4, 3), reduction)
    soft_case((2, 3, 4), reduction, weight=True, smoothing=0.25)
    soft_case((5,), reduction, weight=True)

REGRESSION = {
    "mse_loss": lambda o: lambda x, y: F.mse_loss(x, y, reduction=o["reduction"]),
    "l1_loss": lambda o: lambda x, y: F.l1_loss(x, y, reduction=o["reduction"]),
    "smooth_l1_loss": lambda o: lambda x, y: F.smooth_l1_loss(x, y, reduction=o["reduction"], beta=o["beta"]),
    "huber_loss": lambda o: lambda x, y: F.huber_loss(x, y, reduction=o["reduction"], delta=o["delta"]),
}
for op, make in REGRESSION.items():
    params = {"smooth_l1_loss": ("beta", [1.0, 0.5, 0.0]), "huber_loss": ("delta", [1.0, 0.4, 2.0])}.get(op)
    for i, reduction in enumerate(REDUCTIONS):
        for x_shape, y_shape in [((3, 4), (3, 4)), ((2, 3), (3,)), ((), ()), ((1, 5), (2, 1))]:
            options = {"reduction": reduction}
            if params:
                options[params[0]] = params[1][(i + len(x_shape)) % 3]
            x, y = randn(*x_shape) * 1.5, randn(*y_shape)
            while (x - y).abs().min() < 0.05:  # off the kinks of l1 and smooth l1 at x == y
                x, y = randn(*x_shape) * 1.5, randn(*y_shape)
            family.case(op, [x, y], make(options), options=options)

for reduction in REDUCTIONS:
    for shape, weight_shape in [((3, 4), None), ((2, 3), (3,)), ((), None), ((2, 3, 2), (3, 1))]:
        inputs = [torch.rand(shape) * 0.9 + 0.05, torch.rand(shape)]
        if weight_shape:
            inputs.append(torch.rand(weight_shape) + 0.5)
        family.case("binary_cross_entropy", inputs,
                    lambda x, y, w=None: F.binary_cross_entropy(x, y, weight=w, reduction=reduction),
                    options={"reduction": reduction, "weight": weight_shape is not None}, nondiff=(2,))

for reduction in REDUCTIONS:
    for shape, weight_shape, pos_shape, scale in [((3, 4), None, None, 2), ((2, 3), (3,), (3,), 3),
                                                  ((4,), None, (4,), 1), ((2, 3, 2), (3, 1), (2,), 2),
                                                  ((2, 3), None, None, 1000)]:
        inputs = [randn(*shape) * scale, torch.rand(shape)]
        if weight_shape:
            inputs.append(torch.rand(weight_shape) + 0.5)
        if pos_shape:
            inputs.append(torch.rand(pos_shape) * 2 + 0.2)

        def fn(x, y, *rest, has_w=weight_shape is not None, has_p=pos_shape is not None):
            rest = list(rest)
            w = rest.pop(0) if has_w else None
            p = rest.pop(0) if has_p else None
            return F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=p, reduction=reduction)

        family.case("binary_cross_entropy_with_logits", inputs, fn, nondiff=(2, 3),
                    options={"reduction": reduction, "weight": weight_shape is not None,
                             "pos_weight": pos_shape is not None})

for reduction in REDUCTIONS + ["batchmean"]:
    for x_shape, y_shape in [((3, 4), (3, 4)), ((2, 3, 2), (3, 2)), ((), ()), ((1, 5), (1, 5))]:
        for log_target in [False, True]:
            x = torch.log_softmax(randn(*x_shape), -1) if x_shape else randn()
            y = randn(*y_shape) if log_target else torch.rand(y_shape) + 0.05
            family.case("kl_div", [x, y],
                        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                        options={"reduction": reduction, "log_target": log_target})
family.write()
