#include "xgrad/data/dataset.hpp"

#include "util/check.hpp"

namespace xgrad::data {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

void check_rows(const char* what, const Tensor& t) {
  if (!t.defined()) fail<ShapeError>("TensorDataset: {} is an undefined tensor", what);
  if (t.dim() == 0) fail<ShapeError>("TensorDataset: {} must have a first dim to index, got shape []", what);
}

}  // namespace

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  check_rows("inputs", inputs);
  check_rows("targets", targets);
  if (inputs.size(0) != targets.size(0))
    fail<ShapeError>("TensorDataset: inputs {} and targets {} differ in their first dim ({} != {})",
                     str(inputs.shape()), str(targets.shape()), inputs.size(0), targets.size(0));
  inputs_ = inputs.detach();
  targets_ = targets.detach();
}

std::int64_t TensorDataset::size() const { return inputs_.size(0); }

Example TensorDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size())
    fail<ValueError>("TensorDataset: index {} is out of range for a dataset of {} examples", index, size());
  return {inputs_.select(0, index), targets_.select(0, index)};
}

}  // namespace xgrad::data
