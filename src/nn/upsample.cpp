#include "xgrad/nn/upsample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "util/check.hpp"

namespace xgrad::nn {

using detail::fail;
using detail::str;

namespace {

// The options interpolate would accept (all but the input's rank, which the mode
// and the number of sizes must match), checked once here rather than at every forward.
const InterpolateOptions& checked(const InterpolateOptions& options) {
  static const std::vector<std::string> modes{"nearest",   "linear", "bilinear",     "bicubic",
                                              "trilinear", "area",   "nearest-exact"};
  const std::string& mode = options.mode;
  if (std::find(modes.begin(), modes.end(), mode) == modes.end())
    fail<ValueError>(
        "Upsample: mode must be one of \"nearest\", \"linear\", \"bilinear\", \"bicubic\", "
        "\"trilinear\", \"area\", \"nearest-exact\", got \"{}\"",
        mode);
  const bool interpolating = mode == "linear" || mode == "bilinear" || mode == "bicubic" || mode == "trilinear";
  if (options.align_corners && !interpolating)
    fail<ValueError>(
        "Upsample: align_corners applies to the interpolating modes linear, bilinear, bicubic and "
        "trilinear only, not \"{}\"",
        mode);
  if (options.size.empty() == options.scale_factor.empty())
    fail<ValueError>("Upsample: give either size or scale_factor (got size {} and scale_factor {})", str(options.size),
                     options.scale_factor);
  if (options.recompute_scale_factor.value_or(false) && !options.size.empty())
    fail<ValueError>("Upsample: recompute_scale_factor is not meaningful with an explicit size {}", str(options.size));
  const auto one_to_three = [](std::size_t n) { return n >= 1 && n <= 3; };
  if (!options.size.empty() && (!one_to_three(options.size.size()) ||
                                std::any_of(options.size.begin(), options.size.end(), [](auto s) { return s < 1; })))
    fail<ValueError>("Upsample: size must be one to three positive values (one per spatial dim, or one), got {}",
                     str(options.size));
  if (!options.scale_factor.empty() && (!one_to_three(options.scale_factor.size()) ||
                                        std::any_of(options.scale_factor.begin(), options.scale_factor.end(),
                                                    [](double f) { return !(std::isfinite(f) && f > 0); })))
    fail<ValueError>(
        "Upsample: scale_factor must be one to three positive values (one per spatial dim, or one), got {}",
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
  if (options.recompute_scale_factor)
    out += fmt::format(", recompute_scale_factor={}", *options.recompute_scale_factor ? "true" : "false");
  return out;
}

}  // namespace xgrad::nn
