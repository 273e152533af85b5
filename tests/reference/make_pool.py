#!/usr/bin/python3
"""Reference cases of pooling.hpp: max / avg pooling 1-3-D over kernels, strides, padding,
dilation, ceil_mode (including the clipped-window cases PyTorch accepts), count_include_pad;
max pooling's indices; adaptive avg pooling 1-3-D and adaptive max 2-D with uneven windows;
global average pooling; divisor_override; adaptive max pooling 1-3-D; inputs without the
batch dim; max_unpool 1-3-D (with output_size) and lp_pool 1-D and 2-D. Values are distinct (no ties), so max pooling's gradient is unique.
Writes pool.safetensors."""
import torch.nn.functional as F

from reference import Family, distinct, randn

family = Family("pool")
MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
ADAPTIVE_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def max_pool(d, shape, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, indices=False):
    options = {"kernel": kernel, "stride": stride if stride is not None else [], "padding": padding,
               "dilation": dilation, "ceil_mode": ceil_mode}
    name = f"max_pool{d}d" + ("_with_indices" if indices else "")
    family.case(name, [distinct(*shape)],
                lambda x: MAX[d](x, kernel, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=indices),
                options=options)


def avg_pool(d, shape, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor=None):
    options = {"kernel": kernel, "stride": stride if stride is not None else [], "padding": padding,
               "ceil_mode": ceil_mode, "count_include_pad": count_include_pad, "divisor_override": divisor}
    extra = {} if d == 1 else {"divisor_override": divisor}  # avg_pool1d has no divisor_override
    family.case(f"avg_pool{d}d", [distinct(*shape)],
                lambda x: AVG[d](x, kernel, stride, padding, ceil_mode, count_include_pad, **extra), options=options)


max_pool(1, (2, 3, 9), 3, 2)
max_pool(1, (1, 2, 10), 4, 3, padding=2, ceil_mode=True)
max_pool(1, (2, 2, 11), 3, 1, dilation=2, indices=True)
max_pool(2, (2, 3, 8, 8), 2)
max_pool(2, (1, 2, 9, 7), 3, 2, padding=1, indices=True)
max_pool(2, (2, 2, 7, 10), (3, 2), (2, 3), padding=(1, 0), ceil_mode=True)
max_pool(2, (1, 3, 9, 9), 3, 2, dilation=2, padding=1)
max_pool(2, (1, 1, 1, 1), 2, 3, ceil_mode=True)  # one clipped window, as PyTorch returns
max_pool(2, (2, 1, 5, 5), 3, 3, ceil_mode=True, indices=True)
max_pool(3, (1, 2, 5, 6, 5), 2, indices=True)
max_pool(3, (2, 1, 5, 5, 7), (3, 2, 3), (2, 2, 1), padding=(1, 1, 0), ceil_mode=True)
avg_pool(1, (2, 3, 9), 3, 2)
avg_pool(1, (1, 2, 10), 4, 3, padding=2, ceil_mode=True, count_include_pad=False)
avg_pool(2, (2, 3, 8, 8), 2)
avg_pool(2, (1, 2, 9, 7), 3, 2, padding=1)
avg_pool(2, (1, 2, 9, 7), 3, 2, padding=1, count_include_pad=False)
avg_pool(2, (2, 2, 7, 10), (3, 2), (2, 3), padding=(1, 0), ceil_mode=True)
avg_pool(2, (2, 2, 7, 10), (3, 2), (2, 3), padding=(1, 1), ceil_mode=True, count_include_pad=False)
avg_pool(2, (1, 1, 1, 1), 2, 3, ceil_mode=True)
avg_pool(3, (1, 2, 5, 6, 5), 2)
avg_pool(3, (2, 1, 5, 5, 7), (3, 2, 3), (2, 2, 1), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False)
for d, shape, size in [(1, (2, 3, 10), [4]), (1, (1, 2, 7), [3]), (2, (2, 3, 7, 9), [3, 4]),
                       (2, (1, 2, 5, 5), [5, 2]), (2, (2, 2, 6, 6), [1, 1]), (3, (1, 2, 5, 6, 7), [2, 3, 4])]:
    family.case(f"adaptive_avg_pool{d}d", [distinct(*shape)], lambda x: ADAPTIVE_AVG[d](x, size),
                options={"output_size": size})
