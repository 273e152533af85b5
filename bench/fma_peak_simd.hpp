#pragma once
// The machine's fp32 FMA peak, measured: a loop of independent FMA chains that
// keeps every FMA unit busy. fma_peak_simd.cpp is compiled once per instruction
// set (AVX-512, AVX2+FMA) like src/kernels/*_simd.cpp.

#include <cstdint>

namespace xgrad::bench {

struct FmaPeakLoop {
  /// Runs `iterations` steps of independent chains x = x * factor + c and
  /// returns the FLOPs done (2 per lane per FMA). The sum of the chains goes to
  /// *result so that the loop is kept.
  template <class Arch>
  double operator()(Arch, std::int64_t iterations, float factor, float* result) const;
};

}  // namespace xgrad::bench
