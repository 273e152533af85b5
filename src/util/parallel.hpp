#pragma once
// Internal: the one parallel-for every kernel uses, and sums built on it.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace xgrad::detail {

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split into at most
/// get_num_threads() contiguous chunks of at least `grain` indices each; the
/// calling thread takes one chunk. Runs inline when there is one chunk, or when
/// called from inside another parallel_for (no nested parallelism).
/// Exceptions from fn are rethrown on the calling thread.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

/// Sums `size` values over the items [0, count) split as parallel_for splits
/// them: fn(chunk_begin, chunk_end, sums) adds its chunk's share into `sums` —
/// the first chunk's straight into out (zeroed first), every other chunk's into
/// a zeroed buffer of its own — and those buffers are then added into out in
/// chunk order. So the result repeats bit for bit at a given thread count (the
/// split, hence the order of the additions, depends on it).
template <class T, class F>
void parallel_sum(std::int64_t count, std::int64_t grain, std::int64_t size, T* out, F fn) {
  std::fill(out, out + size, T(0));
  std::vector<std::unique_ptr<T[]>> partial(static_cast<std::size_t>(std::max<std::int64_t>(0, count)));
  parallel_for(0, count, grain, [&](std::int64_t begin, std::int64_t end) {
    T* sums = out;
    if (begin != 0) {
      std::unique_ptr<T[]>& own = partial[static_cast<std::size_t>(begin)];
      own = std::make_unique<T[]>(static_cast<std::size_t>(size));  // value-initialised: zeros
      sums = own.get();
    }
    fn(begin, end, sums);
  });
  for (const std::unique_ptr<T[]>& sums : partial)
    if (sums)
      for (std::int64_t i = 0; i < size; ++i) out[i] += sums[i];
}

}  // namespace xgrad::detail
