// DistributedSampler: rank r's strided share of an epoch permutation that every
// rank draws alike (data/order.hpp, the DataLoader's own).

#include "xgrad/data/sampler.hpp"

#include "data/order.hpp"
#include "util/check.hpp"
#include "xgrad/distributed.hpp"

namespace xgrad::data {

using xgrad::detail::fail;

namespace {

int default_from_group(int given, const char* what, int (*from_group)()) {
  if (given >= 0) return given;
  if (!distributed::is_initialized())
    fail<ValueError>(
        "DistributedSampler: {} defaults to the process group's, but distributed::init() has not been called; "
        "call it first or pass .{}",
        what, what);
  return from_group();
}

}  // namespace

DistributedSampler::DistributedSampler(std::int64_t dataset_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size),
      options_(options),
      replicas_(default_from_group(options.num_replicas, "num_replicas", distributed::world_size)),
      rank_(default_from_group(options.rank, "rank", distributed::rank)) {
  if (dataset_size < 0) fail<ValueError>("DistributedSampler: dataset size must be >= 0, got {}", dataset_size);
  if (replicas_ < 1) fail<ValueError>("DistributedSampler: num_replicas must be >= 1, got {}", replicas_);
  if (rank_ >= replicas_) fail<ValueError>("DistributedSampler: rank must be in [0, {}), got {}", replicas_, rank_);
  per_replica_ = options_.drop_last ? dataset_size_ / replicas_ : (dataset_size_ + replicas_ - 1) / replicas_;
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t epoch) const {
  if (epoch < 0) fail<ValueError>("DistributedSampler: epoch must be >= 0, got {}", epoch);
  Generator generator(detail::epoch_seed(options_.seed, epoch));
  std::vector<std::int64_t> order = detail::visiting_order(dataset_size_, options_.shuffle, generator);
  const auto total = static_cast<std::size_t>(per_replica_ * replicas_);
  if (order.size() > total) {
    order.resize(total);  // drop_last: the tail goes
  } else {
    for (std::size_t i = 0; order.size() < total; ++i) order.push_back(order[i]);  // pad with the head
  }
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(per_replica_));
  for (std::size_t i = static_cast<std::size_t>(rank_); i < total; i += static_cast<std::size_t>(replicas_))
    mine.push_back(order[i]);
  return mine;
}

}  // namespace xgrad::data
