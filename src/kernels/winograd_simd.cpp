// xsimd bodies of the Winograd transforms (winograd_simd.hpp): lane j of a
// batch is tile t + j; the sixteen elements of a tile are sixteen vectors.

#include "kernels/winograd_simd.hpp"

#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

using Batch = xsimd::batch<float, XGRAD_SIMD_ARCH>;
constexpr std::int64_t kLanes = static_cast<std::int64_t>(Batch::size);
static_assert(kLanes <= kWinogradSlack);

}  // namespace XGRAD_SIMD_NS

template <class Arch>
void WinogradInputKernel::operator()(Arch, const float* phases, std::int64_t phase_stride, std::int64_t tiles,
                                     float* v, std::int64_t ld) const {
  using namespace XGRAD_SIMD_NS;
  for (std::int64_t t = 0; t < tiles; t += kLanes) {
    Batch a[4][4];  // d B, row by row
    for (std::int64_t i = 0; i < 4; ++i) {
      const float* even = phases + 2 * i * phase_stride + t;
      const float* odd = even + phase_stride;
      const Batch d0 = Batch::load_unaligned(even), d1 = Batch::load_unaligned(odd);
      const Batch d2 = Batch::load_unaligned(even + 1), d3 = Batch::load_unaligned(odd + 1);
      a[i][0] = d0 - d2;
      a[i][1] = d1 + d2;
      a[i][2] = d2 - d1;
      a[i][3] = d1 - d3;
    }
    for (std::int64_t j = 0; j < 4; ++j) {
      (a[0][j] - a[2][j]).store_unaligned(v + (0 + j) * ld + t);
      (a[1][j] + a[2][j]).store_unaligned(v + (4 + j) * ld + t);
      (a[2][j] - a[1][j]).store_unaligned(v + (8 + j) * ld + t);
      (a[1][j] - a[3][j]).store_unaligned(v + (12 + j) * ld + t);
    }
  }
}

template <class Arch>
void WinogradGradientKernel::operator()(Arch, const float* rows, std::int64_t stride, std::int64_t tiles, float* d,
                                        std::int64_t ld) const {
  using namespace XGRAD_SIMD_NS;
  for (std::int64_t t = 0; t < tiles; t += kLanes) {
    const Batch e00 = Batch::load_unaligned(rows + t), e01 = Batch::load_unaligned(rows + stride + t);
    const Batch e10 = Batch::load_unaligned(rows + 2 * stride + t), e11 = Batch::load_unaligned(rows + 3 * stride + t);
    const Batch a[4][2] = {{e00, e01}, {e00 + e10, e01 + e11}, {e00 - e10, e01 - e11}, {-e10, -e11}};  // A e
    for (std::int64_t i = 0; i < 4; ++i) {
      const Batch p = a[i][0], q = a[i][1];
      p.store_unaligned(d + (4 * i + 0) * ld + t);
      (p + q).store_unaligned(d + (4 * i + 1) * ld + t);
      (p - q).store_unaligned(d + (4 * i + 2) * ld + t);
      (-q).store_unaligned(d + (4 * i + 3) * ld + t);
    }
  }
}

template <class Arch>
void WinogradOutputKernel::operator()(Arch, const float* m, std::int64_t ld, std::int64_t tiles, float bias,
                                      float* out, std::int64_t out_stride) const {
  using namespace XGRAD_SIMD_NS;
  const Batch b(bias);
  for (std::int64_t t = 0; t < tiles; t += kLanes) {
    Batch s[4][2];  // M A, row by row
    for (std::int64_t i = 0; i < 4; ++i) {
      const Batch m0 = Batch::load_unaligned(m + (4 * i + 0) * ld + t);
      const Batch m1 = Batch::load_unaligned(m + (4 * i + 1) * ld + t);
      const Batch m2 = Batch::load_unaligned(m + (4 * i + 2) * ld + t);
      const Batch m3 = Batch::load_unaligned(m + (4 * i + 3) * ld + t);
      s[i][0] = m0 + m1 + m2;
      s[i][1] = m1 - m2 - m3;
    }
    for (std::int64_t j = 0; j < 2; ++j) {
      (s[0][j] + s[1][j] + s[2][j] + b).store_unaligned(out + j * out_stride + t);
      (s[1][j] - s[2][j] - s[3][j] + b).store_unaligned(out + (2 + j) * out_stride + t);
    }
  }
}

template void WinogradInputKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, std::int64_t,
                                                               std::int64_t, float*, std::int64_t) const;
template void WinogradGradientKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, std::int64_t,
                                                                  std::int64_t, float*, std::int64_t) const;
template void WinogradOutputKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, std::int64_t,
                                                                std::int64_t, float, float*, std::int64_t) const;

}  // namespace xgrad::kernels
