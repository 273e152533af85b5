// The SIMD depthwise passes (see depthwise_simd.hpp). Compiled once per
// instruction set: everything here is raw pointers, sizes and plain loops.
//
// Forward: along an output row, the positions whose every kernel tap falls
// inside x's row are computed a vector at a time (four vectors in flight to
// hide the FMA latency), the kernel taps in the inner loop, the last vector
// overlapping the one before; the few border positions take a scalar loop that
// skips taps in the padding.
// Weight pass: per tap, a dot product of dy's rows with the x rows that tap
// reads, over the whole batch; a row's last partial vector is taken as the
// full vector ending at the row's end, with the lanes already summed masked off.

#include "kernels/depthwise_simd.hpp"

#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

using Arch = XGRAD_SIMD_ARCH;

// [lo, hi): the indices i in [0, count) for which offset + i * step lies in [0, size).
struct Span {
  std::int64_t lo, hi;
};

inline Span inside(std::int64_t offset, std::int64_t step, std::int64_t size, std::int64_t count) {
  std::int64_t lo = 0, hi = 0;
  if (step == 1) {  // the common case, without divisions
    lo = offset >= 0 ? 0 : -offset;
    hi = size - offset;
  } else {
    lo = offset >= 0 ? 0 : (-offset + step - 1) / step;
    hi = offset > size - 1 ? 0 : (size - 1 - offset) / step + 1;
  }
  if (lo > count) lo = count;
  if (hi > count) hi = count;
  if (hi < lo) hi = lo;
  return {lo, hi};
}

// The kernel rows an output row (od, oh) reads inside x: taps kd in `depth`,
// kh in `height`, reading x row (first_d + kd * dilation[0], first_h + kh * dilation[1]).
struct RowTaps {
  Span depth, height;
  std::int64_t first_d, first_h;
};

inline RowTaps row_taps(const ConvGeometry& g, std::int64_t od, std::int64_t oh) {
  const std::int64_t first_d = od * g.stride[0] - g.pad[0], first_h = oh * g.stride[1] - g.pad[1];
  return {inside(first_d, g.dilation[0], g.in[0], g.kernel[0]), inside(first_h, g.dilation[1], g.in[1], g.kernel[1]),
          first_d, first_h};
}

template <class T>
inline const T* x_row(const ConvGeometry& g, const T* x, const RowTaps& taps, std::int64_t kd, std::int64_t kh) {
  return x + ((taps.first_d + kd * g.dilation[0]) * g.in[1] + taps.first_h + kh * g.dilation[1]) * g.in[2];
}

// One output element (a border or tail one), taps in the padding skipped.
template <class T>
inline T output_at(const ConvGeometry& g, const T* x, const T* w, const RowTaps& taps, T bias, std::int64_t ow) {
  T sum = bias;
  for (std::int64_t kd = taps.depth.lo; kd < taps.depth.hi; ++kd)
    for (std::int64_t kh = taps.height.lo; kh < taps.height.hi; ++kh) {
      const T* row = x_row(g, x, taps, kd, kh);
      const T* w_row = w + (kd * g.kernel[1] + kh) * g.kernel[2];
      for (std::int64_t kw = 0, iw = ow - g.pad[2]; kw < g.kernel[2]; ++kw, iw += g.dilation[2])
        if (iw >= 0 && iw < g.in[2]) sum += w_row[kw] * row[iw];
    }
  return sum;
}

// Unroll vectors of outputs from ow on, every tap inside x's rows.
template <int Unroll, class T>
inline void interior_vectors(const ConvGeometry& g, const T* x, const T* w, const RowTaps& taps, T bias,
                             std::int64_t ow, T* y_row) {
  using B = xsimd::batch<T, Arch>;
  B acc[Unroll];
  for (int u = 0; u < Unroll; ++u) acc[u] = B(bias);
  for (std::int64_t kd = taps.depth.lo; kd < taps.depth.hi; ++kd)
    for (std::int64_t kh = taps.height.lo; kh < taps.height.hi; ++kh) {
      const T* row = x_row(g, x, taps, kd, kh) + (ow - g.pad[2]);
      const T* w_row = w + (kd * g.kernel[1] + kh) * g.kernel[2];
      for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        const B weight(w_row[kw]);
        const T* in = row + kw * g.dilation[2];
        for (int u = 0; u < Unroll; ++u)
          acc[u] = xsimd::fma(weight, B::load_unaligned(in + u * static_cast<std::int64_t>(B::size)), acc[u]);
      }
    }
  for (int u = 0; u < Unroll; ++u) acc[u].store_unaligned(y_row + ow + u * static_cast<std::int64_t>(B::size));
}

template <class T>
void forward_plane(const ConvGeometry& g, const T* x, const T* w, T bias, T* y) {
  constexpr std::int64_t lanes = xsimd::batch<T, Arch>::size;
  const std::int64_t out_w = g.out[2];
  // Outputs whose first and last kw taps (hence all) are inside x's row.
  const Span first_tap = inside(-g.pad[2], 1, g.in[2], out_w);
  const Span last_tap = inside((g.kernel[2] - 1) * g.dilation[2] - g.pad[2], 1, g.in[2], out_w);
  const std::int64_t lo = first_tap.lo > last_tap.lo ? first_tap.lo : last_tap.lo;
  std::int64_t hi = first_tap.hi < last_tap.hi ? first_tap.hi : last_tap.hi;
  if (hi < lo) hi = lo;
  for (std::int64_t od = 0; od < g.out[0]; ++od)
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      const RowTaps taps = row_taps(g, od, oh);
      T* y_row = y + (od * g.out[1] + oh) * out_w;
      std::int64_t ow = 0;
      for (; ow < lo; ++ow) y_row[ow] = output_at(g, x, w, taps, bias, ow);
      for (; ow + 4 * lanes <= hi; ow += 4 * lanes) interior_vectors<4>(g, x, w, taps, bias, ow, y_row);
      for (; ow + lanes <= hi; ow += lanes) interior_vectors<1>(g, x, w, taps, bias, ow, y_row);
      if (ow < hi && hi - lo >= lanes) {  // the rest by one vector ending at hi, recomputing a few outputs
        interior_vectors<1>(g, x, w, taps, bias, hi - lanes, y_row);
        ow = hi;
      }
      for (; ow < out_w; ++ow) y_row[ow] = output_at(g, x, w, taps, bias, ow);
    }
}

