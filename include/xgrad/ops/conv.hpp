#pragma once
/// \file ops/conv.hpp
/// Convolution (cross-correlation, as in every deep-learning framework) and
/// transposed convolution over NCL, NCHW and NCDHW tensors.
///
///   Tensor y = xgrad::conv2d(x, w, b, {.stride = {2, 2}, .padding = {1, 1}});
///   Tensor z = xgrad::conv2d(x, w, {}, {.padding = "same", .dilation = {2}});
///   Tensor d = xgrad::conv2d(x, w_dw, {}, {.groups = channels});   // depthwise
///
/// Shapes: input [N, C_in, *spatial], weight [C_out, C_in / groups, *kernel],
/// bias [C_out] (optional); output [N, C_out, *out] with, per spatial dim,
///   out = floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1.
/// Transposed: weight [C_in, C_out / groups, *kernel], output
///   out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// Per-spatial-dim values of an option: one value applies to every spatial dim
/// ({2} on a 2-D convolution means {2, 2}); otherwise one value per dim.
using Spatial = std::vector<std::int64_t>;

/// Zero padding of a convolution's input.
///   {}               no padding
///   {1, 2}           1 before and after along the first spatial dim, 2 along the second
///   "same"           output size = input size (stride 1 only; odd totals put the
///                    extra element at the end, as PyTorch)
///   "valid"          no padding
///   Padding::asymmetric({0, 1}, {1, 2})  begin and end per dim
struct Padding {
  Padding() = default;
  Padding(std::initializer_list<std::int64_t> both) : begin(both), end(both) {}  // NOLINT
  Padding(const char* mode);                                                   // NOLINT
  static Padding asymmetric(Spatial begin, Spatial end);

  Spatial begin;  ///< empty = 0
  Spatial end;
  bool same = false;
};

struct ConvOptions {
  Spatial stride = {1};
  Padding padding = {};
  Spatial dilation = {1};
  std::int64_t groups = 1;
  /// What the padding holds: "zeros", or "reflect", "replicate", "circular" (the
  /// input padded with pad(x, ..., mode) first, as torch.nn.Conv*d's padding_mode).
  std::string padding_mode = "zeros";
};
using Conv1dOptions = ConvOptions;
using Conv2dOptions = ConvOptions;
using Conv3dOptions = ConvOptions;

struct ConvTransposeOptions {
  Spatial stride = {1};
  Spatial padding = {0};
  Spatial output_padding = {0};  ///< added to one side of the output; < stride or < dilation
  Spatial dilation = {1};
  std::int64_t groups = 1;
};
using ConvTranspose1dOptions = ConvTransposeOptions;
using ConvTranspose2dOptions = ConvTransposeOptions;
using ConvTranspose3dOptions = ConvTransposeOptions;

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), const Conv1dOptions& options = {});
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), const Conv3dOptions& options = {});

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose1dOptions& options = {});
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose2dOptions& options = {});
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose3dOptions& options = {});

}  // namespace xgrad
