#include "xgrad/nn/activation.hpp"

#include <fmt/format.h>

#include "autograd/record.hpp"
#include "ops/relu_gradient.hpp"
#include "ops/trace.hpp"
#include "util/check.hpp"
#include "xgrad/ops/activation.hpp"
#include "xgrad/ops/softmax.hpp"

namespace xgrad::nn {

Tensor ReLU::forward(const Tensor& input) {
  // In place only where nothing can tell the difference: no gradient will be
  // asked of the input (in particular no checkpoint will replay from it), no
  // tracer records the op, no tangent flows, and no saliency rule is active.
  if (inplace && input.defined() && !input.requires_grad() && xgrad::detail::trace::active() == nullptr &&
      !autograd::detail::has_tangent(input) && xgrad::detail::relu_rule() == xgrad::detail::ReluRule::standard)
    return relu_(input);
  return relu(input);
}

std::string ReLU::extra_repr() const { return inplace ? "inplace=True" : ""; }

LeakyReLU::LeakyReLU(double slope) : Module("LeakyReLU"), negative_slope(slope) {}
Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope); }
std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", negative_slope); }

Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }

Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

GELU::GELU(std::string_view mode) : Module("GELU"), approximate(mode) {
  if (approximate != "none" && approximate != "tanh")
    detail::fail<ValueError>("GELU: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
}
Tensor GELU::forward(const Tensor& input) { return gelu(input, approximate); }
std::string GELU::extra_repr() const { return fmt::format("approximate='{}'", approximate); }

Softmax::Softmax(std::int64_t d) : Module("Softmax"), dim(d) {}
Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim); }
std::string Softmax::extra_repr() const { return fmt::format("dim={}", dim); }

LogSoftmax::LogSoftmax(std::int64_t d) : Module("LogSoftmax"), dim(d) {}
Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim); }
std::string LogSoftmax::extra_repr() const { return fmt::format("dim={}", dim); }

}  // namespace xgrad::nn
