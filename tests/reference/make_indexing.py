#!/usr/bin/python3
"""Reference cases of indexing.hpp: gather and scatter_add along every dim (indices with
repeats, smaller than the input, than src), index_select (repeats, 0-D index), where
(broadcasting condition and branches), masked_fill, sort (ascending, descending, any dim),
topk (largest and smallest, k from 1 to the size), cumsum (any dim, 0-d input).
scatter_add with src larger than index is not here: PyTorch 1.13 computes it but cannot
differentiate it (its backward returns index-shaped gradients); xgrad gives zeros to the
unread elements of src (tests/test_ops_indexing.cpp).
Values are distinct where order matters. Conditions and masks are stored as i64 0/1.
Writes indexing.safetensors."""
import torch

from reference import Family, distinct, randn

family = Family("indexing")

for shape, dim, index_shape in [((3, 4), 1, (3, 2)), ((3, 4), 0, (5, 4)), ((2, 3, 4), 2, (2, 3, 6)),
                                ((2, 3, 4), 1, (1, 2, 3)), ((5,), 0, (7,)), ((2, 5), -1, (2, 5))]:
    index = torch.randint(0, shape[dim], index_shape)
    family.case("gather", [randn(*shape), index], lambda x, i: torch.gather(x, dim, i), options={"dim": dim})
for shape, dim, index_shape, src_shape in [((3, 4), 1, (3, 2), (3, 2)), ((3, 4), 0, (5, 4), (5, 4)),
                                           ((2, 3, 4), 2, (2, 3, 6), (2, 3, 6)), ((4, 3), 0, (2, 3), (2, 3)),
                                           ((6,), 0, (9,), (9,))]:
    index = torch.randint(0, shape[dim], index_shape)
    family.case("scatter_add", [randn(*shape), index, randn(*src_shape)],
                lambda x, i, s: torch.scatter_add(x, dim, i, s), options={"dim": dim})
for shape, dim, index in [((3, 4), 1, [3, 0, 3]), ((4, 2), 0, [1, 1, 2, 0, 3]), ((2, 3, 4), -1, [0]),
                          ((5,), 0, [4, 0])]:
    family.case("index_select", [randn(*shape), torch.tensor(index)], lambda x, i: torch.index_select(x, dim, i),
                options={"dim": dim})
family.case("index_select", [randn(3, 2), torch.tensor(1)], lambda x, i: torch.index_select(x, 0, i),
            options={"dim": 0})
for c, a, b in [((3, 4), (3, 4), (3, 4)), ((4,), (3, 4), (3, 1)), ((3, 1), (), (3, 4)), ((2, 1, 3), (1, 4, 3), (3,))]:
    family.case("where", [torch.rand(*c) > 0.5, randn(*a), randn(*b)], torch.where)
for shape, mask_shape, value in [((3, 4), (3, 4), 2.5), ((3, 4), (4,), -1.0), ((2, 3, 2), (3, 1), 0.0)]:
    family.case("masked_fill", [randn(*shape), torch.rand(*mask_shape) > 0.5], lambda x, m: x.masked_fill(m, value),
                options={"value": value})
for shape, dim, descending in [((5,), 0, False), ((3, 4), 1, True), ((3, 4), 0, False), ((2, 3, 4), 1, True),
                               ((1, 6), -1, False)]:
    family.case("sort", [distinct(*shape)], lambda x: tuple(torch.sort(x, dim, descending)),
                options={"dim": dim, "descending": descending})
for shape, k, dim, largest in [((6,), 3, 0, True), ((3, 5), 1, 1, True), ((3, 5), 5, 1, False),
                               ((4, 3), 2, 0, False), ((2, 3, 4), 2, -1, True)]:
    family.case("topk", [distinct(*shape)], lambda x: tuple(torch.topk(x, k, dim, largest)),
                options={"k": k, "dim": dim, "largest": largest})
for shape, dim in [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2), ((), 0)]:
    family.case("cumsum", [randn(*shape)], lambda x: torch.cumsum(x, dim), options={"dim": dim})
family.write()
