// The f32 SIMD loops of batch and local response normalisation (see
// kernels/norm_simd.hpp). This file is compiled once per instruction set;
// everything here is either in the private namespace XGRAD_SIMD_NS or an
// explicit instantiation for its arch.

#include "kernels/norm_simd.hpp"

#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

using Batch = xsimd::batch<float, XGRAD_SIMD_ARCH>;
constexpr std::int64_t kWidth = static_cast<std::int64_t>(Batch::size);
// Elements summed in f32 before the partial sum moves into the double total:
// each lane of each of the four accumulators adds 8 values per block.
constexpr std::int64_t kBlock = 32 * kWidth;

Batch load(const float* p) { return Batch::load_unaligned(p); }

// sum of term(i) over [0, length), term(i) being Batch-wide at i for the whole
// vectors and a float for the tail (all of a run shorter than a vector).
template <class VectorTerm, class ScalarTerm>
double run_sum(std::int64_t length, VectorTerm vector_term, ScalarTerm scalar_term) {
  const std::int64_t vector_end = length - length % kWidth;
  double total = 0;
  for (std::int64_t start = 0; start < vector_end; start += kBlock) {
    const std::int64_t end = vector_end - start < kBlock ? vector_end : start + kBlock;
    Batch a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    std::int64_t i = start;
    for (; i + 4 * kWidth <= end; i += 4 * kWidth) {
      a0 += vector_term(i);
      a1 += vector_term(i + kWidth);
      a2 += vector_term(i + 2 * kWidth);
      a3 += vector_term(i + 3 * kWidth);
    }
    for (; i < end; i += kWidth) a0 += vector_term(i);
    total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
  }
  float tail = 0.0f;
  for (std::int64_t i = vector_end; i < length; ++i) tail += scalar_term(i);
  return total + static_cast<double>(tail);
}

// The same for the two sums of the backward pass: {sum dy, sum dy * (x - center)}.
ChannelGradSums run_grad_sums(const float* dy, const float* x, std::int64_t length, float center) {
  const std::int64_t vector_end = length - length % kWidth;
  const Batch c(center);
  ChannelGradSums sums;
  for (std::int64_t start = 0; start < vector_end; start += kBlock) {
    const std::int64_t end = vector_end - start < kBlock ? vector_end : start + kBlock;
    Batch dy0(0.0f), dy1(0.0f), dyxc0(0.0f), dyxc1(0.0f);
    std::int64_t i = start;
    for (; i + 2 * kWidth <= end; i += 2 * kWidth) {
      const Batch g0 = load(dy + i), g1 = load(dy + i + kWidth);
      dy0 += g0;
      dy1 += g1;
      dyxc0 = xsimd::fma(g0, load(x + i) - c, dyxc0);
      dyxc1 = xsimd::fma(g1, load(x + i + kWidth) - c, dyxc1);
    }
    if (i < end) {
      const Batch g = load(dy + i);
      dy0 += g;
      dyxc0 = xsimd::fma(g, load(x + i) - c, dyxc0);
    }
    sums.dy += static_cast<double>(xsimd::hadd(dy0 + dy1));
    sums.dy_xc += static_cast<double>(xsimd::hadd(dyxc0 + dyxc1));
  }
  float tail_dy = 0.0f, tail_dyxc = 0.0f;
  for (std::int64_t i = vector_end; i < length; ++i) {
    tail_dy += dy[i];
    tail_dyxc += dy[i] * (x[i] - center);
  }
  sums.dy += static_cast<double>(tail_dy);
  sums.dy_xc += static_cast<double>(tail_dyxc);
  return sums;
}

}  // namespace XGRAD_SIMD_NS

using namespace XGRAD_SIMD_NS;

template <class Arch>
double ChannelSumKernel::operator()(Arch, const float* x, ChannelRuns runs) const {
  double total = 0;
  for (std::int64_t r = 0; r < runs.count; ++r) {
    const float* p = x + r * runs.stride;
    total += run_sum(
        runs.length, [p](std::int64_t i) { return load(p + i); }, [p](std::int64_t i) { return p[i]; });
  }
  return total;
}

