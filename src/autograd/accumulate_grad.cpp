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
  if (is_grad_enabled()) {
    // create_graph: the accumulated gradient keeps its graph (out of place).
    grad_slot = grad_slot.defined() ? grad_slot + incoming : incoming.clone();
    return;
  }
  if (!grad_slot.defined()) {
    grad_slot = incoming.clone();  // never alias: the same gradient may flow elsewhere
  } else {
    grad_slot.add_(incoming);
  }
}

namespace {

// Whether nothing but `grad` refers to its values, so that it can become a
// leaf's .grad() as it is instead of being copied (a copy of a large layer's
// weight gradient is a transient as big as the layer).
bool held_only_here(const Tensor& grad) {
  const auto& impl = grad.impl();
  return impl.use_count() == 1 && impl->storage.use_count() == 1 && impl->offset == 0 && grad.is_contiguous() &&
         impl->storage->nbytes() == static_cast<std::size_t>(grad.numel()) * element_size(grad.dtype()) &&
         !grad.requires_grad();
}

}  // namespace

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  Tensor& grad = grads.at(0);
  if (!leaf_->grad.defined() && held_only_here(grad)) {
    leaf_->grad = std::move(grad);
  } else {
    accumulate_into(leaf_->grad, grad);
  }
  if (!leaf_->post_accumulate_hooks.empty()) {
    const auto hooks = leaf_->post_accumulate_hooks;  // a hook may remove itself
    const Tensor leaf(leaf_);
    for (const auto& [id, hook] : hooks) hook(leaf);
  }
  return {};
}

}  // namespace xgrad::autograd
