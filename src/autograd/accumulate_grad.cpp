#include "autograd/accumulate_grad.hpp"

#include "tensor/tensor_impl.hpp"

namespace xgrad::autograd {

AccumulateGrad::AccumulateGrad(std::shared_ptr<xgrad::detail::TensorImpl> leaf) : leaf_(std::move(leaf)) {
  add_output(TensorMeta{leaf_->shape, leaf_->dtype});
}

Edge gradient_edge(const Tensor& t) {
  const auto& impl = t.impl();
  if (impl->grad_fn) return Edge{impl->grad_fn, impl->output_nr};
  std::shared_ptr<Node> accumulator = impl->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(impl);
    impl->grad_accumulator = accumulator;
  }
  return Edge{accumulator, 0};
}

void accumulate_into(Tensor& grad_slot, const Tensor& incoming) {
  NoGradGuard no_grad;
  if (!grad_slot.defined()) {
    grad_slot = incoming.clone();  // never alias: the same gradient may flow elsewhere
  } else {
    grad_slot.add_(incoming);
  }
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  accumulate_into(leaf_->grad, grads.at(0));
  return {};
}

}  // namespace xgrad::autograd
