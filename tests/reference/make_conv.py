#!/usr/bin/python3
"""Reference cases of the convolutions (conv.hpp): conv1d/2d/3d and their transposes over
strides, paddings ("same", "valid", per dim), dilations, groups (depthwise included), with
and without bias, batch 1 and > 1, odd sizes, padding modes (reflect, replicate, circular) and
inputs without the batch dim. Writes conv.safetensors."""
import torch
import torch.nn.functional as F

from reference import Family, randn

family = Family("conv")
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
MODULE = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


def conv(d, n, cin, cout, size, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True, f32_tol=None,
         padding_mode="zeros"):
    """n = None: an unbatched input [C, *size]. padding_mode as torch.nn.Conv*d's, through its module."""
    x = randn(cin, *size) if n is None else randn(n, cin, *size)
    w = randn(cout, cin // groups, *kernel) * 0.5
    inputs = [x, w] + ([randn(cout)] if bias else [])
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
               "padding_mode": padding_mode}

    def fn(x, w, b=None):
        if padding_mode == "zeros":
            return CONV[d](x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        module = MODULE[d](cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                           bias=b is not None, padding_mode=padding_mode)
        return module._conv_forward(x, w, b)

    family.case(f"conv{d}d", inputs, fn, options=options, f32_tol=f32_tol)


def transpose(d, n, cin, cout, size, kernel, stride=1, padding=0, output_padding=0, dilation=1, groups=1, bias=True):
    x = randn(cin, *size) if n is None else randn(n, cin, *size)
    w = randn(cin, cout // groups, *kernel) * 0.5
    inputs = [x, w] + ([randn(cout)] if bias else [])
    options = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation,
               "groups": groups}
    family.case(f"conv_transpose{d}d", inputs,
                lambda x, w, b=None: TRANSPOSE[d](x, w, b, stride=stride, padding=padding,
                                                  output_padding=output_padding, groups=groups, dilation=dilation),
                options=options)


# 1-D
conv(1, 2, 3, 4, (9,), (3,))
conv(1, 1, 4, 6, (11,), (5,), stride=2, padding=2, bias=False)
conv(1, 3, 4, 4, (10,), (3,), dilation=2, groups=2)
conv(1, 2, 3, 5, (8,), (4,), padding="same")
conv(1, 2, 3, 5, (7,), (3,), padding="valid", stride=3)
conv(1, 1, 6, 6, (13,), (3,), padding=1, groups=6)
# 2-D: the CIFAR shapes (3x3 stride 1 and 2, 1x1 shortcuts), odd sizes, depthwise, "same"
conv(2, 2, 3, 4, (7, 9), (3, 3), padding=1)
conv(2, 1, 8, 8, (9, 9), (3, 3), padding=1, f32_tol=3e-4)
conv(2, 2, 16, 8, (6, 6), (3, 3), padding=1, bias=False, f32_tol=5e-4)
conv(2, 2, 4, 6, (9, 8), (3, 3), stride=2, padding=1)
conv(2, 3, 4, 8, (5, 7), (1, 1), stride=2, bias=False)
conv(2, 1, 3, 2, (10, 11), (5, 3), stride=(2, 3), padding=(2, 1), dilation=(1, 2))
conv(2, 2, 6, 6, (7, 7), (3, 3), padding=1, groups=6)
conv(2, 2, 6, 4, (8, 7), (3, 2), groups=2, padding="same")
conv(2, 1, 2, 3, (6, 6), (4, 4), padding="same", dilation=1)
conv(2, 2, 3, 3, (11, 9), (3, 3), dilation=3, padding=(3, 2))
conv(2, 1, 1, 1, (4, 4), (4, 4))
conv(2, 4, 5, 3, (3, 3), (2, 2), stride=1, padding=0)
# 3-D, including the depth-1 input with depth padding that a shortcut once got wrong
conv(3, 1, 3, 4, (5, 6, 5), (3, 3, 3), padding=1)
conv(3, 2, 2, 3, (4, 7, 6), (2, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
conv(3, 1, 4, 4, (5, 5, 5), (3, 3, 3), groups=4, dilation=(2, 1, 1), padding=(2, 1, 1))
conv(3, 1, 8, 3, (1, 5, 14), (3, 3, 3), stride=(3, 1, 1), padding=(1, 0, 0))
conv(3, 2, 3, 2, (3, 4, 4), (1, 1, 1), padding="same")
# transposes
transpose(1, 2, 3, 4, (7,), (3,), stride=2, padding=1, output_padding=1)
transpose(1, 1, 4, 2, (6,), (4,), stride=3, bias=False)
transpose(2, 2, 3, 4, (5, 6), (3, 3), stride=2, padding=1, output_padding=1)
transpose(2, 1, 4, 6, (4, 5), (3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)
transpose(2, 2, 4, 4, (5, 5), (4, 4), stride=2, padding=1, groups=4, bias=False)
transpose(2, 3, 2, 3, (3, 4), (2, 2))
transpose(3, 1, 2, 3, (3, 4, 3), (3, 3, 2), stride=2, padding=1, output_padding=(1, 0, 1))
transpose(3, 1, 4, 2, (1, 3, 3), (3, 3, 3), padding=(1, 1, 1), bias=False)
# padding modes (torch.nn.Conv*d's padding_mode) and inputs without the batch dim
conv(1, 2, 3, 4, (9,), (3,), padding=2, padding_mode="reflect")
conv(2, 1, 2, 3, (6, 7), (3, 3), padding=1, padding_mode="reflect")
conv(2, 2, 2, 2, (5, 5), (3, 2), padding=(2, 1), padding_mode="replicate", bias=False)
conv(2, 1, 3, 2, (4, 6), (3, 3), padding=1, stride=2, padding_mode="circular")
conv(2, 1, 2, 2, (6, 6), (4, 3), padding="same", padding_mode="reflect")
conv(3, 1, 2, 2, (4, 4, 3), (3, 3, 3), padding=1, padding_mode="replicate")
conv(1, None, 3, 2, (8,), (3,), padding=1)
conv(2, None, 3, 4, (5, 6), (3, 3), stride=2, padding=1)
conv(2, None, 2, 2, (5, 5), (3, 3), padding=1, padding_mode="reflect")
conv(3, None, 2, 3, (3, 4, 4), (2, 2, 2))
transpose(2, None, 3, 2, (4, 4), (3, 3), stride=2, padding=1)
family.write()
