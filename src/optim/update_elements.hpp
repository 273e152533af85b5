#pragma once
// Internal: an optimiser's element-by-element update split over the kernel
// threads. Each element's new values depend on that element alone, so any
// split gives the same results as one thread.

#include <cstdint>

#include "util/parallel.hpp"

namespace xgrad::optim {

/// Elements per thread chunk, at least: smaller updates stay on the calling
/// thread (a pool wake-up costs more than splitting them saves).
constexpr std::int64_t kUpdateGrain = std::int64_t{1} << 16;

/// Calls update(i) for every i in [0, n), split over the threads.
template <class F>
void update_elements(std::int64_t n, F update) {
  xgrad::detail::parallel_for(0, n, kUpdateGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) update(i);
  });
}

}  // namespace xgrad::optim
