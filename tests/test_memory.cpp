// The caching allocator behind tensor storage: reuse (best fit up to twice the
// size), size classes, statistics,
// the cache limit and empty_cache.

#include <xgrad/memory.hpp>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
const void* data_of(const Tensor& t) { return t.data<float>(); }
constexpr std::size_t kMiB = std::size_t{1} << 20;
}  // namespace

TEST_CASE("a freed large buffer is reused by the next tensor of its size class", "[memory]") {
  set_memory_cache_limit(std::size_t{4} << 30);
  empty_cache();
  const void* first = nullptr;
  {
    Tensor a = empty({256, 1024});  // 1 MiB
    first = data_of(a);
    CHECK(memory_stats().cached_bytes == 0);
  }
  CHECK(memory_stats().cached_bytes == kMiB);
  Tensor b = empty({1024, 250});  // 1,024,000 bytes: the same class (1 MiB, next is 1.125 MiB)
  CHECK(data_of(b) == first);
  CHECK(memory_stats().cached_bytes == 0);
}

TEST_CASE("an idle buffer serves a smaller request of at least half its size", "[memory]") {
  set_memory_cache_limit(std::size_t{4} << 30);
  empty_cache();
  const void* big = nullptr;
  {
    Tensor a = empty({512, 1024});  // 2 MiB
    big = data_of(a);
  }
  const std::size_t before = memory_stats().allocated_bytes;
  {
    Tensor b = empty({300, 1024});  // 1.17 MiB: no idle buffer of its class, the 2 MiB one fits
    CHECK(data_of(b) == big);
    CHECK(memory_stats().allocated_bytes - before == 2 * kMiB);  // counted at the buffer's size
    CHECK(memory_stats().cached_bytes == 0);
  }
  Tensor c = empty({200, 1024});  // 0.78 MiB: under half of it, so a buffer of its own
  CHECK(data_of(c) != big);
  CHECK(memory_stats().cached_bytes == 2 * kMiB);
  empty_cache();
}

TEST_CASE("memory statistics count large buffers by size class", "[memory]") {
  set_memory_cache_limit(std::size_t{4} << 30);
  empty_cache();
  const MemoryStats before = memory_stats();
  Tensor a = empty({256, 1024});        // 1 MiB exactly
  Tensor b = empty({1024 * 1024 + 1});  // 4 MiB + 4 bytes -> class 4.5 MiB
  Tensor small = empty({100});          // malloc'd, not counted
  CHECK(memory_stats().allocated_bytes - before.allocated_bytes == kMiB + 4 * kMiB + kMiB / 2);
  reset_peak_memory_stats();
  {
    Tensor c = empty({256, 1024});
    CHECK(memory_stats().peak_allocated_bytes == memory_stats().allocated_bytes);
  }
  const MemoryStats after = memory_stats();
  CHECK(after.peak_allocated_bytes == after.allocated_bytes + kMiB);
  CHECK(after.cached_bytes == kMiB);
  empty_cache();
  CHECK(memory_stats().cached_bytes == 0);
}

TEST_CASE("the cache limit bounds idle bytes, and 0 turns caching off", "[memory]") {
  set_memory_cache_limit(0);
  { Tensor a = empty({256, 1024}); }
  CHECK(memory_stats().cached_bytes == 0);
  set_memory_cache_limit(kMiB + kMiB / 2);
  {
    Tensor a = empty({256, 1024});
    Tensor b = empty({256, 1024});
  }
  CHECK(memory_stats().cached_bytes == kMiB);  // the second would exceed the limit
  set_memory_cache_limit(std::size_t{4} << 30);
}

TEST_CASE("recycled buffers carry no stale values into zeros and ones", "[memory]") {
  { Tensor a = full({256, 1024}, 7.0); }
  Tensor z = zeros({256, 1024});
  CHECK(z.sum().item<float>() == 0.0f);
  Tensor o = ones({256, 1024});
  CHECK(o.sum().item<double>() == 256.0 * 1024.0);
}

TEST_CASE("a leaf takes a gradient nothing else holds without copying it", "[memory][autograd]") {
  Tensor w = zeros({256, 1024}, {.requires_grad = true});  // 1 MiB
  Tensor loss = (w * 2.0).sum();
  const std::size_t before = memory_stats().allocated_bytes;
  reset_peak_memory_stats();
  loss.backward();
  // MulBackward's 1 MiB result becomes w.grad(): no second MiB for a copy.
  CHECK(memory_stats().peak_allocated_bytes - before == kMiB);
  CHECK(w.grad().sum().item<double>() == 2.0 * 256 * 1024);
}

TEST_CASE("a gradient shared by two leaves is copied for each", "[memory][autograd]") {
  Tensor x = zeros({256, 1024}, {.requires_grad = true});
  Tensor y = zeros({256, 1024}, {.requires_grad = true});
  ((x + y) * 1.0).sum().backward();  // AddBackward hands MulBackward's result to both inputs
  CHECK_FALSE(x.grad().shares_storage(y.grad()));
  x.grad().mul_(3.0);
  CHECK(y.grad().sum().item<double>() == 256.0 * 1024.0);
}
