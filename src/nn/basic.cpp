// Identity, Flatten and Dropout: the layers with no weights and no arithmetic of their own.

#include "xgrad/nn/basic.hpp"

#include <fmt/format.h>

#include "util/check.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/ops/normalization.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::nn {

Tensor Identity::forward(const Tensor& input) { return input; }

Flatten::Flatten(std::int64_t start, std::int64_t end) : Module("Flatten"), start_dim(start), end_dim(end) {}
Tensor Flatten::forward(const Tensor& input) { return flatten(input, start_dim, end_dim); }
std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }

Dropout::Dropout(double probability) : Module("Dropout"), p(probability) {
  if (!(p >= 0.0 && p <= 1.0)) detail::fail<ValueError>("Dropout: p must be in [0, 1], got {}", p);
}
Tensor Dropout::forward(const Tensor& input) { return dropout(input, {.p = p, .training = is_training()}); }
std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

}  // namespace xgrad::nn
