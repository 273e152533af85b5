#pragma once
/// \file ops/normalization.hpp
/// Batch, group, layer and instance normalisation, dropout and local response
/// normalisation.

#include <cstdint>
#include <vector>

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

struct GroupNormOptions {
  double eps = 1e-5;
};

/// As torch.nn.functional.group_norm: input [N, C, *spatial] (C divisible by
/// num_groups), each sample's channels split into num_groups groups of C /
/// num_groups consecutive channels, each group normalised with its own mean and
/// biased variance over its channels and space; then y = xhat * weight[c] +
/// bias[c], weight and bias [C] and optional (undefined). Gradients flow to
/// input, weight and bias.
Tensor group_norm(const Tensor& input, std::int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  const GroupNormOptions& options = {});

struct LayerNormOptions {
  double eps = 1e-5;
};

/// As torch.nn.functional.layer_norm: normalises over the trailing dims of input
/// given by normalized_shape (which they must equal), each position of the
/// leading dims with its own mean and biased variance; then y = xhat * weight +
/// bias, weight and bias of shape normalized_shape and optional (undefined).
/// Gradients flow to input, weight and bias.
Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, const LayerNormOptions& options = {});

struct InstanceNormOptions {
  bool use_input_stats = true;  ///< false: normalise with the running statistics (both required)
  double momentum = 0.1;
  double eps = 1e-5;
};

/// As torch.nn.functional.instance_norm: input [N, C, *spatial]; with
/// use_input_stats each (sample, channel) is normalised with its own mean and
/// biased variance over space (which must hold more than one element), and
/// running_mean / running_var [C], when given, are updated in place with the
/// mean over the batch of those statistics (the unbiased variance):
/// running = (1 - momentum) * running + momentum * mean_n(stat). Without it, x is
/// normalised with the running statistics, as batch_norm in evaluation. Then
/// y = xhat * weight[c] + bias[c]; weight, bias and the running statistics are
/// optional (undefined). Gradients flow to input, weight and bias.
Tensor instance_norm(const Tensor& input, const Tensor& running_mean = {}, const Tensor& running_var = {},
                     const Tensor& weight = {}, const Tensor& bias = {}, const InstanceNormOptions& options = {});

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
