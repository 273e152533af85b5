// The process group's collectives. Run by ctest alone (a world of one) and under
// `mpiexec -n 2` and `-n 3` (tests/CMakeLists.txt): every rank runs the same
// cases in the same order, so their collectives meet. Values depend on the rank,
// so each check holds for any world size.

#include <cstring>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace dist = xgrad::distributed;
namespace data = xgrad::data;

namespace {

int start() {
  dist::init();
  return dist::rank();
}

// rank r's tensor: r + 1 + i / 8 for element i (exact in every dtype here).
Tensor rank_values(DType dtype, std::int64_t n, int rank) {
  Tensor t = arange(0, static_cast<double>(n), 1, {.dtype = f64}) / 8.0 + static_cast<double>(rank + 1);
  if (dtype == i64) t = arange(0, static_cast<double>(n), 1, {.dtype = f64}) + static_cast<double>(rank + 1);
  return t.to(dtype).contiguous();
}

// a and b of one shape, within `tolerance` relative to 1 + |b| (0: exactly).
void require_near(const Tensor& a, const Tensor& b, double tolerance) {
  REQUIRE(a.shape() == b.shape());
  CHECK(max_relative_difference(values(a), values(b)) <= tolerance);
}

}  // namespace

TEST_CASE("the process group: rank, size, idempotent init", "[distributed]") {
  const int rank = start();
  dist::init();  // again: nothing happens
  CHECK(dist::is_initialized());
  CHECK(dist::world_size() >= 1);
  CHECK(rank < dist::world_size());
  CHECK(dist::local_rank() < dist::local_world_size());
  CHECK(dist::local_world_size() <= dist::world_size());
  dist::barrier();
}

TEST_CASE("all_reduce: sum, avg, max and min over f32, f64 and i64", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  for (const DType dtype : {f32, f64, i64}) {
    // Sizes below, at and above the world size (empty ring chunks included), and large.
    for (const std::int64_t n : {1, 2, 3, 5, 1000, 100003}) {
      CAPTURE(dtype_name(dtype), n);
      Tensor sum = rank_values(dtype, n, rank), max = sum.clone(), min = sum.clone();
      dist::all_reduce(sum, dist::ReduceOp::sum);
      dist::all_reduce(max, dist::ReduceOp::max);
      dist::all_reduce(min, dist::ReduceOp::min);
      // sum over r of (r + 1 + v_i) = world * v_i + world (world + 1) / 2
      const Tensor base = rank_values(dtype, n, -1).to(f64);
      require_near(sum.to(f64), base * static_cast<double>(world) + world * (world + 1) / 2.0, 0);
      require_near(max.to(f64), base + static_cast<double>(world), 0);
      require_near(min.to(f64), base + 1.0, 0);
      CHECK(sum.dtype() == dtype);
      if (is_floating(dtype)) {
        Tensor avg = rank_values(dtype, n, rank);
        dist::all_reduce(avg, dist::ReduceOp::avg);
        require_near(avg.to(f64), base + (world + 1) / 2.0, 1e-6);
      }
    }
  }
}

TEST_CASE("all_reduce gives every rank the same bits, and again on the same inputs", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  // Values whose sum depends on the order of addition.
  manual_seed(17 + static_cast<std::uint64_t>(rank));
  Tensor x = randn({4099}, {.dtype = f32}) * 1e3;
  Tensor first = x.clone(), second = x.clone();
  dist::all_reduce(first, dist::ReduceOp::sum);
  dist::all_reduce(second, dist::ReduceOp::sum);
  CHECK(std::memcmp(first.data<float>(), second.data<float>(), 4099 * sizeof(float)) == 0);
  const std::vector<Tensor> everyone = dist::all_gather(first);
  REQUIRE(static_cast<int>(everyone.size()) == world);
  for (const Tensor& other : everyone)
    CHECK(std::memcmp(other.contiguous().data<float>(), first.data<float>(), 4099 * sizeof(float)) == 0);
}

TEST_CASE("all_reduce_async returns a Work to wait on", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  std::vector<Tensor> tensors;
  std::vector<dist::Work> works;
  for (int k = 0; k < 4; ++k) {
    tensors.push_back(full({257}, static_cast<double>(rank + k), {.dtype = f64}));
    works.push_back(dist::all_reduce_async(tensors.back(), dist::ReduceOp::sum));
  }
  for (int k = 0; k < 4; ++k) {
    works[k].wait();
    CHECK(works[k].is_completed());
    CHECK(works[k].finished() >= works[k].started());
    require_near(tensors[k], full({257}, world * (world - 1) / 2.0 + world * k, {.dtype = f64}), 0);
  }
  CHECK_FALSE(dist::Work().is_completed());
  CHECK_THROWS_AS(dist::Work().wait(), ValueError);
}

TEST_CASE("broadcast from rank 0 and from the last rank", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  for (const int root : {0, world - 1}) {
    for (const DType dtype : {f32, f64, i64}) {
      Tensor t = rank_values(dtype, 33, rank);
      dist::broadcast(t, root);
      require_near(t.to(f64), rank_values(dtype, 33, root).to(f64), 0);
    }
  }
  Tensor t = zeros({2});
  CHECK_THROWS_AS(dist::broadcast(t, world), ValueError);
  CHECK_THROWS_AS(dist::broadcast(t, -1), ValueError);
}

