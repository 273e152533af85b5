// Turning maps and gradients into displayable [0, 1] images.

#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

// A gradient [1, C, H, W] or [C, H, W] as [C, H, W].
Tensor image_of(const char* fn, const Tensor& gradient) {
  xgrad::detail::check_defined(fn, gradient);
  xgrad::detail::check_floating(fn, gradient);
  if (gradient.dim() == 4 && gradient.size(0) == 1) return gradient.select(0, 0);
  if (gradient.dim() == 3) return gradient;
  fail<ShapeError>("{}: expected a gradient [1, C, H, W] or [C, H, W], got shape {}", fn, str(gradient.shape()));
}

// The largest |g|, or 0 for an empty tensor.
double max_abs(const Tensor& g) { return g.numel() == 0 ? 0.0 : g.abs().max().item(); }

}  // namespace

Tensor normalize(const Tensor& map) {
  xgrad::detail::check_defined("normalize", map);
  xgrad::detail::check_floating("normalize", map);
  const NoGradGuard no_grad;
  if (map.numel() == 0) return zeros_like(map);
  const double low = map.min().item(), high = map.max().item();
  if (!(high > low)) return zeros_like(map);
  return (map - low) / (high - low);
}

Tensor gradient_image(const Tensor& gradient) {
  const NoGradGuard no_grad;
  const Tensor g = image_of("gradient_image", gradient);
  const double largest = max_abs(g);
  if (largest == 0.0) return full_like(g, 0.5);
  return 0.5 + g / (2.0 * largest);
}

Tensor gradient_magnitude(const Tensor& gradient) {
  const NoGradGuard no_grad;
  const Tensor magnitude = image_of("gradient_magnitude", gradient).abs().amax(0);  // [H, W]
  const double largest = max_abs(magnitude);
  if (largest == 0.0) return zeros_like(magnitude);
  return magnitude / largest;
}

}  // namespace xgrad::saliency
