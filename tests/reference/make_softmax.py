#!/usr/bin/python3
"""Reference cases of softmax.hpp: softmax and log_softmax over every dim (negative ones
too), with logits of 1e3 and beyond, batch 1 and > 1. Writes softmax.safetensors."""
import torch

from reference import Family, randn

family = Family("softmax")
for shape, dim, scale in [((5,), 0, 1), ((2, 3), 1, 1), ((2, 3), 0, 1), ((2, 3, 4), -1, 1), ((2, 3, 4), 1, 3),
                          ((1, 10), 1, 1), ((3, 4), 1, 1000), ((2, 2, 2, 2), 2, 1), ((4, 7), -2, 10), ((1, 1), 1, 1)]:
    family.case("softmax", [randn(*shape, scale=scale)], lambda x: torch.softmax(x, dim), options={"dim": dim})
    family.case("log_softmax", [randn(*shape, scale=scale)], lambda x: torch.log_softmax(x, dim), options={"dim": dim})
family.write()
