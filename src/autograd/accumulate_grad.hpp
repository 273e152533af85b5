#pragma once
// Internal: the node at the end of every path, which adds a gradient into a
// leaf tensor's .grad().

#include <memory>

#include "xgrad/autograd.hpp"

namespace xgrad::autograd {

class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<xgrad::detail::TensorImpl> leaf);
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }

 private:
  // Strong: the leaf holds only a weak pointer back, so there is no cycle.
  std::shared_ptr<xgrad::detail::TensorImpl> leaf_;
};

/// The edge along which the gradient of `t` (which requires grad) travels: its
/// grad_fn, or for a leaf its accumulator (created on first use, shared after).
Edge gradient_edge(const Tensor& t);

/// grad_slot += incoming, allocating (as a fresh contiguous copy) on first use;
/// under create_graph (grad mode on) out of place and recorded instead.
void accumulate_into(Tensor& grad_slot, const Tensor& incoming);

}  // namespace xgrad::autograd
