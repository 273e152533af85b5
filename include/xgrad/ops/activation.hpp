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

}  // namespace xgrad
