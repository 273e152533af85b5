// Samplers: DistributedSampler's shards (disjoint, covering, equal in size,
// padded or dropped), its epoch permutation (the DataLoader's own), and a
// DataLoader driven by a sampler.

#include <numeric>
#include <set>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace data = xgrad::data;

namespace {

std::shared_ptr<data::TensorDataset> numbered(std::int64_t n) {
  return std::make_shared<data::TensorDataset>(arange(0, static_cast<double>(n), 1, {.dtype = f64}),
                                               arange(0, static_cast<double>(n), 1, {.dtype = i64}));
}

std::vector<std::int64_t> visited(data::DataLoader& loader) {
  std::vector<std::int64_t> out;
  for (const data::Batch& batch : loader)
    for (std::int64_t v : batch.targets.to_vector<std::int64_t>()) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("DistributedSampler's shards are disjoint, equal and cover the data", "[data][sampler]") {
  for (const std::int64_t n : {0, 1, 7, 12, 100, 101}) {
    for (const int replicas : {1, 2, 3, 4}) {
      for (const bool shuffle : {false, true}) {
        CAPTURE(n, replicas, shuffle);
        std::multiset<std::int64_t> all;
        std::int64_t per_rank = -1;
        for (int rank = 0; rank < replicas; ++rank) {
          const data::DistributedSampler sampler(
              n, {.num_replicas = replicas, .rank = rank, .shuffle = shuffle, .seed = 3});
          const auto mine = sampler.indices(5);
          CHECK(static_cast<std::int64_t>(mine.size()) == sampler.size());
          if (per_rank >= 0) CHECK(sampler.size() == per_rank);
          per_rank = sampler.size();
          all.insert(mine.begin(), mine.end());
        }
        // Padded with the head of the permutation: every index at least once, the
        // total rounded up to a multiple of the replicas.
        CHECK(static_cast<std::int64_t>(all.size()) == (n + replicas - 1) / replicas * replicas);
        for (std::int64_t i = 0; i < n; ++i) CHECK(all.count(i) >= 1);
        std::int64_t repeated = 0;
        for (std::int64_t i = 0; i < n; ++i) repeated += static_cast<std::int64_t>(all.count(i)) - 1;
        CHECK(repeated == static_cast<std::int64_t>(all.size()) - n);
      }
    }
  }
}

TEST_CASE("DistributedSampler with drop_last drops the tail: disjoint shards", "[data][sampler]") {
  const std::int64_t n = 103;
  std::set<std::int64_t> all;
  for (int rank = 0; rank < 4; ++rank) {
    const data::DistributedSampler sampler(n, {.num_replicas = 4, .rank = rank, .seed = 9, .drop_last = true});
    CHECK(sampler.size() == 25);
    for (std::int64_t i : sampler.indices(0)) CHECK(all.insert(i).second);  // never twice
  }
  CHECK(all.size() == 100);
}

TEST_CASE("DistributedSampler's epochs: one permutation per (seed, epoch), the DataLoader's", "[data][sampler]") {
  const auto dataset = numbered(40);
  const data::DistributedSampler one(40, {.num_replicas = 1, .rank = 0, .seed = 11});
  // The same permutation as a shuffling DataLoader with the same seed, epoch by epoch.
  data::DataLoader loader(dataset, {.batch_size = 8, .shuffle = true, .seed = 11});
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.set_epoch(epoch);
    CHECK(visited(loader) == one.indices(epoch));
  }
  CHECK(one.indices(0) != one.indices(1));
  CHECK(one.indices(1) == one.indices(1));
  const data::DistributedSampler other_seed(40, {.num_replicas = 1, .rank = 0, .seed = 12});
  CHECK(other_seed.indices(0) != one.indices(0));
  // Without shuffle: rank r takes r, r + N, ...
  const data::DistributedSampler plain(10, {.num_replicas = 3, .rank = 1, .shuffle = false});
  CHECK(plain.indices(0) == std::vector<std::int64_t>{1, 4, 7, 0});  // 10 padded to 12 with 0 and 1
}

TEST_CASE("N ranks of batch B/N see the examples of one process's batches of B", "[data][sampler]") {
  const auto dataset = numbered(48);
  data::DataLoader single(dataset, {.batch_size = 12, .shuffle = true, .seed = 5});
  std::vector<std::vector<std::int64_t>> single_batches;
  for (const data::Batch& batch : single) single_batches.push_back(batch.targets.to_vector<std::int64_t>());

  std::vector<std::vector<std::int64_t>> union_batches(single_batches.size());
  for (int rank = 0; rank < 3; ++rank) {
    auto sampler = std::make_shared<data::DistributedSampler>(
        48, data::DistributedSamplerOptions{.num_replicas = 3, .rank = rank, .seed = 5});
    data::DataLoader loader(dataset, {.batch_size = 4, .sampler = sampler});
    REQUIRE(loader.size() == static_cast<std::int64_t>(single_batches.size()));
    std::size_t step = 0;
    for (const data::Batch& batch : loader) {
      for (std::int64_t v : batch.targets.to_vector<std::int64_t>()) union_batches[step].push_back(v);
      ++step;
    }
  }
  for (std::size_t step = 0; step < single_batches.size(); ++step) {
    std::sort(single_batches[step].begin(), single_batches[step].end());
    std::sort(union_batches[step].begin(), union_batches[step].end());
    CHECK(union_batches[step] == single_batches[step]);
  }
}

TEST_CASE("DataLoader with a sampler: size, epochs and errors", "[data][sampler][errors]") {
  const auto dataset = numbered(10);
  auto sampler = std::make_shared<data::DistributedSampler>(
      10, data::DistributedSamplerOptions{.num_replicas = 2, .rank = 1, .shuffle = false});
  data::DataLoader loader(dataset, {.batch_size = 2, .sampler = sampler});
  CHECK(loader.size() == 3);
  CHECK(visited(loader) == std::vector<std::int64_t>{1, 3, 5, 7, 9});
  CHECK_THROWS_AS(data::DataLoader(dataset, {.batch_size = 2, .shuffle = true, .sampler = sampler}), ValueError);

  // A sampler for a bigger dataset names the index it cannot serve.
  auto too_big = std::make_shared<data::DistributedSampler>(
      20, data::DistributedSamplerOptions{.num_replicas = 1, .rank = 0, .shuffle = false});
  data::DataLoader wrong(dataset, {.batch_size = 2, .sampler = too_big});
  CHECK_THROWS_WITH(wrong.begin(), Catch::Contains("index 10") && Catch::Contains("10 examples"));

  CHECK_THROWS_AS(data::DistributedSampler(10, {.num_replicas = 0, .rank = 0}), ValueError);
  CHECK_THROWS_AS(data::DistributedSampler(10, {.num_replicas = 2, .rank = 2}), ValueError);
  CHECK_THROWS_AS(data::DistributedSampler(-1, {.num_replicas = 2, .rank = 0}), ValueError);
  CHECK_THROWS_AS(sampler->indices(-1), ValueError);
}

TEST_CASE("DistributedSampler's defaults need the process group", "[data][sampler]") {
  // (With init(), test_distributed.cpp checks the defaults under mpiexec.)
  REQUIRE_FALSE(distributed::is_initialized());
  CHECK_THROWS_WITH(data::DistributedSampler(10), Catch::Contains("distributed::init()"));
  CHECK(data::DistributedSampler(10, {.num_replicas = 2, .rank = 1}).num_replicas() == 2);
}
