#pragma once
/// \file ops/loss.hpp
/// Loss functions, as torch.nn.functional's (PyTorch 1.13 semantics and defaults).
///
/// Class targets are i64 tensors; class-loss inputs are [N, C] or [N, C, d1, ...]
/// with targets [N] or [N, d1, ...], or unbatched: an input [C] with a 0-d target.
/// Options are aggregates for designated initialisers:
///
///   cross_entropy(logits, labels, {.weight = w, .label_smoothing = 0.1});
///   binary_cross_entropy_with_logits(z, y, {.reduction = Reduction::sum, .pos_weight = pw});
///
/// Operands share one floating dtype (PyTorch's type promotion is not done:
/// mixing f32 and f64 throws DTypeError). A weight or pos_weight gets no gradient
/// (PyTorch implements none): one that requires grad while grad mode is on throws
/// AutogradError, as PyTorch does. The exception is cross_entropy with class
/// probabilities, a composition of ops in PyTorch too, whose weight gets its gradient.

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// batchmean (the sum divided by the batch size, input.shape()[0]) is kl_div's
/// only; every other loss throws ValueError for it, as PyTorch.
enum class Reduction { none, mean, sum, batchmean };

struct NllLossOptions {
  Tensor weight = {};  ///< [C] rescaling of each class; undefined: all 1
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;  ///< targets equal to this contribute nothing
};

struct CrossEntropyOptions {
  Tensor weight = {};  ///< [C] rescaling of each class; undefined: all 1
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;  ///< class-index targets only
  double label_smoothing = 0.0;      ///< in [0, 1], as torch.nn.CrossEntropyLoss
};

struct MseLossOptions {
  Reduction reduction = Reduction::mean;
};

struct L1LossOptions {
  Reduction reduction = Reduction::mean;
};

struct SmoothL1LossOptions {
  Reduction reduction = Reduction::mean;
  double beta = 1.0;  ///< >= 0; 0 gives l1_loss's values
};

struct HuberLossOptions {
  Reduction reduction = Reduction::mean;
  double delta = 1.0;  ///< > 0
};

struct BinaryCrossEntropyOptions {
  Tensor weight = {};  ///< broadcast to the input's shape; undefined: all 1
  Reduction reduction = Reduction::mean;
};

struct BinaryCrossEntropyWithLogitsOptions {
  Tensor weight = {};  ///< broadcast to the input's shape; undefined: all 1
  Reduction reduction = Reduction::mean;
  Tensor pos_weight = {};  ///< weight of the positive term, broadcast over the input (a [C] one over the last dim)
};

struct KlDivOptions {
  Reduction reduction = Reduction::mean;  ///< mean divides by every element (logs a warning, as PyTorch); see batchmean
  bool log_target = false;                ///< whether target holds log-probabilities
};

/// Negative log-likelihood of log-probabilities: per target -weight[t] * input[t],
/// 0 where the target is ignore_index. mean divides the sum by the sum of the
/// weights of the targets not ignored (their number without weights), so it is
/// NaN when all are ignored, as PyTorch. A target outside [0, C) that is not
/// ignore_index throws ValueError naming it.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, NllLossOptions options = {});
/// log_softmax over the class dim followed by nll_loss. With label smoothing eps
/// the loss per target is (1 - eps) * nll - eps / C * sum_c weight[c] * logp[c],
/// normalised as nll_loss (PyTorch's formula). A floating target of the input's
/// shape holds class probabilities ("soft" targets): the loss is
/// -sum_c weight[c] * logp[c] * q[c] with q = (1 - eps) * target + eps / C, and mean
/// divides by the number of samples (N * d1 * ...); ignore_index must then be
/// negative (it does not apply). Soft targets, and weight there, get gradients.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});
/// (input - target)^2, reduced. input and target broadcast against each other;
/// different shapes log a warning, as PyTorch's UserWarning.
Tensor mse_loss(const Tensor& input, const Tensor& target, MseLossOptions options = {});
/// |input - target|, broadcast and warned about as mse_loss; gradient 0 where they are equal.
Tensor l1_loss(const Tensor& input, const Tensor& target, L1LossOptions options = {});
/// 0.5 z^2 / beta where |z| < beta, else |z| - 0.5 beta (z = input - target);
/// broadcast and warned about as mse_loss. The gradient is PyTorch's kernel's:
/// with beta = 0, -1 (for input and for target) where z == 0.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1LossOptions options = {});
/// 0.5 z^2 where |z| < delta, else delta (|z| - 0.5 delta); broadcast and warned about as mse_loss.
Tensor huber_loss(const Tensor& input, const Tensor& target, HuberLossOptions options = {});
/// -weight (target log(input) + (1 - target) log(1 - input)) with each log clamped
/// to >= -100, as PyTorch. input holds probabilities: a value outside [0, 1] (or
/// NaN) throws ValueError; target must have input's shape. Gradients to input and target.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BinaryCrossEntropyOptions options = {});
/// binary_cross_entropy of sigmoid(input), computed stably from the logits:
/// weight ((1 - target) softplus(input) + pos_weight target softplus(-input)).
/// target must have input's shape. Gradients to input and target.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        BinaryCrossEntropyWithLogitsOptions options = {});
/// Kullback-Leibler divergence of target from the distribution whose log is
/// `input`: target (log(target) - input) pointwise (0 where target is 0; NaN for a
/// negative target), or exp(target) (target - input) with log_target. The operands
/// broadcast. Gradients to input and target.
Tensor kl_div(const Tensor& input, const Tensor& target, KlDivOptions options = {});

/// "none", "mean", "sum" or "batchmean" (for messages and module reprs).
const char* reduction_name(Reduction reduction);

}  // namespace xgrad
