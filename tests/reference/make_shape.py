#!/usr/bin/python3
"""Reference cases of shape.hpp: reshape (with -1), view, flatten, transpose, permute, squeeze
(all and one dim), unsqueeze, expand (with -1), narrow, slice (with steps), select (negative
index), contiguous, cat, stack, constant pad (several dims, negative pads that crop), pad in
modes reflect, replicate and circular over 1-3 trailing dims.
Writes shape.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("shape")
for shape, to in [((2, 3), [3, 2]), ((2, 3, 4), [-1, 4]), ((6,), [1, 2, 3]), ((), [1])]:
    family.case("reshape", [randn(*shape)], lambda x: x.reshape(to), options={"shape": to})
    family.case("view", [randn(*shape)], lambda x: x.view(to), options={"shape": to})
for shape, start, end in [((2, 3, 4), 0, -1), ((2, 3, 4, 5), 1, 2), ((3,), 0, 0)]:
    family.case("flatten", [randn(*shape)], lambda x: torch.flatten(x, start, end), options={"start": start, "end": end})
for shape, a, b in [((2, 3), 0, 1), ((2, 3, 4), -1, 0)]:
    family.case("transpose", [randn(*shape)], lambda x: x.transpose(a, b), options={"dims": [a, b]})
for shape, dims in [((2, 3, 4), [2, 0, 1]), ((1, 2, 3, 2), [0, 3, 1, 2])]:
    family.case("permute", [randn(*shape)], lambda x: x.permute(dims), options={"dims": dims})
family.case("squeeze", [randn(1, 3, 1, 2)], torch.squeeze)
for shape, d in [((1, 3, 1, 2), 2), ((2, 3), 0)]:
    family.case("squeeze_dim", [randn(*shape)], lambda x: x.squeeze(d), options={"dim": d})
for shape, d in [((2, 3), 0), ((2, 3), -1), ((), 0)]:
    family.case("unsqueeze", [randn(*shape)], lambda x: x.unsqueeze(d), options={"dim": d})
for shape, to in [((3, 1), [3, 4]), ((1, 2), [2, 3, -1]), ((2,), [2, 2])]:
    family.case("expand", [randn(*shape)], lambda x: x.expand(to), options={"shape": to})
for shape, d, s, n in [((5, 3), 0, 1, 3), ((2, 6), -1, 4, 2)]:
    family.case("narrow", [randn(*shape)], lambda x: x.narrow(d, s, n), options={"dim": d, "start": s, "length": n})
for shape, d, s, e, st in [((7, 3), 0, 1, 6, 2), ((2, 9), 1, 0, 9, 3), ((4, 4), 1, 2, 4, 1)]:
    family.case("slice", [randn(*shape)], lambda x: x[(slice(None),) * (d % x.dim()) + (slice(s, e, st),)],
                options={"dim": d, "start": s, "end": e, "step": st})
for shape, d, i in [((3, 4), 0, 2), ((2, 3, 4), 2, -1)]:
    family.case("select", [randn(*shape)], lambda x: x.select(d, i), options={"dim": d, "index": i})
family.case("contiguous", [randn(2, 3)], lambda x: x.t().contiguous())
for shapes, d in [([(2, 3), (1, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1), ([(3,), (4,)], -1)]:
    family.case("cat", [randn(*s) for s in shapes], lambda *xs: torch.cat(xs, d), options={"dim": d})
for shapes, d in [([(2, 3), (2, 3)], 0), ([(3,), (3,), (3,)], 1), ([(2, 2), (2, 2)], -1)]:
    family.case("stack", [randn(*s) for s in shapes], lambda *xs: torch.stack(xs, d), options={"dim": d})
for shape, pads, value in [((2, 3), [1, 2], 0.0), ((1, 2, 3, 4), [1, 0, 2, 1], 0.5), ((2, 5), [-1, 2], 0.0),
                           ((2, 2, 3), [0, 1, 1, 1, 2, 0], -1.0)]:
    family.case("pad", [randn(*shape)], lambda x: F.pad(x, pads, value=value), options={"pads": pads, "value": value})
for shape, pads, mode in [((2, 3, 5), [2, 1], "reflect"), ((1, 2, 4, 5), [1, 2, 3, 0], "reflect"),
                          ((1, 1, 3, 3, 4), [1, 1, 2, 2, 0, 1], "reflect"), ((2, 3, 5), [3, 0], "replicate"),
                          ((1, 2, 3, 4), [2, 2, 1, 4], "replicate"), ((1, 2, 2, 3, 2), [1, 0, 0, 2, 3, 1], "replicate"),
                          ((2, 2, 5), [2, 5], "circular"), ((1, 2, 4, 3), [1, 3, 2, 1], "circular"),
                          ((3, 4), [1, 2], "reflect"), ((1, 2, 3, 3), [0, 2, 1, 1], "circular")]:
    family.case("pad_mode", [randn(*shape)], lambda x: F.pad(x, pads, mode=mode), options={"pads": pads, "mode": mode})
family.write()
