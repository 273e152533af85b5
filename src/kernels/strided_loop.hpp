#pragma once
// Kernel layer: walks N strided operands over one iteration shape, handing the
// innermost contiguous-in-index runs to a body. No Tensor, no autograd.
//
//   for_each_run<2>(shape, {&out_strides, &in_strides},
//                   [&](const auto& offset, std::int64_t n, const auto& step) { ... });
//
// offset[k] is operand k's element offset of the run's first element, step[k]
// its stride along the run. Size-1 dims are dropped and dims that are contiguous
// for every operand are merged, so a contiguous tensor is one run.
// parallel_for_each_run splits the walk over xgrad's threads.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/parallel.hpp"

namespace xgrad::kernels {

// The iteration space with size-1 dims dropped and mergeable dims merged:
// sizes[d] and each operand's stride along d (empty when a single element).
template <std::size_t N>
struct CollapsedLoop {
  std::vector<std::int64_t> sizes;
  std::vector<std::array<std::int64_t, N>> steps;
  bool empty = false;  // some dim has size 0
};

template <std::size_t N>
CollapsedLoop<N> collapse(const std::vector<std::int64_t>& shape,
                          const std::array<const std::vector<std::int64_t>*, N>& strides) {
  CollapsedLoop<N> loop;
  for (std::int64_t size : shape)
    if (size == 0) loop.empty = true;
  if (loop.empty) return loop;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<std::int64_t, N> s{};
    for (std::size_t k = 0; k < N; ++k) s[k] = (*strides[k])[d];
    if (!loop.sizes.empty()) {
      bool mergeable = true;
      for (std::size_t k = 0; k < N; ++k)
        if (loop.steps.back()[k] != s[k] * shape[d]) mergeable = false;
      if (mergeable) {
        loop.sizes.back() *= shape[d];
        loop.steps.back() = s;
        continue;
      }
    }
    loop.sizes.push_back(shape[d]);
    loop.steps.push_back(s);
  }
  return loop;
}

// Runs the body over indices [begin, end) of the outermost collapsed dim (of
// the run itself when there is only one dim).
template <std::size_t N, class Body>
void walk(const CollapsedLoop<N>& loop, std::int64_t begin, std::int64_t end, Body&& body) {
  std::array<std::int64_t, N> offset{};
  if (loop.sizes.empty()) {  // a single element
    body(offset, std::int64_t{1}, std::array<std::int64_t, N>{});
    return;
  }
  for (std::size_t k = 0; k < N; ++k) offset[k] = begin * loop.steps[0][k];
  const std::size_t inner = loop.sizes.size() - 1;
  if (inner == 0) {
    body(offset, end - begin, loop.steps[0]);
    return;
  }
  const std::int64_t run = loop.sizes[inner];
  const std::array<std::int64_t, N> run_step = loop.steps[inner];
  std::vector<std::int64_t> counter(inner, 0);
  counter[0] = begin;
  while (true) {
    body(offset, run, run_step);
    // Odometer increment over the outer dims, updating offsets incrementally.
    std::size_t d = inner;
    while (d > 0) {
      --d;
      for (std::size_t k = 0; k < N; ++k) offset[k] += loop.steps[d][k];
      if (++counter[d] < (d == 0 ? end : loop.sizes[d])) break;
      if (d == 0) return;
      for (std::size_t k = 0; k < N; ++k) offset[k] -= loop.steps[d][k] * loop.sizes[d];
      counter[d] = 0;
    }
  }
}

template <std::size_t N, class Body>
void for_each_run(const std::vector<std::int64_t>& shape,
                  const std::array<const std::vector<std::int64_t>*, N>& strides, Body&& body) {
  const CollapsedLoop<N> loop = collapse(shape, strides);
  if (loop.empty) return;
  walk(loop, 0, loop.sizes.empty() ? 1 : loop.sizes[0], body);
}

/// for_each_run with the outermost dim (or the single run) split over xgrad's
/// threads when there are enough elements. The body must be safe to call from
/// several threads at once on disjoint parts (as a map writing a fresh output is).
template <std::size_t N, class Body>
void parallel_for_each_run(const std::vector<std::int64_t>& shape,
                           const std::array<const std::vector<std::int64_t>*, N>& strides, Body&& body) {
  // Elements per thread, at least: below this the pool's wake-up costs more
  // than the second core saves on a memory-bound loop.
  constexpr std::int64_t kMinElementsPerThread = std::int64_t{1} << 16;
  const CollapsedLoop<N> loop = collapse(shape, strides);
  if (loop.empty) return;
  if (loop.sizes.empty()) {
    walk(loop, 0, 1, body);
    return;
  }
  std::int64_t per_outer = 1;  // elements per index of the outermost dim
  for (std::size_t d = 1; d < loop.sizes.size(); ++d) per_outer *= loop.sizes[d];
  const std::int64_t grain = std::max<std::int64_t>(1, kMinElementsPerThread / per_outer);
  detail::parallel_for(0, loop.sizes[0], grain,
                       [&](std::int64_t begin, std::int64_t end) { walk(loop, begin, end, body); });
}

}  // namespace xgrad::kernels
