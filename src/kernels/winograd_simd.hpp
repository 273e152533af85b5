#pragma once
// Kernel layer: the SIMD transforms of the Winograd F(2x2, 3x3) convolution
// (conv_winograd.hpp), compiled once per instruction set (winograd_simd.cpp)
// and called through simd_call. Both run across the tiles of one tile row, a
// vector of tiles at a time, rounding the count up to whole vectors: callers
// leave kMaxLanes floats of slack after every array these read or write.

#include <cstdint>

namespace xgrad::kernels {

/// Floats of slack after every array the transforms touch (a vector of AVX-512).
constexpr std::int64_t kWinogradSlack = 16;

/// V[ξ * ld + t] = (Bᵀ d_t B)[ξ] for tiles t < `tiles`, where tile t's 4x4
/// input d_t has row i, column 2a + b at phases[(2i + b) * phase_stride + t + a]
/// (the even and odd columns of the tile row's four input rows).
struct WinogradInputKernel {
  template <class Arch>
  void operator()(Arch, const float* phases, std::int64_t phase_stride, std::int64_t tiles, float* v,
                  std::int64_t ld) const;
};

/// D[ξ * ld + t] = (A e_t Aᵀ)[ξ] for tiles t < `tiles`, the output-gradient
/// side of the weight gradient: tile t's 2x2 output gradient e_t has row a,
/// column b at rows[(2a + b) * stride + t].
struct WinogradGradientKernel {
  template <class Arch>
  void operator()(Arch, const float* rows, std::int64_t stride, std::int64_t tiles, float* d, std::int64_t ld) const;
};

/// The 2x2 outputs Aᵀ M_t A + bias of tiles t < `tiles`, M_t[ξ] = m[ξ * ld + t]:
/// out[(2a + b) * out_stride + t] is output row a, column b of tile t.
struct WinogradOutputKernel {
  template <class Arch>
  void operator()(Arch, const float* m, std::int64_t ld, std::int64_t tiles, float bias, float* out,
                  std::int64_t out_stride) const;
};

}  // namespace xgrad::kernels
