#include "xgrad/nn/upsample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "util/check.hpp"

namespace xgrad::nn {

using detail::fail;
using detail::str;

namespace {

// The options interpolate would accept, checked once here rather than at every forward.
const InterpolateOptions& checked(const InterpolateOptions& options) {
  if (options.mode != "nearest" && options.mode != "bilinear")
    fail<ValueError>("Upsample: mode must be \"nearest\" or \"bilinear\", got \"{}\"", options.mode);
  if (options.align_corners && options.mode == "nearest")
    fail<ValueError>("Upsample: align_corners applies to mode \"bilinear\" only, not \"nearest\"");
  if (options.size.empty() == options.scale_factor.empty())
    fail<ValueError>("Upsample: give either size or scale_factor (got size {} and scale_factor {})", str(options.size),
                     options.scale_factor);
  const auto one_or_two = [](std::size_t n) { return n == 1 || n == 2; };
  if (!options.size.empty() && (!one_or_two(options.size.size()) ||
                                std::any_of(options.size.begin(), options.size.end(), [](auto s) { return s < 1; })))
    fail<ValueError>("Upsample: size must be one or two positive values {{H, W}}, got {}", str(options.size));
  if (!options.scale_factor.empty() &&
      (!one_or_two(options.scale_factor.size()) || std::any_of(options.scale_factor.begin(), options.scale_factor.end(),
                                                               [](double f) { return !(std::isfinite(f) && f > 0); })))
    fail<ValueError>("Upsample: scale_factor must be one or two positive values {{h, w}}, got {}",
                     options.scale_factor);
  return options;
}

}  // namespace

Upsample::Upsample(const InterpolateOptions& opts) : Module("Upsample"), options(checked(opts)) {}

Tensor Upsample::forward(const Tensor& input) { return interpolate(input, options); }

std::string Upsample::extra_repr() const {
  std::string out = options.size.empty() ? fmt::format("scale_factor={}", options.scale_factor)
                                         : fmt::format("size={}", str(options.size));
  out += fmt::format(", mode='{}'", options.mode);
  if (options.align_corners) out += ", align_corners=true";
  return out;
}

}  // namespace xgrad::nn
