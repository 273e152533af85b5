#include "ops/spatial.hpp"

#include <cstring>

#include "util/check.hpp"

namespace xgrad {

Padding::Padding(const char* mode) {
  if (std::strcmp(mode, "same") == 0) {
    same = true;
  } else if (std::strcmp(mode, "valid") != 0) {
    detail::fail<ValueError>("Padding: unknown mode \"{}\" (expected \"same\", \"valid\" or sizes)", mode);
  }
}

Padding Padding::asymmetric(Spatial begin, Spatial end) {
  Padding p;
  p.begin = std::move(begin);
  p.end = std::move(end);
  return p;
}

namespace detail {

Spatial expand_spatial(const char* op, const char* option, const Spatial& values, std::size_t dims,
                       std::int64_t min_value) {
  Spatial out;
  if (values.size() == 1) {
    out.assign(dims, values[0]);
  } else if (values.size() == dims) {
    out = values;
  } else {
    fail<ValueError>("{}: {} has {} values {} but the input has {} spatial dims (give 1 or {})", op, option,
                     values.size(), str(values), dims, dims);
  }
  for (std::int64_t v : out)
    if (v < min_value) fail<ValueError>("{}: {} must be >= {}, got {}", op, option, min_value, str(values));
  return out;
}

ResolvedPadding resolve_padding(const char* op, const Padding& padding, const Spatial& kernel, const Spatial& stride,
                                const Spatial& dilation) {
  const std::size_t dims = kernel.size();
  ResolvedPadding r;
  if (padding.same) {
    for (std::size_t d = 0; d < dims; ++d) {
      if (stride[d] != 1)
        fail<ValueError>("{}: padding \"same\" needs stride 1, got stride {}", op, str(stride));
      const std::int64_t total = dilation[d] * (kernel[d] - 1);
      r.begin.push_back(total / 2);
      r.end.push_back(total - total / 2);
    }
    return r;
  }
  r.begin = padding.begin.empty() ? Spatial(dims, 0) : expand_spatial(op, "padding", padding.begin, dims, 0);
  r.end = padding.end.empty() ? Spatial(dims, 0) : expand_spatial(op, "padding", padding.end, dims, 0);
  return r;
}

std::int64_t conv_output_size(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad_begin, std::int64_t pad_end, std::int64_t dilation) {
  const std::int64_t span = in + pad_begin + pad_end - dilation * (kernel - 1) - 1;
  if (span < 0)
    fail<ShapeError>("{}: the (dilated) kernel {} is larger than the padded input {} (input {}, padding {}+{}, "
                     "dilation {})",
                     op, dilation * (kernel - 1) + 1, in + pad_begin + pad_end, in, pad_begin, pad_end, dilation);
  return span / stride + 1;
}

std::int64_t pool_output_size(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                              std::int64_t padding, std::int64_t dilation, bool ceil_mode) {
  // PyTorch's rule (pooling_output_shape): round the span first (down, or up in
  // ceil mode), then drop a last window that would start in the right padding;
  // only an output below one is an error. In ceil mode a kernel larger than the
  // padded input still gives one window, clipped to the input.
  const std::int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  const std::int64_t rounded = ceil_mode ? span + stride - 1 : span;
  std::int64_t out = (rounded >= 0 ? rounded / stride : -((-rounded + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + padding) --out;  // last window would start in the right padding
  if (out < 1)
    fail<ShapeError>("{}: the (dilated) kernel {} is larger than the padded input {} (input {}, padding {}, "
                     "stride {}, ceil_mode {}): the output would have size {}",
                     op, dilation * (kernel - 1) + 1, in + 2 * padding, in, padding, stride, ceil_mode, out);
  return out;
}

}  // namespace detail
}  // namespace xgrad
