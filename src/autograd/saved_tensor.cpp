// Tensors kept for backward, and the Context of user-defined Functions.

#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"

namespace xgrad::autograd {

using xgrad::detail::fail;

SavedTensor::SavedTensor(const Tensor& tensor)
    : tensor_(tensor.defined() ? tensor.detach() : Tensor()),
      version_(tensor.defined() ? tensor.impl()->storage->version() : 0) {}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (tensor_.defined() && tensor_.impl()->storage->version() != version_)
    fail<AutogradError>(
        "{}: a tensor of shape {} saved for backward was modified by an in-place operation after "
        "it was saved (version {} now, {} when saved); clone() it before modifying it",
        op, xgrad::detail::str(tensor_.shape()), tensor_.impl()->storage->version(), version_);
  return tensor_;
}

void Context::save_for_backward(const std::vector<Tensor>& tensors) {
  saved_.clear();
  for (const Tensor& t : tensors) saved_.emplace_back(t);
}

std::vector<Tensor> Context::saved_tensors() const {
  if (released_) xgrad::detail::throw_freed_graph(name_);
  std::vector<Tensor> out;
  out.reserve(saved_.size());
  for (const SavedTensor& s : saved_) out.push_back(s.unpack(name_));
  return out;
}

bool Context::needs_input_grad(std::size_t index) const {
  return index < needs_input_grad_.size() && needs_input_grad_[index];
}

void Context::release() {
  saved_.clear();
  saved_data.clear();
  released_ = true;
}

}  // namespace xgrad::autograd
