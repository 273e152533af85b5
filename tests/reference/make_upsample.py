#!/usr/bin/python3
"""Reference cases of upsample.hpp: interpolate nearest and bilinear (align_corners both
ways) by size and by scale_factor, up and down, integer and fractional ratios, including
scale factors that leave a dim's size unchanged or double it for bilinear;
upsample_bilinear2d and upsample_nearest2d. The other modes and ranks: 3-D nearest,
linear, area, nearest-exact; 4-D bicubic, area, nearest-exact; 5-D nearest, trilinear,
area, nearest-exact; by size and scale_factor, align_corners both ways,
recompute_scale_factor. Writes upsample.safetensors.

Not here: nearest (of any rank) with a scale factor whose output size is in or 2 * in but
is not 1 or 2 (1.25 on 3, 2.2 on 2). PyTorch 1.13 disagrees with itself there: its 2-D
forward reads floor(o / f) on the contiguous path (N * C > 1 channels) and short-cuts to
o or o / 2 on the channels-last path (also taken for one channel), its 1-D and 3-D
forward reads floor(o / f) even for one channel, and its backward always short-cuts, so
its gradient is not the adjoint of its forward. xgrad reads floor(o / f) and
differentiates that exactly; tests/test_ops_upsample.cpp and test_ops_upsample_modes.cpp
pin it (docs/ops.md)."""
import torch.nn.functional as F

from reference import Family, randn

family = Family("upsample")


def interpolate(shape, mode, size=None, scale=None, align_corners=None, recompute=None):
    options = {"mode": mode, "size": size or [], "scale_factor": scale or [],
               "align_corners": bool(align_corners), "recompute_scale_factor": recompute}
    family.case("interpolate", [randn(*shape)],
                lambda x: F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=align_corners,
                                        recompute_scale_factor=recompute),
                options=options)


for mode in ["nearest", "bilinear"]:
    ac = False if mode == "bilinear" else None
    interpolate((2, 3, 4, 5), mode, size=[8, 10], align_corners=ac)
    interpolate((1, 2, 7, 6), mode, size=[3, 4], align_corners=ac)
    interpolate((2, 2, 5, 5), mode, size=[5, 9], align_corners=ac)
    interpolate((1, 2, 3, 4), mode, scale=[2.0, 2.0], align_corners=ac)
    interpolate((1, 1, 6, 7), mode, scale=[0.5, 0.6], align_corners=ac)
    if mode == "bilinear":  # sizes unchanged, or doubled by a factor that is not 2
        interpolate((2, 1, 3, 2), mode, scale=[1.25, 1.25], align_corners=ac)
        interpolate((1, 2, 2, 3), mode, scale=[2.2, 1.5], align_corners=ac)
    else:
        interpolate((1, 2, 2, 3), mode, scale=[2.6, 1.5], align_corners=ac)
    interpolate((1, 1, 4, 4), mode, scale=[1.7, 3.0], align_corners=ac)
    interpolate((2, 2, 1, 1), mode, size=[3, 2], align_corners=ac)
for shape, size in [((2, 3, 4, 5), [8, 10]), ((1, 2, 7, 6), [3, 4]), ((1, 1, 1, 3), [4, 1]), ((1, 2, 3, 3), [7, 5])]:
    interpolate(shape, "bilinear", size=size, align_corners=True)
interpolate((1, 2, 4, 3), "bilinear", scale=[2.0, 1.5], align_corners=True)
# 3-D [N, C, L]
for mode in ["nearest", "nearest-exact", "area"]:
    interpolate((2, 3, 5), mode, size=[9])
    interpolate((1, 2, 7), mode, size=[3])
    interpolate((2, 1, 4), mode, scale=[1.7])
interpolate((1, 2, 6), "nearest-exact", scale=[0.5])
interpolate((1, 2, 5), "area", scale=[1.5], recompute=True)
for ac in [False, True]:
    interpolate((2, 3, 5), "linear", size=[9], align_corners=ac)
    interpolate((1, 2, 7), "linear", size=[3], align_corners=ac)
interpolate((2, 1, 4), "linear", scale=[2.5], align_corners=False)
interpolate((1, 2, 3), "linear", scale=[1.7], align_corners=False, recompute=True)
interpolate((1, 1, 4), "linear", size=[1], align_corners=False)
# 4-D: bicubic, area, nearest-exact
for ac in [False, True]:
    interpolate((2, 2, 4, 5), "bicubic", size=[7, 9], align_corners=ac)
    interpolate((1, 2, 7, 6), "bicubic", size=[3, 4], align_corners=ac)
    interpolate((1, 1, 3, 4), "bicubic", size=[1, 6], align_corners=ac)
interpolate((1, 2, 3, 3), "bicubic", scale=[1.5, 2.0], align_corners=False)
interpolate((2, 1, 3, 5), "bicubic", scale=[1.25, 0.7], align_corners=False)
interpolate((1, 2, 3, 4), "bicubic", scale=[1.7, 1.3], align_corners=False, recompute=True)
interpolate((1, 1, 4, 4), "bicubic", scale=[2.0, 2.0], align_corners=True)
interpolate((1, 2, 1, 1), "bicubic", size=[3, 2], align_corners=False)
for mode in ["area", "nearest-exact"]:
    interpolate((2, 2, 7, 6), mode, size=[3, 4])
    interpolate((1, 2, 3, 4), mode, size=[5, 7])
    interpolate((1, 1, 6, 5), mode, scale=[0.6, 1.5])
interpolate((1, 2, 3, 3), "nearest-exact", scale=[1.25, 2.6])
interpolate((1, 2, 3, 4), "nearest", scale=[1.7, 1.3], recompute=True)
# 5-D [N, C, D, H, W]
for mode in ["nearest", "nearest-exact", "area"]:
    interpolate((1, 2, 3, 4, 2), mode, size=[5, 3, 4])
    interpolate((2, 1, 2, 3, 3), mode, scale=[1.5, 0.7, 1.4])
for ac in [False, True]:
    interpolate((1, 2, 3, 4, 2), "trilinear", size=[5, 3, 4], align_corners=ac)
    interpolate((2, 1, 4, 3, 3), "trilinear", size=[2, 5, 1], align_corners=ac)
interpolate((1, 2, 2, 3, 3), "trilinear", scale=[1.5, 2.0, 0.7], align_corners=False)
interpolate((1, 1, 2, 3, 3), "trilinear", scale=[1.7, 1.3, 1.5], align_corners=False, recompute=True)
for shape, size, ac in [((2, 2, 3, 4), [6, 7], False), ((1, 1, 5, 5), [2, 3], True)]:
    family.case("upsample_bilinear2d", [randn(*shape)],
                lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=ac),
                options={"size": size, "align_corners": ac})
for shape, size in [((2, 2, 3, 4), [6, 8]), ((1, 3, 5, 4), [3, 7])]:
    family.case("upsample_nearest2d", [randn(*shape)], lambda x: F.interpolate(x, size=size, mode="nearest"),
                options={"size": size})
family.write()
