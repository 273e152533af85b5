#pragma once
/// \file data/dataset.hpp
/// Datasets: indexable collections of (input, target) examples, as
/// torch::data::datasets. A DataLoader batches them.
///
///   auto data = std::make_shared<xgrad::data::TensorDataset>(xgrad::randn({100, 3}),
///                                                            xgrad::zeros({100}, {.dtype = xgrad::i64}));
///   xgrad::data::Example e = data->get(7);  // e.input [3], e.target []

#include <cstdint>
#include <memory>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::data {

/// One example: for image classification an f32 image [C, H, W] and an i64 label [].
struct Example {
  Tensor input;
  Tensor target;
};

/// The interface a DataLoader reads. get() is called from the loader's
/// background thread when prefetching (one call at a time), so it must not rely
/// on thread-local state of the caller.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  /// The example at index in [0, size()); throws ValueError outside.
  virtual Example get(std::int64_t index) const = 0;
};

/// Examples are the rows of two tensors (their first dim): input i is
/// inputs[i], target i is targets[i]. The tensors are held detached, and get()
/// returns views of them (no copy).
class TensorDataset : public Dataset {
 public:
  /// Throws ShapeError unless both are defined, at least 1-D and of equal first dim.
  TensorDataset(Tensor inputs, Tensor targets);

  std::int64_t size() const override;
  Example get(std::int64_t index) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};

/// The examples of `dataset` at `indices`, in that order (torch.utils.data.Subset):
/// e.g. the first 1,000 images for a quick run. Throws ValueError naming the first
/// index outside the dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> indices);

  std::int64_t size() const override;
  Example get(std::int64_t index) const override;

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<std::int64_t> indices_;
};

}  // namespace xgrad::data
