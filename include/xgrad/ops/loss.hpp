#pragma once
/// \file ops/loss.hpp
/// Loss functions. Class targets are i64 tensors; inputs are [N, C] or
/// [N, C, d1, ...] with targets [N] or [N, d1, ...], as in PyTorch.

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

enum class Reduction { none, mean, sum };

struct NllLossOptions {
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;  ///< targets equal to this contribute nothing
};

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;  ///< in [0, 1], as torch.nn.CrossEntropyLoss
};

struct MseLossOptions {
  Reduction reduction = Reduction::mean;
};

/// Negative log-likelihood of log-probabilities. With mean reduction the sum is
/// divided by the number of non-ignored targets. A target outside [0, C) that is
/// not ignore_index throws ValueError naming it.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, NllLossOptions options = {});
/// log_softmax over dim 1 followed by nll_loss (with optional label smoothing).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});
/// (input - target)^2, reduced; shapes must match exactly.
Tensor mse_loss(const Tensor& input, const Tensor& target, MseLossOptions options = {});

}  // namespace xgrad
