// to(dtype), clone(): copies that gradients flow through.

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"

namespace xgrad {

Tensor Tensor::to(DType target) const {
  detail::check_defined("to", *this);
  if (target == dtype()) return *this;
  Tensor out = detail::copy_as(*this, target);
  if (!detail::any_requires_grad({*this}) || !is_floating(target)) return out;
  return detail::record("ToBackward", {*this}, out, [from = dtype()](const detail::BackwardArgs& args) {
    return std::vector<Tensor>{args.grad().to(from)};
  });
}

Tensor Tensor::clone() const {
  detail::check_defined("clone", *this);
  Tensor out = detail::copy_as(*this, dtype());
  if (!detail::any_requires_grad({*this})) return out;
  return detail::record("CloneBackward", {*this}, out,
                        [](const detail::BackwardArgs& args) { return std::vector<Tensor>{args.grad()}; });
}

}  // namespace xgrad
