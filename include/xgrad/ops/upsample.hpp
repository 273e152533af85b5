#pragma once
/// \file ops/upsample.hpp
/// Resizing the maps of an [N, C, H, W] tensor, as torch.nn.functional.interpolate
/// (up or down, any ratio), differentiable in the input.
///
///   Tensor big = xgrad::upsample_bilinear2d(x, {224, 224});                  // align_corners = false
///   Tensor px  = xgrad::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)});
///   Tensor y   = xgrad::interpolate(x, {.scale_factor = {1.5}, .mode = "bilinear"});
///
/// Where output index o reads the input along a dim of input size `in` and output
/// size `out` (scale = in / out, or 1 / scale_factor when interpolate was given one,
/// as PyTorch):
///   nearest:                  floor(o * scale), at most in - 1 (computed in float, as
///                             PyTorch, so that the chosen pixels agree)
///   bilinear:                 source = max((o + 0.5) * scale - 0.5, 0), between its two
///                             neighbours (the last pixel repeats past the border)
///   bilinear, align_corners:  source = o * (in - 1) / (out - 1), so the corner pixels'
///                             centres meet (0 when out == 1)
/// The gradient sends each output's gradient back to the input pixels it read, with
/// the same weights.

#include <cstdint>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// `size` is {H, W}, or one value for both; every value must be positive.
Tensor upsample_bilinear2d(const Tensor& input, std::vector<std::int64_t> size, bool align_corners = false);
Tensor upsample_nearest2d(const Tensor& input, std::vector<std::int64_t> size);

struct InterpolateOptions {
  std::vector<std::int64_t> size = {};    ///< {H, W} or one value for both; or else
  std::vector<double> scale_factor = {};  ///< {h, w} or one value: output floor(in * factor)
  std::string mode = "nearest";           ///< "nearest" or "bilinear"
  bool align_corners = false;             ///< bilinear only (true with "nearest" throws)
};

/// One of `size` and `scale_factor` must be given. With scale_factor the
/// coordinates use 1 / scale_factor, not in / out (PyTorch's default,
/// recompute_scale_factor = None); align_corners uses neither.
Tensor interpolate(const Tensor& input, const InterpolateOptions& options);

}  // namespace xgrad
