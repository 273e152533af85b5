#pragma once
/// \file ops/pooling.hpp
/// Max, average and adaptive pooling over NCL, NCHW and NCDHW tensors, or the same
/// without the batch dim (CL, CHW, CDHW: pooled as a batch of one, as PyTorch).
///
///   Tensor p = xgrad::max_pool2d(x, {.kernel = {2, 2}});              // stride = kernel
///   Tensor a = xgrad::avg_pool2d(x, {.kernel = {3}, .stride = {2}, .padding = {1}});
///   Tensor g = xgrad::adaptive_avg_pool2d(x, {1, 1});
///
/// Output size per spatial dim (ceil_mode rounds up, but a window must start
/// inside the input or its left padding, as PyTorch):
///   out = floor_or_ceil((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1.
/// Padding must be at most half the (dilated) kernel.
///
/// Max pooling's gradient goes to one element per window: the first maximum in
/// row-major window order (the one whose index max_pool*_with_indices returns),
/// as PyTorch's CPU kernels do. Padded positions never win.

#include <cstdint>
#include <optional>
#include <utility>

#include "xgrad/ops/conv.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad {

struct MaxPoolOptions {
  Spatial kernel;
  Spatial stride = {};  ///< empty = kernel
  Spatial padding = {0};
  Spatial dilation = {1};
  bool ceil_mode = false;
};
using MaxPool1dOptions = MaxPoolOptions;
using MaxPool2dOptions = MaxPoolOptions;
using MaxPool3dOptions = MaxPoolOptions;

struct AvgPoolOptions {
  Spatial kernel;
  Spatial stride = {};  ///< empty = kernel
  Spatial padding = {0};
  bool ceil_mode = false;
  bool count_include_pad = true;  ///< divide by the full window, padding included
  /// Divide every window's sum by this instead (nonzero), as PyTorch's divisor_override.
  std::optional<std::int64_t> divisor_override = std::nullopt;
};
using AvgPool1dOptions = AvgPoolOptions;
using AvgPool2dOptions = AvgPoolOptions;
using AvgPool3dOptions = AvgPoolOptions;

/// Values and i64 indices; an index is the flat position of the maximum within
/// its input plane (h * W + w for 2-D), as torch's return_indices=True.
struct PoolWithIndices {
  Tensor values;
  Tensor indices;
};

Tensor max_pool1d(const Tensor& input, const MaxPool1dOptions& options);
Tensor max_pool2d(const Tensor& input, const MaxPool2dOptions& options);
Tensor max_pool3d(const Tensor& input, const MaxPool3dOptions& options);
PoolWithIndices max_pool1d_with_indices(const Tensor& input, const MaxPool1dOptions& options);
PoolWithIndices max_pool2d_with_indices(const Tensor& input, const MaxPool2dOptions& options);
PoolWithIndices max_pool3d_with_indices(const Tensor& input, const MaxPool3dOptions& options);

Tensor avg_pool1d(const Tensor& input, const AvgPool1dOptions& options);
Tensor avg_pool2d(const Tensor& input, const AvgPool2dOptions& options);
Tensor avg_pool3d(const Tensor& input, const AvgPool3dOptions& options);

/// Output size given per spatial dim; window i covers [floor(i*in/out), ceil((i+1)*in/out)),
/// so an output larger than the input repeats elements.
Tensor adaptive_avg_pool1d(const Tensor& input, const Spatial& output_size);
Tensor adaptive_avg_pool2d(const Tensor& input, const Spatial& output_size);
Tensor adaptive_avg_pool3d(const Tensor& input, const Spatial& output_size);
Tensor adaptive_max_pool1d(const Tensor& input, const Spatial& output_size);
Tensor adaptive_max_pool2d(const Tensor& input, const Spatial& output_size);
Tensor adaptive_max_pool3d(const Tensor& input, const Spatial& output_size);
PoolWithIndices adaptive_max_pool1d_with_indices(const Tensor& input, const Spatial& output_size);
PoolWithIndices adaptive_max_pool2d_with_indices(const Tensor& input, const Spatial& output_size);
PoolWithIndices adaptive_max_pool3d_with_indices(const Tensor& input, const Spatial& output_size);

struct MaxUnpoolOptions {
  Spatial kernel;
  Spatial stride = {};       ///< empty = kernel
  Spatial padding = {0};
  Spatial output_size = {};  ///< spatial sizes; empty = (in - 1) * stride - 2 * padding + kernel
};
using MaxUnpool1dOptions = MaxUnpoolOptions;
using MaxUnpool2dOptions = MaxUnpoolOptions;
using MaxUnpool3dOptions = MaxUnpoolOptions;

/// The inverse of max pooling with indices (the unpooling of Zeiler and Fergus's
/// deconvnet): zeros of the output size, with each input value put at its index
/// within its plane (the indices max_pool*d_with_indices returns). Indices that
/// repeat (overlapping windows) add up, where PyTorch keeps one of them; the
/// gradient is the gather at the indices either way.
Tensor max_unpool1d(const Tensor& input, const Tensor& indices, const MaxUnpool1dOptions& options);
Tensor max_unpool2d(const Tensor& input, const Tensor& indices, const MaxUnpool2dOptions& options);
Tensor max_unpool3d(const Tensor& input, const Tensor& indices, const MaxUnpool3dOptions& options);

struct LpPoolOptions {
  double norm_type = 2.0;  ///< p
  Spatial kernel;
  Spatial stride = {};  ///< empty = kernel
  bool ceil_mode = false;
};

/// Power-average pooling as torch.nn.functional.lp_pool1d / 2d:
/// (sum over the window of x^p)^(1 / p), computed as PyTorch does (avg_pool of x^p
/// times the window size), so a negative x with a fractional p gives NaN as there.
Tensor lp_pool1d(const Tensor& input, const LpPoolOptions& options);
Tensor lp_pool2d(const Tensor& input, const LpPoolOptions& options);

/// Mean over every spatial dim: [N, C, *spatial] -> [N, C].
Tensor global_avg_pool(const Tensor& input);

}  // namespace xgrad
