#pragma once
// Internal: options shared by convolution and pooling, resolved against an
// input's spatial dims, and the output-size arithmetic.

#include <cstdint>
#include <vector>

#include "xgrad/ops/conv.hpp"

namespace xgrad::detail {

/// `values` for `dims` spatial dims: one value is repeated, `dims` values are
/// kept, anything else throws ValueError naming op and option. Every value
/// must be >= min_value.
Spatial expand_spatial(const char* op, const char* option, const Spatial& values, std::size_t dims,
                       std::int64_t min_value);

/// Begin and end padding per spatial dim. "same" needs stride 1 and gives a
/// total of dilation * (kernel - 1), the odd element at the end.
struct ResolvedPadding {
  Spatial begin, end;
};
ResolvedPadding resolve_padding(const char* op, const Padding& padding, const Spatial& kernel, const Spatial& stride,
                                const Spatial& dilation);

/// floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1;
/// throws ShapeError naming op when that is < 1.
std::int64_t conv_output_size(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad_begin, std::int64_t pad_end, std::int64_t dilation);

/// Pooling's size with ceil_mode: rounds up, but the last window must start
/// inside the input or its left padding (as PyTorch).
std::int64_t pool_output_size(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                              std::int64_t padding, std::int64_t dilation, bool ceil_mode);

}  // namespace xgrad::detail
