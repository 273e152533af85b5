#!/usr/bin/python3
"""Reference cases of math.hpp and arithmetic.hpp: exp, log, sqrt, abs, clamp (either bound),
neg, pow by a scalar and by a tensor, the four binary operators with NumPy broadcasting
(scalars, size-1 dims, rank differences), their scalar forms, rsub, rdiv, sum_to. Points
keep off kinks (abs at 0, clamp's bounds). Writes elementwise.safetensors."""
import torch

from reference import Family, randn

family = Family("elementwise")
SHAPES = [(5,), (2, 3), (1, 3, 4), ()]

for shape in SHAPES:
    family.case("exp", [randn(*shape)], torch.exp)
    family.case("log", [randn(*shape).abs() + 0.2], torch.log)
    family.case("sqrt", [randn(*shape).abs() + 0.2], torch.sqrt)
    family.case("abs", [randn(*shape, away=0.1)], torch.abs)
    family.case("neg", [randn(*shape)], torch.neg)
for shape, lo, hi in [((7,), -0.5, 0.5), ((2, 3), None, 0.3), ((3, 2, 2), -0.2, None)]:
    x = randn(*shape)
    x = torch.where(((x - (lo or 0)).abs() < 0.05) | ((x - (hi or 0)).abs() < 0.05), x + 0.1, x)
    family.case("clamp", [x], lambda x: torch.clamp(x, lo, hi), options={"min": lo, "max": hi})
for e in [2.0, 3.0, -1.5, 0.5, 0.0]:
    family.case("pow_scalar", [randn(2, 3).abs() + 0.3], lambda x: torch.pow(x, e), options={"exponent": e})
BROADCAST = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((2, 3), ()), ((4, 1, 3), (2, 1)), ((), (2, 2))]
for a, b in BROADCAST:
    family.case("add", [randn(*a), randn(*b)], torch.add)
    family.case("sub", [randn(*a), randn(*b)], torch.sub)
    family.case("mul", [randn(*a), randn(*b)], torch.mul)
    family.case("div", [randn(*a), randn(*b, away=0.5)], torch.div)
    family.case("pow", [randn(*a).abs() + 0.5, randn(*b)], torch.pow)
for s in [2.5, -1.0]:
    family.case("add_scalar", [randn(2, 3)], lambda x: x + s, options={"value": s})
    family.case("sub_scalar", [randn(2, 3)], lambda x: x - s, options={"value": s})
    family.case("mul_scalar", [randn(2, 3)], lambda x: x * s, options={"value": s})
    family.case("div_scalar", [randn(2, 3)], lambda x: x / s, options={"value": s})
    family.case("rsub", [randn(2, 3)], lambda x: s - x, options={"value": s})
    family.case("rdiv", [randn(2, 3, away=0.5)], lambda x: s / x, options={"value": s})
for shape, to in [((2, 3), (1, 3)), ((4, 2, 3), (2, 1)), ((3, 4), ()), ((2, 3), (2, 3))]:
    family.case("sum_to", [randn(*shape)], lambda x: x.sum_to_size(to) if to else x.sum(), options={"shape": list(to)})
family.write()
