#include "xgrad/nn/linear.hpp"

#include <fmt/format.h>

#include "util/check.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops/linalg.hpp"

namespace xgrad::nn {

namespace {

std::int64_t checked_features(const char* what, std::int64_t features) {
  if (features < 0) detail::fail<ValueError>("Linear: {} must be >= 0, got {}", what, features);
  return features;
}

}  // namespace

Linear::Linear(std::int64_t in, std::int64_t out, bool with_bias)
    : Module("Linear"),
      in_features(checked_features("in_features", in)),
      out_features(checked_features("out_features", out)) {
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

Tensor Linear::forward(const Tensor& input) { return linear(input, weight, bias); }

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features, bias.defined());
}

std::int64_t Linear::macs(const Tensor&, const Tensor& output) const { return output.numel() * in_features; }

void Linear::reset_parameters() { init::default_init_(weight, bias); }

}  // namespace xgrad::nn
