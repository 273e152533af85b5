#pragma once
// Internal: the one parallel-for every kernel uses.

#include <cstdint>
#include <functional>

namespace xgrad::detail {

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split into at most
/// get_num_threads() contiguous chunks of at least `grain` indices each; the
/// calling thread takes one chunk. Runs inline when there is one chunk, or when
/// called from inside another parallel_for (no nested parallelism).
/// Exceptions from fn are rethrown on the calling thread.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace xgrad::detail
