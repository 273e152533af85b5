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

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xgrad::kernels {

template <std::size_t N, class Body>
void for_each_run(const std::vector<std::int64_t>& shape,
                  const std::array<const std::vector<std::int64_t>*, N>& strides, Body&& body) {
  for (std::int64_t size : shape)
    if (size == 0) return;

  // Collapse to (sizes, strides) with size-1 dims removed and mergeable dims merged.
  std::vector<std::int64_t> sizes;
  std::vector<std::array<std::int64_t, N>> steps;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<std::int64_t, N> s{};
    for (std::size_t k = 0; k < N; ++k) s[k] = (*strides[k])[d];
    if (!sizes.empty()) {
      bool mergeable = true;
      for (std::size_t k = 0; k < N; ++k)
        if (steps.back()[k] != s[k] * shape[d]) mergeable = false;
      if (mergeable) {
        sizes.back() *= shape[d];
        steps.back() = s;
        continue;
      }
    }
    sizes.push_back(shape[d]);
    steps.push_back(s);
  }

  std::array<std::int64_t, N> offset{};
  if (sizes.empty()) {  // a single element
    body(offset, std::int64_t{1}, std::array<std::int64_t, N>{});
    return;
  }
  const std::size_t inner = sizes.size() - 1;
  const std::int64_t run = sizes[inner];
  const std::array<std::int64_t, N> run_step = steps[inner];
  std::vector<std::int64_t> counter(inner, 0);
  while (true) {
    body(offset, run, run_step);
    // Odometer increment over the outer dims, updating offsets incrementally.
    std::size_t d = inner;
    while (d > 0) {
      --d;
      for (std::size_t k = 0; k < N; ++k) offset[k] += steps[d][k];
      if (++counter[d] < sizes[d]) break;
      for (std::size_t k = 0; k < N; ++k) offset[k] -= steps[d][k] * sizes[d];
      counter[d] = 0;
      if (d == 0) return;
    }
    if (inner == 0) return;
  }
}

}  // namespace xgrad::kernels