TEST_CASE("all_gather returns every rank's tensor in rank order", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  const Tensor mine = rank_values(i64, 6, rank).reshape({2, 3});
  const std::vector<Tensor> all = dist::all_gather(mine);
  REQUIRE(static_cast<int>(all.size()) == world);
  for (int r = 0; r < world; ++r) {
    CHECK(all[r].shape() == Shape{2, 3});
    CHECK(all[r].to_vector<std::int64_t>() == rank_values(i64, 6, r).to_vector<std::int64_t>());
  }
}

TEST_CASE("reduce_scatter leaves each rank its part of the reduction", "[distributed]") {
  const int rank = start(), world = dist::world_size();
  const Tensor x = rank_values(f64, 4 * world * 3, rank).reshape({4 * world, 3});
  const Tensor part = dist::reduce_scatter(x, dist::ReduceOp::sum);
  CHECK(part.shape() == Shape{4, 3});
  Tensor expected = zeros({4 * world, 3}, {.dtype = f64});
  for (int r = 0; r < world; ++r) expected = expected + rank_values(f64, 4 * world * 3, r).reshape({4 * world, 3});
  require_near(part, expected.narrow(0, 4 * rank, 4), 0);
  require_near(x, rank_values(f64, 4 * world * 3, rank).reshape({4 * world, 3}), 0);  // input unchanged
  const Tensor avg = dist::reduce_scatter(x, dist::ReduceOp::avg);
  require_near(avg, expected.narrow(0, 4 * rank, 4) / static_cast<double>(world), 1e-12);
  CHECK_THROWS_AS(dist::reduce_scatter(zeros({}), dist::ReduceOp::sum), ShapeError);
  if (world > 1) CHECK_THROWS_AS(dist::reduce_scatter(zeros({4 * world + 1}), dist::ReduceOp::sum), ShapeError);
}

TEST_CASE("collectives refuse what they cannot reduce, naming it", "[distributed][errors]") {
  start();
  Tensor ints = zeros({3}, {.dtype = i64});
  CHECK_THROWS_AS(dist::all_reduce(ints, dist::ReduceOp::avg), DTypeError);
  Tensor strided = zeros({4, 4}).transpose(0, 1);
  CHECK_THROWS_WITH(dist::all_reduce(strided), Catch::Contains("not contiguous") && Catch::Contains("[4, 4]"));
  Tensor undefined;
  CHECK_THROWS_AS(dist::broadcast(undefined, 0), ValueError);
  dist::barrier();  // nothing was sent: the ranks are still in step
}

TEST_CASE("a shape that differs across ranks is the same Error on every rank", "[distributed][errors]") {
  const int rank = start(), world = dist::world_size();
  if (world == 1) return;
  Tensor t = zeros({rank == 1 ? 5 : 4});
  CHECK_THROWS_WITH(dist::all_reduce(t),
                    Catch::Contains("rank 1 passed f32 [5]") && Catch::Contains("rank 0 passed f32 [4]"));
  Tensor d = zeros({4}, {.dtype = rank == 1 ? f64 : f32});
  CHECK_THROWS_WITH(dist::broadcast(d, 0), Catch::Contains("rank 1 passed f64 [4]"));
  Tensor o = ones({3});
  CHECK_THROWS_WITH(dist::all_reduce(o, rank == 1 ? dist::ReduceOp::max : dist::ReduceOp::sum),
                    Catch::Contains("rank 1 passed op max but rank 0 passed op sum"));
  Tensor b = ones({3});
  CHECK_THROWS_WITH(dist::broadcast(b, rank == 1 ? 1 : 0),
                    Catch::Contains("rank 1 passed root 1 but rank 0 passed root 0"));
  // And the group goes on working.
  Tensor ok = ones({2});
  dist::all_reduce(ok);
  require_near(ok, full({2}, static_cast<double>(world)), 0);
}

TEST_CASE("DistributedSampler: the job's shards are disjoint and cover the data", "[distributed][sampler]") {
  start();
  const int world = dist::world_size();
  for (const bool drop_last : {false, true}) {
    const data::DistributedSampler sampler(103, {.seed = 4, .drop_last = drop_last});  // the group's rank and size
    const auto mine = sampler.indices(2);
    const Tensor t = from_vector(mine, {static_cast<std::int64_t>(mine.size())});
    std::vector<std::int64_t> all;
    for (const Tensor& other : dist::all_gather(t))
      for (std::int64_t i : other.to_vector<std::int64_t>()) all.push_back(i);
    std::sort(all.begin(), all.end());
    const std::int64_t kept = drop_last ? 103 / world * world : 103;
    std::vector<std::int64_t> distinct = all;
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    CHECK(static_cast<std::int64_t>(distinct.size()) == kept);  // covering (all of it, or all but the tail)
    CHECK(static_cast<std::int64_t>(all.size()) == (drop_last ? kept : (103 + world - 1) / world * world));
  }
}
