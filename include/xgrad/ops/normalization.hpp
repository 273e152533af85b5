#pragma once
/// \file ops/normalization.hpp
/// Batch normalisation, dropout and local response normalisation.

#include <cstdint>

#include "xgrad/random.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad {

struct BatchNormOptions {
  bool training = false;
  double momentum = 0.1;
  double eps = 1e-5;
};

/// input [N, C] or [N, C, *spatial]; weight (gamma), bias (beta), running_mean
/// and running_var [C], each optional (undefined). Training normalises with the
/// batch statistics (biased variance) and, when running stats are given, updates
/// them in place: running = (1 - momentum) * running + momentum * batch, with the
/// unbiased batch variance for running_var. Evaluation normalises with the running
/// statistics (both required). Gradients flow to input, weight and bias.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& options = {});

struct DropoutOptions {
  double p = 0.5;         ///< probability of zeroing an element, in [0, 1]
  bool training = true;   ///< false: identity
};

/// Zeroes each element with probability p and scales the rest by 1 / (1 - p)
/// (inverted dropout), drawing from `generator` (default: the default generator).
Tensor dropout(const Tensor& input, const DropoutOptions& options = {}, Generator* generator = nullptr);

struct LocalResponseNormOptions {
  std::int64_t size = 5;  ///< channels in the window
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 1.0;
};

/// AlexNet's normalisation across channels, as torch.nn.LocalResponseNorm:
/// b_c = a_c / (k + alpha / size * sum_{c' in window(c)} a_c'^2)^beta, the window
/// centred on c (size / 2 before, (size - 1) / 2 after), zero-padded at the ends.
Tensor local_response_norm(const Tensor& input, const LocalResponseNormOptions& options = {});

}  // namespace xgrad
