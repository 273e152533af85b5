#pragma once
/// \file ops/activation.hpp
/// Activation functions (differentiable, floating dtypes).

#include <string_view>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// max(x, 0); the gradient at exactly 0 is 0 (as PyTorch).
Tensor relu(const Tensor& x);
/// relu in place (not recorded, as Tensor::add_): refused with AutogradError
/// when x requires grad and grad mode is on. Returns x.
const Tensor& relu_(const Tensor& x);
/// x for x > 0, negative_slope * x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// x * Phi(x) with the exact erf form ("none", the default) or the tanh
/// approximation ("tanh"), as torch.nn.functional.gelu.
Tensor gelu(const Tensor& x, std::string_view approximate = "none");

// As torch.nn.functional, options as plain arguments with PyTorch's defaults.
// Every op below takes f32 or f64 (an integer tensor throws DTypeError) and is
// differentiable to any order. At a kink the gradient is PyTorch's.

/// x for x > 0, alpha * (exp(x) - 1) otherwise (expm1, accurate near 0); the
/// gradient at 0 is alpha (PyTorch takes the negative side). Any alpha.
Tensor elu(const Tensor& x, double alpha = 1.0);
/// scale * elu(x, alpha) with PyTorch's alpha = 1.6732632423543772 and
/// scale = 1.0507009873554805 (Klambauer et al. 2017).
Tensor selu(const Tensor& x);
/// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha 0 throws ValueError.
Tensor celu(const Tensor& x, double alpha = 1.0);
/// x * sigmoid(x) (swish).
Tensor silu(const Tensor& x);
/// x * relu6(x + 3) / 6. Gradient x / 3 + 1/2 on [-3, 3), 0 below -3, 1 from 3 on
/// (PyTorch 1.13's vectorised kernel; its scalar path, which it runs on the
/// last n mod 8 float64 elements, gives 1.5 at exactly 3).
Tensor hardswish(const Tensor& x);
/// relu6(x + 3) / 6. Gradient 1/6 strictly inside (-3, 3), 0 elsewhere (PyTorch's
/// float64 kernel rounds the 1/6 to float, 0.1666666716; here it is 1/6 in the dtype).
Tensor hardsigmoid(const Tensor& x);
/// x * tanh(softplus(x)) (Misra 2019).
Tensor mish(const Tensor& x);
/// log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (the
/// gradient there is 1). Computed without overflow for large beta * x (where
/// PyTorch's log1p(exp(z)) gives inf, when threshold is past ~709, ~88 in f32).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// hardtanh(x, 0, 6).
Tensor relu6(const Tensor& x);
/// x clamped to [min_val, max_val]; NaN stays NaN. The gradient is 1 strictly
/// between the bounds and 0 at and beyond them (unlike clamp's, which passes it at
/// the bounds), as PyTorch's hardtanh_backward. min_val > max_val or a NaN bound
/// throws ValueError (PyTorch's nn.Hardtanh asserts it).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x.
Tensor log_sigmoid(const Tensor& x);
/// x for x > 0, weight * x otherwise, with a learnable weight of 1 element (shared)
/// or of C = x.size(1) elements, one per channel of dim 1. weight is 0-D or 1-D and
/// has x's dtype; as in PyTorch 1.13, an input of fewer than 2 dims has one channel
/// (so only a 1-element weight). Gradients to x and weight.
Tensor prelu(const Tensor& x, const Tensor& weight);

}  // namespace xgrad
