#!/usr/bin/python3
"""Reference cases of reduction.hpp: sum, mean, max, min over everything; sum, mean, amax,
amin over dims (negative dims, several dims, keepdim); max and min along a dim (values and
indices); argmax, argmin; logsumexp (logits of 1e3, -inf entries); norm for p = 2, 1, 3,
0.5, inf, -inf, 0 over all dims or some. max, min, amax and amin read distinct values (with
ties their gradient is split evenly, or goes to one element along a dim).
Writes reduction.safetensors."""
import torch

from reference import Family, distinct, randn

family = Family("reduction")
for shape in [(5,), (2, 3), (2, 3, 4), (1, 1)]:
    family.case("sum", [randn(*shape)], torch.sum)
    family.case("mean", [randn(*shape)], torch.mean)
    family.case("max", [distinct(*shape)], torch.max)
    family.case("min", [distinct(*shape)], torch.min)
for shape, dims, keep in [((2, 3), [1], False), ((2, 3, 4), [0, 2], True), ((3, 4, 2), [-1], False),
                          ((2, 3, 4), [1, -1], False), ((5,), [0], True), ((2, 1, 3), [1], False)]:
    family.case("sum_dims", [randn(*shape)], lambda x: x.sum(dims, keepdim=keep), options={"dims": dims, "keepdim": keep})
    family.case("mean_dims", [randn(*shape)], lambda x: x.mean(dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
    family.case("amax", [distinct(*shape)], lambda x: torch.amax(x, dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
    family.case("amin", [distinct(*shape)], lambda x: torch.amin(x, dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
    family.case("logsumexp", [randn(*shape)], lambda x: torch.logsumexp(x, dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
for shape, dim, keep in [((2, 5), 1, False), ((3, 4, 2), 0, True), ((2, 3, 4), -1, False)]:
    family.case("argmax", [distinct(*shape)], lambda x: torch.argmax(x, dim, keep), options={"dim": dim, "keepdim": keep})
    family.case("argmin", [distinct(*shape)], lambda x: torch.argmin(x, dim, keep), options={"dim": dim, "keepdim": keep})
for shape, dim, keep in [((2, 5), 1, False), ((3, 4, 2), 0, True), ((2, 3, 4), -1, False), ((5,), 0, False),
                         ((1, 3), 0, False)]:
    family.case("max_dim", [distinct(*shape)], lambda x: tuple(torch.max(x, dim, keep)),
                options={"dim": dim, "keepdim": keep})
    family.case("min_dim", [distinct(*shape)], lambda x: tuple(torch.min(x, dim, keep)),
                options={"dim": dim, "keepdim": keep})
big = randn(3, 4) * 1000
family.case("logsumexp", [big], lambda x: torch.logsumexp(x, [1]), options={"dims": [1], "keepdim": False})
with_inf = randn(2, 4)
with_inf[0, 1] = float("-inf")
family.case("logsumexp", [with_inf], lambda x: torch.logsumexp(x, [1]), options={"dims": [1], "keepdim": False})
for shape, p, dims, keep in [((2, 3), 2.0, [], False), ((2, 3, 4), 2.0, [1], True), ((3, 4), 1.0, [0], False),
                             ((3, 4), 3.0, [-1], False), ((2, 5), 0.5, [1], False), ((2, 3, 2), float("inf"), [0, 2], False),
                             ((4, 3), float("-inf"), [1], True), ((2, 3), 0.0, [], False), ((6,), 2.0, [0], False),
                             ((2, 2, 3), 1.5, [], True)]:
    x = distinct(*shape) + 0.01  # no zeros (|x|^(p-2)) and no ties (inf norms)
    family.case("norm", [x], lambda x: torch.linalg.vector_norm(x, p, dims or None, keep),
                options={"p": p if abs(p) != float("inf") else ("inf" if p > 0 else "-inf"), "dims": dims,
                         "keepdim": keep})
family.write()
