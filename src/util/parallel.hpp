#pragma once
// Internal: the one parallel-for every kernel uses, and sums built on it.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "xgrad/parallel.hpp"

namespace xgrad::detail {

/// With deterministic algorithms on, work whose result depends on how it is
/// split is split as if there were this many threads, whatever the real count.
inline constexpr int kDeterministicSplit = 8;

/// The number of parts to cut such work into: the thread count, or
/// kDeterministicSplit with deterministic algorithms on.
int split_count();

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split into at most
/// get_num_threads() contiguous chunks of at least `grain` indices each; the
/// calling thread takes one chunk. Runs inline when there is one chunk, or when
/// called from inside another parallel_for (no nested parallelism).
/// Exceptions from fn are rethrown on the calling thread.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

/// Sums `size` values over the items [0, count) in chunks: fn(chunk_begin,
/// chunk_end, sums) adds its chunk's share into `sums` — the first chunk's
/// straight into out (zeroed first), every other chunk's into a zeroed buffer of
/// its own — and those buffers are then added into out in chunk order. The chunks
/// are parallel_for's (one per thread), so the result repeats bit for bit at a
/// given thread count; with deterministic algorithms on they are a fixed split
/// (at most kDeterministicSplit chunks of at least `grain` items) that the
/// threads share, so the result is the same at every thread count.
template <class T, class F>
void parallel_sum(std::int64_t count, std::int64_t grain, std::int64_t size, T* out, F fn) {
  std::fill(out, out + size, T(0));
  std::vector<std::unique_ptr<T[]>> partial(static_cast<std::size_t>(std::max<std::int64_t>(0, count)));
  const auto sum_chunk = [&](std::int64_t begin, std::int64_t end) {
    T* sums = out;
    if (begin != 0) {
      std::unique_ptr<T[]>& own = partial[static_cast<std::size_t>(begin)];
      own = std::make_unique<T[]>(static_cast<std::size_t>(size));  // value-initialised: zeros
      sums = own.get();
    }
    fn(begin, end, sums);
  };
  if (are_deterministic_algorithms_enabled()) {
    const std::int64_t chunks =
        std::clamp<std::int64_t>(count / std::max<std::int64_t>(grain, 1), 1, kDeterministicSplit);
    parallel_for(0, chunks, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t c = lo; c < hi; ++c) sum_chunk(count * c / chunks, count * (c + 1) / chunks);
    });
  } else {
    parallel_for(0, count, grain, sum_chunk);
  }
  for (const std::unique_ptr<T[]>& sums : partial)
    if (sums)
      for (std::int64_t i = 0; i < size; ++i) out[i] += sums[i];
}

}  // namespace xgrad::detail
