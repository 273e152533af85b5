#!/usr/bin/python3
"""Reference cases of reduction.hpp: sum, mean, max, min over everything and over dims
(negative dims, several dims, keepdim), as torch.sum / mean / amax / amin; argmax, argmin.
max and min read distinct values (their gradient with ties is split evenly, as amax's).
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
    family.case("max_dims", [distinct(*shape)], lambda x: torch.amax(x, dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
    family.case("min_dims", [distinct(*shape)], lambda x: torch.amin(x, dims, keepdim=keep),
                options={"dims": dims, "keepdim": keep})
for shape, dim, keep in [((2, 5), 1, False), ((3, 4, 2), 0, True), ((2, 3, 4), -1, False)]:
    family.case("argmax", [distinct(*shape)], lambda x: torch.argmax(x, dim, keep), options={"dim": dim, "keepdim": keep})
    family.case("argmin", [distinct(*shape)], lambda x: torch.argmin(x, dim, keep), options={"dim": dim, "keepdim": keep})
family.write()
