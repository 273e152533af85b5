#!/usr/bin/python3
"""Reference cases of activation.hpp: relu, leaky_relu, sigmoid, tanh, gelu (both forms) and
issue #16's elu, selu, celu, silu, hardswish, hardsigmoid, mish, softplus, relu6, hardtanh,
log_sigmoid and prelu, over every option (negative alphas and betas included), shapes of
batch 1 and > 1, odd sizes and 0-d, and points out to |x| ~ 10 (softplus on both sides of
its threshold). Points keep 0.1 off every kink.

Deliberate difference: PyTorch's float64 hardsigmoid backward multiplies by float(1/6) =
0.1666666716 (its kernel's constant is 1.0f / 6.0f), xgrad by 1/6; the hardsigmoid cases
take their reference from clamp(x / 6 + 1/2, 0, 1), the same function with the exact slope
(tests/test_ops_activation.cpp pins both numbers). Writes activation.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("activation")
SHAPES = [(5,), (2, 3), (1, 3, 4), ()]


def off(x, *kinks, gap=0.1):
    """x with every element within `gap` of a kink moved `gap` past it, keeping its side."""
    for k in kinks:
        near = (x - k).abs() < gap
        x = torch.where(near, torch.where(x >= k, torch.full_like(x, k + gap), torch.full_like(x, k - gap)), x)
    return x


for shape in SHAPES:
    family.case("relu", [randn(*shape, away=0.1)], torch.relu)
    family.case("sigmoid", [randn(*shape, scale=3)], torch.sigmoid)
    family.case("tanh", [randn(*shape, scale=2)], torch.tanh)
    family.case("selu", [randn(*shape, away=0.1, scale=2)], F.selu)
    family.case("silu", [randn(*shape, scale=3)], F.silu)
    family.case("mish", [randn(*shape, scale=3)], F.mish)
    family.case("log_sigmoid", [randn(*shape, scale=4)], F.logsigmoid)
    family.case("hardswish", [off(randn(*shape, scale=3), -3, 3)], F.hardswish)
    family.case("hardsigmoid", [off(randn(*shape, scale=3), -3, 3)], lambda x: torch.clamp(x / 6 + 0.5, 0, 1))
    family.case("relu6", [off(randn(*shape, scale=4) + 2, 0, 6)], F.relu6)
for slope in [0.01, 0.2, -1.5]:
    family.case("leaky_relu", [randn(2, 3, away=0.1)], lambda x: F.leaky_relu(x, slope), options={"negative_slope": slope})
for approximate in ["none", "tanh"]:
    for shape in [(7,), (2, 3, 2)]:
        family.case("gelu", [randn(*shape, scale=2)], lambda x: F.gelu(x, approximate=approximate),
                    options={"approximate": approximate})
for alpha in [1.0, 0.5, -2.0]:
    for shape in [(5,), (2, 3, 2)]:
        family.case("elu", [randn(*shape, away=0.1, scale=2)], lambda x: F.elu(x, alpha), options={"alpha": alpha})
for alpha in [1.0, 2.0, -0.5]:
    for shape in [(5,), (1, 3, 4)]:
        family.case("celu", [randn(*shape, away=0.1, scale=2)], lambda x: F.celu(x, alpha), options={"alpha": alpha})
# softplus: beta x crosses the threshold in the last three (the function jumps there, so
# points keep off threshold / beta).
for beta, threshold, scale in [(1.0, 20.0, 3), (2.0, 20.0, 3), (0.5, 20.0, 3), (-1.0, 20.0, 3), (1.0, 2.0, 4),
                               (2.0, 5.0, 3), (-0.5, 1.0, 5)]:
    x = off(randn(2, 5, scale=scale), threshold / beta)
    family.case("softplus", [x], lambda x: F.softplus(x, beta, threshold), options={"beta": beta, "threshold": threshold})
for lo, hi, shape in [(-1.0, 1.0, (5,)), (-1.0, 1.0, (2, 3)), (-0.5, 2.0, (1, 3, 4)), (0.0, 0.5, (2, 4)),
                      (-3.0, -1.0, (6,))]:
    x = off(randn(*shape, scale=2), lo, hi)
    family.case("hardtanh", [x], lambda x: F.hardtanh(x, lo, hi), options={"min_val": lo, "max_val": hi})
# prelu: one weight (1-D or 0-d) or one per channel of dim 1; inputs of 0 to 4 dims.
for xs, ws in [((5,), (1,)), ((), (1,)), ((2, 3), (3,)), ((2, 3), (1,)), ((1, 3, 4), (3,)), ((2, 3, 2, 3), (3,)),
               ((2, 4, 3), ()), ((3, 1, 2), (1,))]:
    family.case("prelu", [randn(*xs, away=0.1), randn(*ws, scale=0.5)], F.prelu)
family.write()
