#pragma once
/// \file nn/init.hpp
/// Weight initialisation, as torch.nn.init: the same formulas, names and defaults.
///
///   namespace init = xgrad::nn::init;
///   init::kaiming_normal_(conv->weight, 0.0, "fan_out", "relu");   // torchvision's ResNet
///   init::normal_(fc->weight, 0.0, 0.01);
///   init::zeros_(fc->bias);
///
/// Every function fills its tensor in place (any layout, f32 or f64), under
/// NoGradGuard so parameters that require grad can be filled, and returns the
/// same handle. Random ones draw from the default generator (holding its mutex),
/// so manual_seed makes initialisation reproducible. Names of modes and
/// nonlinearities are PyTorch's; an unknown name throws ValueError.

#include <cstdint>
#include <optional>
#include <string_view>

#include "xgrad/tensor.hpp"

namespace xgrad::nn::init {

struct Fans {
  std::int64_t fan_in;   ///< size(1) * receptive field
  std::int64_t fan_out;  ///< size(0) * receptive field
};

/// Fans of a weight of at least 2 dims: [out, in, *kernel] with receptive field
/// = product of the kernel dims (as torch's _calculate_fan_in_and_fan_out, which
/// uses the same rule for transposed-convolution weights).
Fans calculate_fan_in_and_fan_out(const Tensor& tensor);

/// The recommended gain for a nonlinearity: 1 for "linear", "conv{1,2,3}d",
/// "conv_transpose{1,2,3}d" and "sigmoid"; 5/3 for "tanh"; sqrt(2) for "relu";
/// sqrt(2 / (1 + slope^2)) for "leaky_relu" (slope = param, default 0.01); 3/4 for "selu".
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

/// U(low, high).
Tensor uniform_(Tensor tensor, double low = 0.0, double high = 1.0);
/// N(mean, stddev^2).
Tensor normal_(Tensor tensor, double mean = 0.0, double stddev = 1.0);
Tensor constant_(Tensor tensor, double value);
Tensor zeros_(Tensor tensor);
Tensor ones_(Tensor tensor);

/// He initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan), where
/// fan is fan_in or fan_out (`mode`) and gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, std::string_view mode = "fan_in",
                        std::string_view nonlinearity = "leaky_relu");
/// N(0, std^2) with std = gain / sqrt(fan).
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, std::string_view mode = "fan_in",
                       std::string_view nonlinearity = "leaky_relu");

/// Glorot initialisation: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0);
/// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor tensor, double gain = 1.0);

/// N(mean, stddev^2) restricted to [a, b] (values outside are drawn again).
/// Throws ValueError unless a < b and the interval holds at least 1e-4 of the
/// distribution's mass (a far-tail interval would take forever to fill).
Tensor trunc_normal_(Tensor tensor, double mean = 0.0, double stddev = 1.0, double a = -2.0, double b = 2.0);

/// What torch.nn.Linear and the convolution layers do in reset_parameters():
/// kaiming_uniform_(weight, sqrt(5)), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
/// and, when `bias` is defined, bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (zeros
/// when fan_in is 0). For custom layers that want the same defaults.
void default_init_(const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace xgrad::nn::init