for shape, size in [((2, 3, 7, 9), [3, 4]), ((1, 2, 5, 5), [5, 2]), ((2, 2, 6, 6), [1, 1]), ((1, 1, 10, 3), [4, 3])]:
    family.case("adaptive_max_pool2d", [distinct(*shape)], lambda x: F.adaptive_max_pool2d(x, size),
                options={"output_size": size})
    family.case("adaptive_max_pool2d_with_indices", [distinct(*shape)],
                lambda x: F.adaptive_max_pool2d(x, size, return_indices=True), options={"output_size": size})
for shape in [(2, 3, 5, 4), (1, 4, 3), (2, 2, 3, 2, 3)]:
    family.case("global_avg_pool", [distinct(*shape)],
                lambda x: x.mean(dim=tuple(range(2, x.dim()))))
# divisor_override, adaptive max pooling in 1-D and 3-D, inputs without the batch dim
avg_pool(2, (2, 2, 7, 6), 3, 2, padding=1, divisor=4)
avg_pool(2, (1, 2, 5, 5), 2, 2, ceil_mode=True, divisor=3, count_include_pad=False)
avg_pool(3, (1, 2, 4, 5, 4), 2, divisor=5)
for d, shape, size in [(1, (2, 3, 10), [4]), (1, (1, 2, 7), [3]), (3, (1, 2, 5, 6, 7), [2, 3, 4]), (3, (2, 1, 4, 4, 4), [4, 1, 2])]:
    ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 3: F.adaptive_max_pool3d}
    family.case(f"adaptive_max_pool{d}d", [distinct(*shape)], lambda x: ADAPTIVE_MAX[d](x, size),
                options={"output_size": size})
    family.case(f"adaptive_max_pool{d}d_with_indices", [distinct(*shape)],
                lambda x: ADAPTIVE_MAX[d](x, size, return_indices=True), options={"output_size": size})
max_pool(2, (3, 7, 7), 3, 2, padding=1)
max_pool(1, (2, 9), 3, 2, indices=True)
avg_pool(2, (2, 6, 5), 2, 1, padding=1, count_include_pad=False)
avg_pool(3, (2, 4, 4, 4), 2)
family.case("adaptive_avg_pool2d", [distinct(3, 5, 7)], lambda x: F.adaptive_avg_pool2d(x, [2, 3]),
            options={"output_size": [2, 3]})
family.case("adaptive_max_pool2d_with_indices", [distinct(2, 6, 5)],
            lambda x: F.adaptive_max_pool2d(x, [3, 2], return_indices=True), options={"output_size": [3, 2]})
# max_unpool (indices from max pooling with non-overlapping windows, so none repeats) and lp_pool
UNPOOL = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}
for d, shape, kernel, stride, padding, output_size in [(1, (2, 3, 9), 2, 2, 0, None), (1, (1, 2, 10), 3, 3, 1, [11]),
                                                       (2, (2, 2, 6, 7), 2, 2, 0, [6, 7]), (2, (1, 3, 7, 7), 3, 3, 1, [8, 7]),
                                                       (2, (2, 4, 5), 2, 2, 0, [5, 5]), (3, (1, 2, 4, 4, 6), 2, 2, 0, None)]:
    _, indices = MAX[d](distinct(*shape), kernel, stride, padding, return_indices=True)
    values = randn(*indices.shape)
    family.case(f"max_unpool{d}d", [values, indices],
                lambda v, i: UNPOOL[d](v, i, kernel, stride, padding, output_size),
                options={"kernel": kernel, "stride": stride, "padding": padding, "output_size": output_size or []})
LP = {1: F.lp_pool1d, 2: F.lp_pool2d}
for d, shape, p, kernel, stride, ceil in [(1, (2, 3, 9), 2.0, 3, 2, False), (1, (1, 2, 8), 3.0, 2, None, True),
                                          (2, (2, 2, 6, 7), 2.0, 2, None, False), (2, (1, 3, 7, 7), 1.5, 3, 2, True),
                                          (2, (2, 5, 5), 4.0, (2, 3), (1, 2), False)]:
    family.case(f"lp_pool{d}d", [distinct(*shape).abs() + 0.1], lambda x: LP[d](x, p, kernel, stride, ceil),
                options={"norm_type": p, "kernel": kernel, "stride": stride if stride is not None else [],
                         "ceil_mode": ceil})
family.write()
