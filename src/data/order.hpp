#pragma once
// Internal: the epoch permutation a shuffling DataLoader visits, shared with the
// DistributedSampler so that N ranks of batch B/N see one process's batches of B.

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "xgrad/data/transforms.hpp"
#include "xgrad/random.hpp"

namespace xgrad::data::detail {

// SplitMix64's finaliser: nearby inputs (seeds 0 and 1, epochs 3 and 4) give unrelated outputs.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The seed of epoch `epoch`'s generator (its permutation, then its transforms' draws).
inline std::uint64_t epoch_seed(std::uint64_t seed, std::int64_t epoch) {
  return mix(mix(seed) ^ static_cast<std::uint64_t>(epoch));
}

// 0, 1, ..., n - 1, shuffled (Fisher-Yates) from `generator` when asked.
inline std::vector<std::int64_t> visiting_order(std::int64_t n, bool shuffle, Generator& generator) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (shuffle)
    for (std::int64_t i = n - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(random_index(generator, i + 1))]);
  return order;
}

}  // namespace xgrad::data::detail