template <class Arch>
double ChannelSquaredDeviationKernel::operator()(Arch, const float* x, ChannelRuns runs, float center) const {
  const Batch c(center);
  double total = 0;
  for (std::int64_t r = 0; r < runs.count; ++r) {
    const float* p = x + r * runs.stride;
    total += run_sum(
        runs.length,
        [p, c](std::int64_t i) {
          const Batch d = load(p + i) - c;
          return d * d;
        },
        [p, center](std::int64_t i) {
          const float d = p[i] - center;
          return d * d;
        });
  }
  return total;
}

template <class Arch>
void ChannelAffineKernel::operator()(Arch, const float* x, ChannelRuns runs, ChannelAffine<float> affine,
                                     float* y) const {
  const Batch center(affine.center), scale(affine.scale), shift(affine.shift);
  for (std::int64_t r = 0; r < runs.count; ++r) {
    const float* px = x + r * runs.stride;
    float* py = y + r * runs.stride;
    std::int64_t i = 0;
    for (; i + kWidth <= runs.length; i += kWidth)
      xsimd::fma(load(px + i) - center, scale, shift).store_unaligned(py + i);
    for (; i < runs.length; ++i) py[i] = (px[i] - affine.center) * affine.scale + affine.shift;
  }
}

template <class Arch>
ChannelGradSums ChannelGradSumsKernel::operator()(Arch, const float* dy, const float* x, ChannelRuns runs,
                                                  float center) const {
  ChannelGradSums total;
  for (std::int64_t r = 0; r < runs.count; ++r) {
    const ChannelGradSums run = run_grad_sums(dy + r * runs.stride, x + r * runs.stride, runs.length, center);
    total.dy += run.dy;
    total.dy_xc += run.dy_xc;
  }
  return total;
}

template <class Arch>
void ChannelGradInputKernel::operator()(Arch, const float* dy, const float* x, ChannelRuns runs,
                                        ChannelGradInput<float> coefficients, float* dx) const {
  const ChannelGradInput<float>& k = coefficients;
  const Batch center(k.center), dy_scale(k.dy_scale), x_scale(k.x_scale), shift(k.shift);
  for (std::int64_t r = 0; r < runs.count; ++r) {
    const float* pdy = dy + r * runs.stride;
    const float* px = x + r * runs.stride;
    float* pdx = dx + r * runs.stride;
    std::int64_t i = 0;
    for (; i + kWidth <= runs.length; i += kWidth)
      xsimd::fma(load(pdy + i), dy_scale, xsimd::fma(load(px + i) - center, x_scale, shift)).store_unaligned(pdx + i);
    for (; i < runs.length; ++i) pdx[i] = pdy[i] * k.dy_scale + ((px[i] - k.center) * k.x_scale + k.shift);
  }
}

template <class Arch>
void NegativePowerKernel::operator()(Arch, const float* d, std::int64_t n, float beta, float* out) const {
  const Batch exponent(-beta);
  std::int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) xsimd::pow(load(d + i), exponent).store_unaligned(out + i);
  if (i == n) return;
  // The tail, through one vector padded with ones.
  float tail[kWidth];
  for (std::int64_t j = 0; j < kWidth; ++j) tail[j] = i + j < n ? d[i + j] : 1.0f;
  xsimd::pow(load(tail), exponent).store_unaligned(tail);
  for (std::int64_t j = 0; i + j < n; ++j) out[i + j] = tail[j];
}

template double ChannelSumKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, ChannelRuns) const;
template double ChannelSquaredDeviationKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, ChannelRuns,
                                                                           float) const;
template void ChannelAffineKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, ChannelRuns,
                                                               ChannelAffine<float>, float*) const;
template ChannelGradSums ChannelGradSumsKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, const float*,
                                                                            ChannelRuns, float) const;
template void ChannelGradInputKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, const float*,
                                                                  ChannelRuns, ChannelGradInput<float>, float*) const;
template void NegativePowerKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, std::int64_t, float,
                                                               float*) const;

}  // namespace xgrad::kernels
