// Tensors kept for backward, and the Context of user-defined Functions.

#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"

namespace xgrad::autograd {

using xgrad::detail::fail;

SavedTensor::SavedTensor(const Tensor& tensor) {
  if (!tensor.defined()) return;
  data_ = tensor.detach();
  original_ = tensor.impl().get();
  version_ = tensor.impl()->storage->version();
  const auto& impl = tensor.impl();
  if (impl->grad_fn) {
    grad_fn_ = impl->grad_fn;  // recorded earlier than the saving node: no cycle
    output_nr_ = impl->output_nr;
  } else if (impl->requires_grad) {
    leaf_ = impl;
  }
}

SavedTensor SavedTensor::output(const Tensor& tensor, std::uint32_t output_nr) {
  SavedTensor saved(tensor);
  if (saved.defined()) saved.mark_output(output_nr);
  return saved;
}

bool SavedTensor::saved(const Tensor& t) const { return t.defined() && t.impl().get() == original_; }

void SavedTensor::mark_output(std::uint32_t output_nr) {
  grad_fn_.reset();
  leaf_.reset();
  output_nr_ = output_nr;
  is_output_ = true;
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (data_.defined() && data_.impl()->storage->version() != version_)
    fail<AutogradError>(
        "{}: a tensor of shape {} saved for backward was modified by an in-place operation after "
        "it was saved (version {} now, {} when saved); clone() it before modifying it",
        op, xgrad::detail::str(data_.shape()), data_.impl()->storage->version(), version_);
  // Outside create_graph the values are all a backward needs.
  if (!data_.defined() || !is_grad_enabled()) return data_;
  if (leaf_) return Tensor(leaf_);
  std::shared_ptr<Node> producer = grad_fn_;
  if (is_output_) producer = detail::running_node();
  if (!producer) return data_;
  Tensor connected = data_.detach();
  connected.impl()->grad_fn = std::move(producer);
  connected.impl()->output_nr = output_nr_;
  return connected;
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

void Context::mark_non_differentiable(const std::vector<Tensor>& outputs) {
  for (const Tensor& t : outputs)
    if (t.defined()) non_differentiable_.push_back(t.impl().get());
}

void Context::settle_outputs(std::vector<Tensor>& outputs) {
  for (std::size_t k = 0; k < outputs.size(); ++k)
    for (SavedTensor& s : saved_)
      if (s.saved(outputs[k])) s.mark_output(static_cast<std::uint32_t>(k));
  for (Tensor& out : outputs)
    for (const xgrad::detail::TensorImpl* cut : non_differentiable_)
      if (out.impl().get() == cut) out = out.detach();  // the node keeps the output slot, which gets zeros
  non_differentiable_.clear();
}

void Context::release() {
  saved_.clear();
  saved_data.clear();
  released_ = true;
}

}  // namespace xgrad::autograd
