#!/usr/bin/python3
"""Reference cases of linalg.hpp: matmul for 1-D, 2-D and batched operands with NumPy
broadcasting of the batch dims; linear with and without bias over [in], [N, in] and
[N, T, in] inputs. Writes linalg.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("linalg")
for a, b in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((1, 5), (5, 1)),
             ((2, 3, 4), (4, 2)), ((3,), (2, 3, 4)), ((2, 1, 3, 4), (3, 4, 5)), ((4, 2, 3), (4, 3, 2)),
             ((7, 9), (9, 11)), ((2, 3, 4), (4,))]:
    family.case("matmul", [randn(*a), randn(*b)], torch.matmul)
for x, out, bias in [((4,), 3, True), ((2, 4), 3, True), ((2, 4), 3, False), ((1, 7), 5, True), ((2, 3, 4), 6, True),
                     ((3, 2, 5), 1, False), ((5, 9), 11, True), ((1, 1), 1, True), ((6, 16), 10, True)]:
    inputs = [randn(*x), randn(out, x[-1])] + ([randn(out)] if bias else [])
    family.case("linear", inputs, lambda x, w, b=None: F.linear(x, w, b), options={"bias": bias})
family.write()
