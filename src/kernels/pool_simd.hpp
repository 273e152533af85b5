#pragma once
// Kernel layer: the SIMD halves of the pooling kernels (kernels/pool.hpp says
// which cases reach them). Functors defined in pool_simd.cpp, compiled once per
// instruction set and called through xsimd::dispatch; raw pointers and sizes
// only, and they never throw.

#include <cstdint>

namespace xgrad::kernels {

/// One output row of a pooling, along the input's last (contiguous) dim. Output
/// column j's window starts at input column j * stride - padding and takes
/// `kernel` columns `dilation` apart from each of the `rows` input rows that
/// start at plane + row_offsets[r] (the window's rows inside the input, in
/// window order).
struct PoolRow {
  const float* plane;
  const std::int64_t* row_offsets;
  std::int64_t rows;
  std::int64_t width;     ///< input row length
  std::int64_t readable;  ///< floats readable from plane (to the input's end)
  std::int64_t kernel, stride, padding, dilation;
};

/// Max pooling of output columns [begin, end), whose windows must lie inside
/// the input row: writes out[j] and, unless indices is null, indices[j] (flat
/// position in the plane; exact below 2^24) for whole vectors of columns (the
/// last one may overlap the one before and end at `end`; in a row narrower than
/// a vector, a vector whose extra lanes read on past the row, within
/// `readable`, and are dropped), and returns the first column it left to the
/// caller. Handles stride 1 and 2; any other stride returns `begin`.
struct MaxPoolRowKernel {
  template <class Arch>
  std::int64_t operator()(Arch, const PoolRow& row, std::int64_t begin, std::int64_t end, float* out,
                          std::int64_t* indices) const;
};

/// Average pooling of the same columns: out[j] = window sum / divisor.
struct AvgPoolRowKernel {
  template <class Arch>
  std::int64_t operator()(Arch, const PoolRow& row, std::int64_t begin, std::int64_t end, float divisor,
                          float* out) const;
};

/// Sum of x[0 .. n).
struct SumKernel {
  template <class Arch>
  float operator()(Arch, const float* x, std::int64_t n) const;
};

}  // namespace xgrad::kernels
