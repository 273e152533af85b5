#pragma once
// Kernel layer: the f32 SIMD loops of batch normalisation, one channel at a
// time, and the power of local response normalisation. Called through simd_call (kernels/simd.hpp);
// kernels/norm.hpp declares their scalar twins and says where they are used.

#include <cstdint>

namespace xgrad::kernels {

/// One channel of contiguous [N, C, S] data: N runs of S elements, C * S apart.
struct ChannelRuns {
  std::int64_t count;   ///< N
  std::int64_t stride;  ///< C * S
  std::int64_t length;  ///< S
};

/// y = (x - center) * scale + shift
template <class T>
struct ChannelAffine {
  T center, scale, shift;
};

/// dx = dy * dy_scale + (x - center) * x_scale + shift
template <class T>
struct ChannelGradInput {
  T center, dy_scale, x_scale, shift;
};

/// The two sums batch norm's backward needs over one channel.
struct ChannelGradSums {
  double dy = 0;     ///< sum dy
  double dy_xc = 0;  ///< sum dy * (x - center)
};

// Each kernel reads its channel of x (and dy) at x + r * stride + i for run r,
// element i. Reductions add f32 partial sums of at most a few hundred elements
// into a double total, so long channels lose no accuracy.

/// sum x
struct ChannelSumKernel {
  template <class Arch>
  double operator()(Arch, const float* x, ChannelRuns runs) const;
};

/// sum (x - center)^2
struct ChannelSquaredDeviationKernel {
  template <class Arch>
  double operator()(Arch, const float* x, ChannelRuns runs, float center) const;
};

/// y = (x - center) * scale + shift, y laid out like x.
struct ChannelAffineKernel {
  template <class Arch>
  void operator()(Arch, const float* x, ChannelRuns runs, ChannelAffine<float> affine, float* y) const;
};

/// {sum dy, sum dy * (x - center)}, dy laid out like x.
struct ChannelGradSumsKernel {
  template <class Arch>
  ChannelGradSums operator()(Arch, const float* dy, const float* x, ChannelRuns runs, float center) const;
};

/// dx = dy * dy_scale + (x - center) * x_scale + shift, dy and dx laid out like x.
struct ChannelGradInputKernel {
  template <class Arch>
  void operator()(Arch, const float* dy, const float* x, ChannelRuns runs, ChannelGradInput<float> coefficients,
                  float* dx) const;
};

/// out = d^-beta for n values d > 0 (local response norm's scale); out may be d.
struct NegativePowerKernel {
  template <class Arch>
  void operator()(Arch, const float* d, std::int64_t n, float beta, float* out) const;
};

}  // namespace xgrad::kernels
