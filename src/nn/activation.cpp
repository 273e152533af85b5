#include "xgrad/nn/activation.hpp"

#include <fmt/format.h>

#include "autograd/record.hpp"
#include "ops/relu_gradient.hpp"
#include "ops/trace.hpp"
#include "util/check.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops/activation.hpp"
#include "xgrad/ops/softmax.hpp"

namespace xgrad::nn {

namespace {

// A double as Python's repr prints a float ("1.0", "0.25", "1e-05"), for the
// extra_repr of options PyTorch keeps as floats.
std::string python_float(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // not 1e-05, inf, nan
  return s;
}

}  // namespace

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

ELU::ELU(double a) : Module("ELU"), alpha(a) {}
Tensor ELU::forward(const Tensor& input) { return elu(input, alpha); }
std::string ELU::extra_repr() const { return "alpha=" + python_float(alpha); }

Tensor SELU::forward(const Tensor& input) { return selu(input); }

CELU::CELU(double a) : Module("CELU"), alpha(a) {
  if (alpha == 0) detail::fail<ValueError>("CELU: alpha cannot be 0 (x is divided by it)");
}
Tensor CELU::forward(const Tensor& input) { return celu(input, alpha); }
std::string CELU::extra_repr() const { return "alpha=" + python_float(alpha); }

Tensor SiLU::forward(const Tensor& input) { return silu(input); }

Tensor Hardswish::forward(const Tensor& input) { return hardswish(input); }

Tensor Hardsigmoid::forward(const Tensor& input) { return hardsigmoid(input); }

Tensor Mish::forward(const Tensor& input) { return mish(input); }

Softplus::Softplus(double b, double t) : Module("Softplus"), beta(b), threshold(t) {}
Tensor Softplus::forward(const Tensor& input) { return softplus(input, beta, threshold); }
std::string Softplus::extra_repr() const { return fmt::format("beta={}, threshold={}", beta, threshold); }

Tensor ReLU6::forward(const Tensor& input) { return relu6(input); }

Hardtanh::Hardtanh(double lo, double hi) : Module("Hardtanh"), min_val(lo), max_val(hi) {
  if (!(min_val < max_val))
    detail::fail<ValueError>("Hardtanh: min_val {} must be below max_val {}", min_val, max_val);
}
Tensor Hardtanh::forward(const Tensor& input) { return hardtanh(input, min_val, max_val); }
std::string Hardtanh::extra_repr() const {
  return fmt::format("min_val={}, max_val={}", python_float(min_val), python_float(max_val));
}

Tensor LogSigmoid::forward(const Tensor& input) { return log_sigmoid(input); }

PReLU::PReLU(std::int64_t n, double value) : Module("PReLU"), num_parameters(n), init(value) {
  if (num_parameters < 1) detail::fail<ValueError>("PReLU: num_parameters must be >= 1, got {}", num_parameters);
  weight = register_parameter("weight", empty({num_parameters}));
  reset_parameters();
}
Tensor PReLU::forward(const Tensor& input) { return prelu(input, weight); }
std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", num_parameters); }
void PReLU::reset_parameters() { init::constant_(weight, init); }

}  // namespace xgrad::nn
