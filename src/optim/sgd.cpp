#include "xgrad/optim/sgd.hpp"

#include "optim/update_elements.hpp"
#include "util/dispatch.hpp"

namespace xgrad::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer("SGD", std::move(params), options.lr), options_(options) {
  require(options.momentum >= 0, "momentum", options.momentum, "must be >= 0");
  require(options.weight_decay >= 0, "weight_decay", options.weight_decay, "must be >= 0");
  if (options.nesterov && !(options.momentum > 0 && options.dampening == 0))
    detail::fail<ValueError>("SGD: nesterov momentum needs momentum > 0 and dampening == 0 (got momentum {}, "
                             "dampening {})",
                             options.momentum, options.dampening);
}

SGDOptions SGD::options() const {
  SGDOptions current = options_;
  current.lr = lr();
  return current;
}

std::vector<Optimizer::StateSlot> SGD::state_slots() const {
  if (options_.momentum == 0) return {};
  return {{.name = "momentum_buffer"}};
}

void SGD::update(Tensor& param, const Tensor& grad, std::vector<Tensor>& state, bool first_step) {
  detail::visit_floating(param.dtype(), "SGD", [&]<class T>() {
    const std::int64_t n = param.numel();
    T* p = param.mutable_data<T>();
    const T* g = grad.data<T>();
    T* buffer = state.empty() ? nullptr : state[0].mutable_data<T>();
    const T lr = static_cast<T>(this->lr());
    const T weight_decay = static_cast<T>(options_.weight_decay);
    const T momentum = static_cast<T>(options_.momentum);
    const T keep = static_cast<T>(1.0 - options_.dampening);
    update_elements(n, [&](std::int64_t i) {
      T d = g[i];
      if (options_.weight_decay != 0) d += weight_decay * p[i];
      if (buffer) {
        // The first step takes the gradient as the buffer, undamped (as PyTorch).
        buffer[i] = first_step ? d : momentum * buffer[i] + keep * d;
        d = options_.nesterov ? d + momentum * buffer[i] : buffer[i];
      }
      p[i] -= lr * d;
    });
  });
}

}  // namespace xgrad::optim
