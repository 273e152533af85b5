// See fma_peak_simd.hpp.

#include "fma_peak_simd.hpp"

#include "kernels/simd.hpp"

namespace xgrad::bench {

template <class Arch>
double FmaPeakLoop::operator()(Arch, std::int64_t iterations, float factor, float* result) const {
  using Vec = xsimd::batch<float, Arch>;
  // FMA latency (4 cycles) x FMAs issued a cycle (up to 2) = 8 chains keep the
  // units busy; 12 leave slack for the loop counter.
  constexpr int chains = 12;
  Vec acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = Vec(1e-3f * static_cast<float>(c));
  const Vec scale(factor), shift(1e-3f);
  for (std::int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 16
    for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], scale, shift);
  Vec sum = acc[0];
  for (int c = 1; c < chains; ++c) sum += acc[c];
  float lanes[Vec::size];
  sum.store_unaligned(lanes);
  *result = 0;
  for (float lane : lanes) *result += lane;
  return 2.0 * static_cast<double>(Vec::size) * chains * static_cast<double>(iterations);
}

template double FmaPeakLoop::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, std::int64_t, float, float*) const;

}  // namespace xgrad::bench
