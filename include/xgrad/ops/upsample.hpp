#pragma once
/// \file ops/upsample.hpp
/// Resizing the spatial dims of an [N, C, L], [N, C, H, W] or [N, C, D, H, W]
/// tensor, as torch.nn.functional.interpolate (up or down, any ratio), linear in
/// the input and differentiable to any order.
///
///   Tensor big = xgrad::upsample_bilinear2d(x, {224, 224});                  // align_corners = false
///   Tensor px  = xgrad::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)});
///   Tensor y   = xgrad::interpolate(x, {.scale_factor = {1.5}, .mode = "bilinear"});
///   Tensor c   = xgrad::interpolate(x, {.size = {9, 9}, .mode = "bicubic", .align_corners = true});
///   Tensor v   = xgrad::interpolate(volume, {.scale_factor = {2}, .mode = "trilinear"});
///
/// Modes and ranks (as PyTorch; another pairing throws ValueError):
///   "nearest", "nearest-exact", "area"   3-D, 4-D and 5-D
///   "linear" 3-D, "bilinear" 4-D, "bicubic" 4-D, "trilinear" 5-D (these take align_corners)
/// Where output index o reads the input along a dim of input size `in` and output
/// size `out` (scale = in / out, or 1 / scale_factor when interpolate was given one
/// and recompute_scale_factor is not true, as PyTorch):
///   nearest:                  floor(o * scale), at most in - 1 (computed in float, as
///                             PyTorch, so that the chosen pixels agree)
///   nearest-exact:            floor((o + 0.5) * scale), at most in - 1
///   (bi/tri)linear:           source = max((o + 0.5) * scale - 0.5, 0), between its two
///                             neighbours (the last pixel repeats past the border)
///   align_corners:            source = o * (in - 1) / (out - 1), so the corner pixels'
///                             centres meet (0 when out == 1)
///   bicubic:                  source = (o + 0.5) * scale - 0.5 (not clamped) or the
///                             align_corners one; the four taps floor(source) - 1 .. + 2,
///                             each clamped into [0, in - 1], with Keys' cubic
///                             convolution weights, A = -0.75
///   area:                     adaptive average pooling to the output size (whatever
///                             the scale factor, as PyTorch)
/// Each spatial dim is mapped independently (the N-D map is the product of the 1-D
/// ones). The gradient sends each output's gradient back to the input pixels it
/// read, with the same weights. antialias is not implemented.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// `size` is {H, W}, or one value for both; every value must be positive.
Tensor upsample_bilinear2d(const Tensor& input, std::vector<std::int64_t> size, bool align_corners = false);
Tensor upsample_nearest2d(const Tensor& input, std::vector<std::int64_t> size);

struct InterpolateOptions {
  std::vector<std::int64_t> size = {};    ///< one value per spatial dim, or one for all; or else
  std::vector<double> scale_factor = {};  ///< one per spatial dim, or one: output floor(in * factor)
  /// "nearest", "linear", "bilinear", "bicubic", "trilinear", "area" or "nearest-exact"
  std::string mode = "nearest";
  bool align_corners = false;  ///< linear, bilinear, bicubic, trilinear only (true with another mode throws)
  /// true: the coordinates use in / out of the output size scale_factor gives, not
  /// 1 / scale_factor (with size given, true throws, as PyTorch)
  std::optional<bool> recompute_scale_factor = std::nullopt;
};

/// One of `size` and `scale_factor` must be given. With scale_factor the
/// coordinates use 1 / scale_factor, not in / out (PyTorch's default,
/// recompute_scale_factor = None); align_corners uses neither.
Tensor interpolate(const Tensor& input, const InterpolateOptions& options);

}  // namespace xgrad
