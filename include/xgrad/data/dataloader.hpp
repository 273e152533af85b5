#pragma once
/// \file data/dataloader.hpp
/// DataLoader: batches of a Dataset, optionally shuffled and transformed, with
/// the next batch assembled on a background thread while the caller trains on
/// the current one.
///
///   auto train = std::make_shared<xgrad::data::FashionMNIST>();
///   xgrad::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1},
///                                  xgrad::data::transforms::Normalize({0.2860}, {0.3530}));
///   for (int epoch = 0; epoch < 10; ++epoch) {
///     loader.set_epoch(epoch);  // optional: passes count epochs 0, 1, 2, ... by themselves
///     for (const xgrad::data::Batch& batch : loader) {
///       // batch.inputs f32 [64, 1, 28, 28], batch.targets i64 [64]
///     }
///   }
///
/// Reproducible: the order of epoch e (with shuffle) and the random draws of the
/// transforms are a function of (seed, e) alone, so training resumed at epoch e
/// with set_epoch(e) sees the same batches, with or without prefetch.
///
/// Each pass (begin()) owns its background thread. Leaving the loop early, or an
/// exception, stops and joins it; an exception thrown while assembling a batch
/// (by the dataset or a transform) is rethrown to the caller at that batch.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>

#include "xgrad/data/dataset.hpp"
#include "xgrad/data/sampler.hpp"
#include "xgrad/data/transforms.hpp"

namespace xgrad::data {

/// Declared in this order for designated initialisers.
struct DataLoaderOptions {
  std::int64_t batch_size = 1;
  bool shuffle = false;    ///< a new permutation each epoch, drawn from (seed, epoch)
  std::uint64_t seed = 0;  ///< seeds the shuffle and the transforms' generator
  bool drop_last = false;  ///< drop a last batch smaller than batch_size
  bool prefetch = true;    ///< assemble the next batch on a background thread (queue of 2)
  /// Chooses each epoch's indices instead of shuffle (data/sampler.hpp), e.g. a
  /// DistributedSampler for this rank's shard. `seed` still seeds the transforms.
  std::shared_ptr<const Sampler> sampler = nullptr;
};

/// Examples stacked along a new first dim: inputs [B, ...], targets [B, ...].
struct Batch {
  Tensor inputs;
  Tensor targets;
};

namespace detail {
class EpochRun;
}

class DataLoader {
 public:
  /// Throws ValueError for a null dataset or batch_size < 1. `transform`, when
  /// given, is applied to each example's input before stacking.
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {}, Transform transform = {});

  /// Batches per epoch: ceil(n / batch_size), or floor with drop_last, where n is
  /// the dataset's size or the sampler's.
  std::int64_t size() const;
  const DataLoaderOptions& options() const { return options_; }
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }

  /// The epoch the next pass runs. Each begin() runs epoch() and then advances it.
  std::int64_t epoch() const { return epoch_; }
  /// Chooses the epoch of the next pass, e.g. to resume training at epoch e.
  void set_epoch(std::int64_t epoch);

  /// One pass over the data. Move-only: the iterator owns the pass (its order,
  /// generator and background thread), so it stays valid even if the loader goes.
  class Iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;

    Iterator();
    Iterator(Iterator&& other) noexcept;
    Iterator& operator=(Iterator&& other) noexcept;
    ~Iterator();

    const Batch& operator*() const { return batch_; }
    const Batch* operator->() const { return &batch_; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    /// True once the last batch has been passed (the pass is then released).
    bool operator==(std::default_sentinel_t) const { return run_ == nullptr; }

   private:
    friend class DataLoader;
    explicit Iterator(std::unique_ptr<detail::EpochRun> run);

    std::unique_ptr<detail::EpochRun> run_;
    Batch batch_;
  };

  /// Starts a pass over epoch() (then advances it) and assembles its first batch.
  Iterator begin();
  std::default_sentinel_t end() const { return std::default_sentinel; }

 private:
  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  Transform transform_;
  std::int64_t epoch_ = 0;
};

}  // namespace xgrad::data
