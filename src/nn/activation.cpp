#include "xgrad/nn/activation.hpp"

#include <fmt/format.h>

#include "util/check.hpp"
#include "xgrad/ops/activation.hpp"
#include "xgrad/ops/softmax.hpp"

namespace xgrad::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }

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
