#include "xgrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "optim/update_elements.hpp"
#include "util/dispatch.hpp"

namespace xgrad::optim {

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam("Adam", std::move(params), options, /*decoupled_weight_decay=*/false) {}

Adam::Adam(std::string name, std::vector<Tensor> params, AdamOptions options, bool decoupled_weight_decay)
    : Optimizer(std::move(name), std::move(params), options.lr),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  const auto [beta1, beta2] = options.betas;
  require(options.eps >= 0, "eps", options.eps, "must be >= 0");
  require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "must be in [0, 1)");
  require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "must be in [0, 1)");
  require(options.weight_decay >= 0, "weight_decay", options.weight_decay, "must be >= 0");
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam("AdamW", std::move(params),
           AdamOptions{.lr = options.lr,
                       .betas = options.betas,
                       .eps = options.eps,
                       .weight_decay = options.weight_decay,
                       .amsgrad = options.amsgrad},
           /*decoupled_weight_decay=*/true) {}

AdamOptions Adam::options() const {
  AdamOptions current = options_;
  current.lr = lr();
  return current;
}

std::vector<Optimizer::StateSlot> Adam::state_slots() const {
  std::vector<StateSlot> slots{{.name = "step", .scalar = true}, {.name = "exp_avg"}, {.name = "exp_avg_sq"}};
  if (options_.amsgrad) slots.push_back({.name = "max_exp_avg_sq"});
  return slots;
}

void Adam::update(Tensor& param, const Tensor& grad, std::vector<Tensor>& state, bool /*first_step*/) {
  double& step = state[0].mutable_data<double>()[0];
  step += 1;
  // Plain names, not a structured binding: clang 14 cannot capture one in a lambda (C++20 P1091, clang 16).
  const double beta1 = options_.betas.first, beta2 = options_.betas.second;
  // Bias corrections in double, as PyTorch computes them in Python floats.
  const double step_size = lr() / (1 - std::pow(beta1, step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
  const bool l2_penalty = !decoupled_weight_decay_ && options_.weight_decay != 0;

  detail::visit_floating(param.dtype(), name().c_str(), [&]<class T>() {
    const std::int64_t n = param.numel();
    T* p = param.mutable_data<T>();
    const T* g = grad.data<T>();
    T* exp_avg = state[1].mutable_data<T>();
    T* exp_avg_sq = state[2].mutable_data<T>();
    T* max_exp_avg_sq = options_.amsgrad ? state[3].mutable_data<T>() : nullptr;
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T one_minus_b1 = static_cast<T>(1 - beta1), one_minus_b2 = static_cast<T>(1 - beta2);
    const T eps = static_cast<T>(options_.eps);
    const T weight_decay = static_cast<T>(options_.weight_decay);
    const T decay = static_cast<T>(1 - lr() * options_.weight_decay);
    const T size = static_cast<T>(step_size);
    const T correction2 = static_cast<T>(bias_correction2_sqrt);
    update_elements(n, [&](std::int64_t i) {
      if (decoupled_weight_decay_) p[i] *= decay;
      const T d = l2_penalty ? g[i] + weight_decay * p[i] : g[i];
      exp_avg[i] = b1 * exp_avg[i] + one_minus_b1 * d;
      exp_avg_sq[i] = b2 * exp_avg_sq[i] + one_minus_b2 * d * d;
      T second_moment = exp_avg_sq[i];
      if (max_exp_avg_sq) second_moment = max_exp_avg_sq[i] = std::max(max_exp_avg_sq[i], exp_avg_sq[i]);
      p[i] -= size * (exp_avg[i] / (std::sqrt(second_moment) / correction2 + eps));
    });
  });
}

}  // namespace xgrad::optim
