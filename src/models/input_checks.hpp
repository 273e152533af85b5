#pragma once
// Internal: the input check every model runs before its forward.

#include <cstdint>

#include "util/check.hpp"

namespace xgrad::models::detail {

/// Throws ShapeError unless `input` is [N, channels, H, W] with H, W >= min_size
/// (the smallest map the model's pooling leaves non-empty).
inline void check_image_batch(const char* model, const Tensor& input, std::int64_t channels,
                              std::int64_t min_size = 1) {
  xgrad::detail::check_defined(model, input);
  if (input.dim() != 4 || input.size(1) != channels)
    xgrad::detail::fail<ShapeError>("{}: expected input [N, {}, H, W], got {}", model, channels,
                                    xgrad::detail::str(input.shape()));
  if (input.size(2) < min_size || input.size(3) < min_size)
    xgrad::detail::fail<ShapeError>("{}: input {} is too small; height and width must be at least {}", model,
                                    xgrad::detail::str(input.shape()), min_size);
}

}  // namespace xgrad::models::detail
