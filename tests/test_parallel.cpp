// The thread pool behind every kernel.

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support.hpp"
#include "util/parallel.hpp"

using namespace xgrad;
using xgrad::testing::ThreadCountGuard;

TEST_CASE("parallel_for covers every index exactly once", "[parallel]") {
  ThreadCountGuard restore;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    CHECK(get_num_threads() == threads);
    for (std::int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      detail::parallel_for(0, n, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) hits[static_cast<std::size_t>(i)]++;
      });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_for uses several threads for big work and one for small", "[parallel]") {
  ThreadCountGuard restore;
  set_num_threads(2);
  std::atomic<int> chunks{0};
  detail::parallel_for(0, 100, 1000, [&](std::int64_t, std::int64_t) { chunks++; });
  CHECK(chunks == 1);  // below the grain: inline
  chunks = 0;
  std::vector<std::thread::id> ids(2);
  detail::parallel_for(0, 2, 1, [&](std::int64_t lo, std::int64_t) {
    ids[static_cast<std::size_t>(lo)] = std::this_thread::get_id();
    chunks++;
  });
  CHECK(chunks == 2);
  CHECK(ids[0] != ids[1]);
}

TEST_CASE("nested parallel_for runs inline, and exceptions reach the caller", "[parallel]") {
  ThreadCountGuard restore;
  set_num_threads(2);
  std::atomic<int> inner_chunks{0};
  detail::parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
    detail::parallel_for(0, 100, 1, [&](std::int64_t, std::int64_t) { inner_chunks++; });
  });
  CHECK(inner_chunks == 2);
  CHECK_THROWS_AS(detail::parallel_for(0, 2, 1,
                                       [](std::int64_t lo, std::int64_t) {
                                         if (lo == 1) throw std::runtime_error("boom");
                                       }),
                  std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> after{0};
  detail::parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) { after++; });
  CHECK(after == 2);
  XGRAD_REQUIRE_THROWS_WITH(set_num_threads(0), ValueError, "set_num_threads", "0");
}
