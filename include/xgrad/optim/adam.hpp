#pragma once
/// \file optim/adam.hpp
/// Adam and AdamW: PyTorch's torch.optim.Adam / AdamW algorithms. Per step t
/// (counted per parameter), with gradient g and parameter p:
///
///   p = p * (1 - lr * weight_decay)       AdamW (decoupled weight decay)
///   g = g + weight_decay * p              Adam (L2 penalty in the gradient)
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g^2
///   v_max = max(v_max, v)                 amsgrad; v_max replaces v below
///   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// State: "step" (0-d f64), "exp_avg" (m), "exp_avg_sq" (v) and, with amsgrad,
/// "max_exp_avg_sq" (v_max).

#include <utility>
#include <vector>

#include "xgrad/optim/optimizer.hpp"

namespace xgrad::optim {

/// Declared in this order for designated initialisers: {.lr = 3e-4, .weight_decay = 1e-4}.
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};  ///< each in [0, 1)
  double eps = 1e-8;
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  bool amsgrad = false;
};

/// AdamOptions with AdamW's default decoupled weight decay.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  ///< decoupled: p *= 1 - lr * weight_decay each step
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  /// Throws ValueError for a negative lr, eps or weight decay, or betas outside [0, 1).
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});

  /// The options, with the current learning rate.
  AdamOptions options() const;

 protected:
  /// For AdamW: `decoupled_weight_decay` shrinks p instead of adding to g.
  Adam(std::string name, std::vector<Tensor> params, AdamOptions options, bool decoupled_weight_decay);

  std::vector<StateSlot> state_slots() const override;
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& state, bool first_step) override;

 private:
  AdamOptions options_;  // options_.lr is the initial value only: lr() is current
  bool decoupled_weight_decay_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
};

}  // namespace xgrad::optim