// 0, 1, 2, ...: the lane numbers of a vector.
template <class T>
alignas(64) constexpr T kLaneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// sum of a[i] * b[i] for i in [0, n), added to two vector accumulators and a scalar.
template <class T>
inline void dot_into(const T* a, const T* b, std::int64_t n, xsimd::batch<T, Arch>& acc0, xsimd::batch<T, Arch>& acc1,
                     T& tail) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t lanes = B::size;
  std::int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    acc0 = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), acc0);
    acc1 = xsimd::fma(B::load_unaligned(a + i + lanes), B::load_unaligned(b + i + lanes), acc1);
  }
  for (; i + lanes <= n; i += lanes) acc0 = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), acc0);
  if (i < n && n >= lanes) {  // the rest by one vector ending at n, its lanes before i masked off
    const auto rest = B::load_unaligned(kLaneIndex<T>) >= B(static_cast<T>(lanes - (n - i)));
    acc1 = xsimd::fma(xsimd::select(rest, B::load_unaligned(a + n - lanes), B(T(0))), B::load_unaligned(b + n - lanes),
                      acc1);
    return;
  }
  for (; i < n; ++i) tail += a[i] * b[i];
}

// dw[tap] for one channel: sum over images and output positions of dy * the x element the tap reads.
template <class T>
T weight_tap(const ConvGeometry& g, const T* dy, const T* x, std::int64_t channel, std::int64_t kd, std::int64_t kh,
             std::int64_t kw) {
  using B = xsimd::batch<T, Arch>;
  const std::int64_t x_plane = g.in[0] * g.in[1] * g.in[2], y_plane = g.out[0] * g.out[1] * g.out[2];
  const std::int64_t offset = kw * g.dilation[2] - g.pad[2];
  const Span width = inside(offset, 1, g.in[2], g.out[2]);
  if (width.lo == width.hi) return T(0);  // the tap reads only padding
  B acc0(T(0)), acc1(T(0));
  T tail = 0;
  for (std::int64_t n = 0; n < g.batch; ++n) {
    const std::int64_t plane = n * g.x_channels + channel;
    for (std::int64_t od = 0; od < g.out[0]; ++od) {
      const std::int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
      if (id < 0 || id >= g.in[0]) continue;
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
        const std::int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
        if (ih < 0 || ih >= g.in[1]) continue;
        const T* dy_row = dy + plane * y_plane + (od * g.out[1] + oh) * g.out[2];
        const T* x_at = x + plane * x_plane + (id * g.in[1] + ih) * g.in[2] + (width.lo + offset);
        dot_into(dy_row + width.lo, x_at, width.hi - width.lo, acc0, acc1, tail);
      }
    }
  }
  return xsimd::hadd(acc0 + acc1) + tail;
}

}  // namespace XGRAD_SIMD_NS

template <class Arch, class T>
void DepthwiseForwardSimd::operator()(Arch, const ConvGeometry& g, const T* x, const T* w, const T* bias,
                                      std::int64_t begin, std::int64_t end, T* y) const {
  const std::int64_t x_plane = g.in[0] * g.in[1] * g.in[2], y_plane = g.out[0] * g.out[1] * g.out[2];
  const std::int64_t taps = g.kernel[0] * g.kernel[1] * g.kernel[2];
  for (std::int64_t plane = begin; plane < end; ++plane) {
    const std::int64_t channel = plane % g.x_channels;
    XGRAD_SIMD_NS::forward_plane(g, x + plane * x_plane, w + channel * taps, bias ? bias[channel] : T(0),
                                 y + plane * y_plane);
  }
}

template <class Arch, class T>
void DepthwiseBackwardWeightSimd::operator()(Arch, const ConvGeometry& g, const T* dy, const T* x, std::int64_t begin,
                                             std::int64_t end, T* dw) const {
  for (std::int64_t channel = begin; channel < end; ++channel) {
    T* dw_row = dw + channel * g.kernel[0] * g.kernel[1] * g.kernel[2];
    for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw)
          dw_row[(kd * g.kernel[1] + kh) * g.kernel[2] + kw] = XGRAD_SIMD_NS::weight_tap(g, dy, x, channel, kd, kh, kw);
  }
}

#define XGRAD_INSTANTIATE_DEPTHWISE_SIMD(T)                                                                      \
  template void DepthwiseForwardSimd::operator()<XGRAD_SIMD_ARCH, T>(                                            \
      XGRAD_SIMD_ARCH, const ConvGeometry&, const T*, const T*, const T*, std::int64_t, std::int64_t, T*) const; \
  template void DepthwiseBackwardWeightSimd::operator()<XGRAD_SIMD_ARCH, T>(                                     \
      XGRAD_SIMD_ARCH, const ConvGeometry&, const T*, const T*, std::int64_t, std::int64_t, T*) const;
XGRAD_INSTANTIATE_DEPTHWISE_SIMD(float)
XGRAD_INSTANTIATE_DEPTHWISE_SIMD(double)
#undef XGRAD_INSTANTIATE_DEPTHWISE_SIMD

}  // namespace xgrad::kernels
