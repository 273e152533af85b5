#include "xgrad/nn/init.hpp"

#include <algorithm>
#include <cmath>
#include <vector>
#include <mutex>

#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/random.hpp"

namespace xgrad::nn::init {

using detail::fail;
using detail::str;

namespace {

void check_target(const char* op, const Tensor& tensor) {
  detail::check_defined(op, tensor, "tensor");
  detail::check_floating(op, tensor);
}

// Fills `tensor` in place with the values `draw(p, n, generator)` writes to
// p[0, n), drawn from the default generator while holding its mutex. Values are
// drawn in double, a block at a time, and rounded into the tensor's dtype (a
// 100M-weight layer needs no 800 MB temporary).
template <class Draw>
Tensor fill_random(const char* op, Tensor tensor, Draw draw) {
  check_target(op, tensor);
  constexpr std::int64_t kBlock = 1 << 16;  // even, so normal pairs never straddle blocks
  const Tensor target = tensor.is_contiguous() ? tensor : detail::make_tensor(tensor.shape(), tensor.dtype());
  std::vector<double> block(static_cast<std::size_t>(std::min(kBlock, target.numel())));  // a bias needs no 512 KB
  {
    Generator& generator = default_generator();
    std::lock_guard lock(generator.mutex());
    detail::visit_floating(target.dtype(), op, [&]<class T>() {
      T* out = detail::element_ptr<T>(target);
      for (std::int64_t start = 0; start < target.numel(); start += kBlock) {
        const std::int64_t n = std::min(kBlock, target.numel() - start);
        draw(block.data(), n, generator);
        for (std::int64_t i = 0; i < n; ++i) out[start + i] = static_cast<T>(block[static_cast<std::size_t>(i)]);
      }
    });
  }
  NoGradGuard no_grad;
  target.impl()->storage->bump_version();
  if (!target.is_same(tensor)) tensor.copy_(target);
  return tensor;
}

Tensor fill_uniform(const char* op, Tensor tensor, double low, double high) {
  if (!(low <= high)) fail<ValueError>("{}: expected low <= high, got low={} high={}", op, low, high);
  return fill_random(op, std::move(tensor), [low, high](double* p, std::int64_t n, Generator& g) {
    for (std::int64_t i = 0; i < n; ++i) p[i] = low + (high - low) * g.uniform();
  });
}

Tensor fill_normal(const char* op, Tensor tensor, double mean, double stddev) {
  if (!(stddev >= 0.0)) fail<ValueError>("{}: expected stddev >= 0, got {}", op, stddev);
  return fill_random(op, std::move(tensor), [mean, stddev](double* p, std::int64_t n, Generator& g) {
    for (std::int64_t i = 0; i < n; i += 2) {
      double a = 0, b = 0;
      g.normal_pair(a, b);
      p[i] = mean + stddev * a;
      if (i + 1 < n) p[i + 1] = mean + stddev * b;
    }
  });
}

// gain / sqrt(fan) for kaiming_uniform_ and kaiming_normal_; 0 for an empty
// tensor (nothing will be drawn; as torch, its fans are not checked). The names
// are validated either way.
double kaiming_std(const char* op, const Tensor& tensor, double a, std::string_view mode,
                   std::string_view nonlinearity) {
  if (mode != "fan_in" && mode != "fan_out")
    fail<ValueError>("{}: mode \"{}\" is not supported; use \"fan_in\" or \"fan_out\"", op, mode);
  const double gain = calculate_gain(nonlinearity, a);
  if (tensor.numel() == 0) return 0.0;
  const Fans fans = calculate_fan_in_and_fan_out(tensor);
  return gain / std::sqrt(static_cast<double>(mode == "fan_in" ? fans.fan_in : fans.fan_out));
}

// gain * sqrt(2 / (fan_in + fan_out)) for xavier_uniform_ and xavier_normal_; 0 for an empty tensor.
double xavier_std(const Tensor& tensor, double gain) {
  if (tensor.numel() == 0) return 0.0;
  const Fans fans = calculate_fan_in_and_fan_out(tensor);
  return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

// The standard normal CDF.
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

Fans calculate_fan_in_and_fan_out(const Tensor& tensor) {
  detail::check_defined("calculate_fan_in_and_fan_out", tensor, "tensor");
  if (tensor.dim() < 2)
    fail<ValueError>(
        "calculate_fan_in_and_fan_out: fans cannot be computed for a tensor with fewer than 2 dims, got shape {}",
        str(tensor.shape()));
  std::int64_t receptive_field = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  for (std::string_view linear : {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d", "sigmoid"})
    if (nonlinearity == linear) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "selu") return 3.0 / 4.0;
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    if (!std::isfinite(slope))
      fail<ValueError>("calculate_gain: negative_slope {} is not a valid number", slope);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  fail<ValueError>(
      "calculate_gain: unsupported nonlinearity \"{}\" (expected linear, conv1d, conv2d, conv3d, conv_transpose1d, "
      "conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu or selu)",
      nonlinearity);
}

Tensor uniform_(Tensor tensor, double low, double high) {
  return fill_uniform("uniform_", std::move(tensor), low, high);
}

Tensor normal_(Tensor tensor, double mean, double stddev) {
  return fill_normal("normal_", std::move(tensor), mean, stddev);
}

Tensor constant_(Tensor tensor, double value) {
  check_target("constant_", tensor);
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) { return constant_(std::move(tensor), 0.0); }
Tensor ones_(Tensor tensor) { return constant_(std::move(tensor), 1.0); }

Tensor kaiming_uniform_(Tensor tensor, double a, std::string_view mode, std::string_view nonlinearity) {
  const char* op = "kaiming_uniform_";
  check_target(op, tensor);
  const double bound = std::sqrt(3.0) * kaiming_std(op, tensor, a, mode, nonlinearity);
  return fill_uniform(op, std::move(tensor), -bound, bound);
}

Tensor kaiming_normal_(Tensor tensor, double a, std::string_view mode, std::string_view nonlinearity) {
  const char* op = "kaiming_normal_";
  check_target(op, tensor);
  const double stddev = kaiming_std(op, tensor, a, mode, nonlinearity);
  return fill_normal(op, std::move(tensor), 0.0, stddev);
}

Tensor xavier_uniform_(Tensor tensor, double gain) {
  const char* op = "xavier_uniform_";
  check_target(op, tensor);
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);
  return fill_uniform(op, std::move(tensor), -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  const char* op = "xavier_normal_";
  check_target(op, tensor);
  const double stddev = xavier_std(tensor, gain);
  return fill_normal(op, std::move(tensor), 0.0, stddev);
}

Tensor trunc_normal_(Tensor tensor, double mean, double stddev, double a, double b) {
  const char* op = "trunc_normal_";
  if (!(stddev > 0.0)) fail<ValueError>("{}: expected stddev > 0, got {}", op, stddev);
  if (!(a < b)) fail<ValueError>("{}: expected a < b, got a={} b={}", op, a, b);
  const double mass = normal_cdf((b - mean) / stddev) - normal_cdf((a - mean) / stddev);
  if (!(mass >= 1e-4))
    fail<ValueError>("{}: [{}, {}] holds only {:.3g} of N({}, {}^2); move the interval nearer the mean", op, a, b,
                     mass, mean, stddev);
  // Rejection sampling: keep the normal draws that land inside [a, b].
  return fill_random(op, std::move(tensor), [=](double* p, std::int64_t n, Generator& g) {
    std::int64_t filled = 0;
    while (filled < n) {
      double draws[2];
      g.normal_pair(draws[0], draws[1]);
      for (double z : draws) {
        const double v = mean + stddev * z;
        if (filled < n && v >= a && v <= b) p[filled++] = v;
      }
    }
  });
}

void default_init_(const Tensor& weight, const Tensor& bias) {
  kaiming_uniform_(weight, std::sqrt(5.0));
  if (!bias.defined()) return;
  const std::int64_t fan_in = calculate_fan_in_and_fan_out(weight).fan_in;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  uniform_(bias, -bound, bound);
}

}  // namespace xgrad::nn::init
