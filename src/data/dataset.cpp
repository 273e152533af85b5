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

Subset::Subset(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  if (!dataset_) fail<ValueError>("Subset: the dataset is null");
  for (std::size_t i = 0; i < indices_.size(); ++i)
    if (indices_[i] < 0 || indices_[i] >= dataset_->size())
      fail<ValueError>("Subset: index {} (position {}) is out of range for a dataset of {} examples", indices_[i], i,
                       dataset_->size());
}

std::int64_t Subset::size() const { return static_cast<std::int64_t>(indices_.size()); }

Example Subset::get(std::int64_t index) const {
  if (index < 0 || index >= size())
    fail<ValueError>("Subset: index {} is out of range for a subset of {} examples", index, size());
  return dataset_->get(indices_[static_cast<std::size_t>(index)]);
}

}  // namespace xgrad::data
