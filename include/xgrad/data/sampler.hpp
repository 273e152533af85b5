#pragma once
/// \file data/sampler.hpp
/// Samplers choose which examples of a dataset a DataLoader visits in an epoch,
/// and in what order (torch.utils.data.Sampler). Give one to a DataLoader
/// through DataLoaderOptions::sampler (instead of shuffle); the loader passes it
/// each pass's epoch, so DataLoader::set_epoch is all a resumed run needs.
///
///   // Rank r of N: its shard of a permutation that is the same on every rank.
///   auto sampler = std::make_shared<xgrad::data::DistributedSampler>(train->size(),
///                                                                    {.shuffle = true, .seed = 1});
///   xgrad::data::DataLoader loader(train, {.batch_size = 32, .sampler = sampler});

#include <cstdint>
#include <vector>

namespace xgrad::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// Indices per epoch.
  virtual std::int64_t size() const = 0;
  /// The dataset indices epoch `epoch` visits, in order (size() of them).
  virtual std::vector<std::int64_t> indices(std::int64_t epoch) const = 0;
};

/// Declared in this order for designated initialisers.
struct DistributedSamplerOptions {
  /// The number of shards and this process's one; defaults (-1) are
  /// distributed::world_size() and distributed::rank() (which need init()).
  int num_replicas = -1;
  int rank = -1;
  /// Permute each epoch, with the permutation a DataLoader{.shuffle = true,
  /// .seed = seed} would draw for that epoch, the same on every rank.
  bool shuffle = true;
  std::uint64_t seed = 0;
  /// Make the data divide evenly among the replicas by dropping the tail of
  /// the permutation (true) or by repeating its head (false, PyTorch's default).
  bool drop_last = false;
};

/// Rank r's shard of a dataset of `dataset_size` examples (PyTorch's
/// DistributedSampler): positions r, r + N, r + 2N, ... of the epoch's
/// permutation (N = num_replicas). Every rank gets the same number of indices,
/// so with the same batch size every rank runs the same number of steps; the
/// shards of one epoch are disjoint (except the repeated head when padding) and
/// together cover the data. With N ranks of batch B/N, step k of the job sees
/// exactly the examples of step k of one process with batch B and the same seed.
class DistributedSampler : public Sampler {
 public:
  /// Throws ValueError for a negative size, num_replicas < 1 or rank outside
  /// [0, num_replicas).
  explicit DistributedSampler(std::int64_t dataset_size, DistributedSamplerOptions options = {});

  std::int64_t size() const override { return per_replica_; }
  std::vector<std::int64_t> indices(std::int64_t epoch) const override;

  int num_replicas() const { return replicas_; }
  int rank() const { return rank_; }

 private:
  std::int64_t dataset_size_;
  DistributedSamplerOptions options_;
  int replicas_;
  int rank_;
  std::int64_t per_replica_;
};

}  // namespace xgrad::data
