#pragma once
/// \file optim/sgd.hpp
/// Stochastic gradient descent with momentum, dampening, L2 weight decay and
/// Nesterov momentum: PyTorch's torch.optim.SGD algorithm. Per step, with
/// gradient g and parameter p:
///
///   g = g + weight_decay * p
///   b = g                                   (first step)
///   b = momentum * b + (1 - dampening) * g  (later steps)      [momentum != 0]
///   g = nesterov ? g + momentum * b : b                        [momentum != 0]
///   p = p - lr * g
///
/// State: "momentum_buffer" (only when momentum != 0).

#include <vector>

#include "xgrad/optim/optimizer.hpp"

namespace xgrad::optim {

/// Declared in this order for designated initialisers: {.lr = 0.1, .momentum = 0.9}.
struct SGDOptions {
  double lr = 1e-3;  ///< PyTorch's default
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  ///< needs momentum > 0 and dampening == 0
};

class SGD : public Optimizer {
 public:
  /// Throws ValueError for a negative lr, momentum or weight decay, and for
  /// nesterov without momentum or with dampening.
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});

  /// The options, with the current learning rate.
  SGDOptions options() const;

 protected:
  std::vector<StateSlot> state_slots() const override;
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& state, bool first_step) override;

 private:
  SGDOptions options_;  // options_.lr is the initial value only: lr() is current
};

}  // namespace xgrad::optim
