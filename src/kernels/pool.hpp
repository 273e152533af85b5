#pragma once
// Kernel layer: max, average, adaptive and global pooling over contiguous
// planes. No Tensor, no autograd.
//
// Data is `planes` (N * C) contiguous planes of 1 to 3 spatial dims, stored as
// 3 dims [D, H, W]: a 1-D or 2-D pooling leaves the leading dims at size 1 with
// kernel 1, stride 1, padding 0 and dilation 1. An index is the flat position
// of an element within its input plane ((d * H + h) * W + w), as PyTorch's.
//
// Window rules (as PyTorch's CPU kernels):
// - max: positions are visited in row-major window order and an element takes
//   over when it is greater than the best so far or NaN. So ties go to the
//   first maximum, a NaN always wins (the last NaN's index is kept), padded
//   positions never win, and a window of -inf values reports its first
//   position inside the input.
// - avg: along each dim the window [start, start + kernel) is clipped to
//   [-padding, in + padding) for the count_include_pad divisor and to
//   [0, in) for the sum and the other divisor.
// - adaptive: output i along a dim covers [floor(i * in / out), ceil((i + 1) * in / out)).
//
// The caller guarantees that every max-pooling window holds at least one input
// element (with dilation a window can straddle an input that is too short).
//
// SIMD (f32 only; f64 runs plain loops):
// - max_pool_forward and avg_pool_forward with stride 1 or 2 along the last
//   dim: the output columns whose windows lie inside the input row are done a
//   vector of columns at a time (xsimd::batch lanes: 16 on AVX-512, 8 on AVX2,
//   4 on SSE2), for any kernel, dilation, padding and number of dims; the
//   last vector may overlap the one before. Columns whose windows touch the
//   padding, rows narrower than one vector and other strides stay scalar. Max
//   pooling that tracks indices takes this path only for planes below 2^24
//   elements (the vector code carries indices in float lanes).
// - global_avg_pool_forward, and adaptive_avg_pool_forward: plane sums and the
//   sums of each window's row segments (a 1 x 1 x 1 output is a global average).
// Threads: every kernel except the references splits the planes with
// detail::parallel_for, a chunk doing at least ~32k element visits, so small
// tensors stay on the calling thread.

#include <array>
#include <cstdint>

namespace xgrad::kernels {

struct PoolGeometry {
  std::int64_t planes = 0;
  std::array<std::int64_t, 3> in{1, 1, 1};
  std::array<std::int64_t, 3> out{1, 1, 1};
  std::array<std::int64_t, 3> kernel{1, 1, 1};
  std::array<std::int64_t, 3> stride{1, 1, 1};
  std::array<std::int64_t, 3> padding{0, 0, 0};
  std::array<std::int64_t, 3> dilation{1, 1, 1};
  /// Average pooling only: when nonzero, every window's sum is divided by this
  /// instead of its size (avg_pool's divisor_override).
  std::int64_t divisor_override = 0;

  std::int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};

struct AdaptiveGeometry {
  std::int64_t planes = 0;
  std::array<std::int64_t, 3> in{1, 1, 1};
  std::array<std::int64_t, 3> out{1, 1, 1};

  std::int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};

/// output[planes * out_plane] = window maxima; indices (same size) unless null.
template <class T>
void max_pool_forward(const PoolGeometry& g, const T* input, T* output, std::int64_t* indices);
/// The same as a plain loop per output element (no SIMD, no threads), for tests.
template <class T>
void max_pool_forward_reference(const PoolGeometry& g, const T* input, T* output, std::int64_t* indices);

/// grad_input[planes * in_plane] = 0, then every grad_output element is added at
/// its index. The backward of max and adaptive max pooling.
template <class T>
void max_pool_backward(std::int64_t planes, std::int64_t in_plane, std::int64_t out_plane, const T* grad_output,
                       const std::int64_t* indices, T* grad_input);

/// output = window sums / divisor (g.dilation must be 1).
template <class T>
void avg_pool_forward(const PoolGeometry& g, bool count_include_pad, const T* input, T* output);
template <class T>
void avg_pool_forward_reference(const PoolGeometry& g, bool count_include_pad, const T* input, T* output);
/// grad_input = each output's gradient / divisor, spread over its window.
template <class T>
void avg_pool_backward(const PoolGeometry& g, bool count_include_pad, const T* grad_output, T* grad_input);

template <class T>
void adaptive_avg_pool_forward(const AdaptiveGeometry& g, const T* input, T* output);
template <class T>
void adaptive_avg_pool_backward(const AdaptiveGeometry& g, const T* grad_output, T* grad_input);
/// Window maxima and their indices (never null); backward is max_pool_backward.
template <class T>
void adaptive_max_pool_forward(const AdaptiveGeometry& g, const T* input, T* output, std::int64_t* indices);

/// output[p] = mean of plane p (plane_size elements).
template <class T>
void global_avg_pool_forward(std::int64_t planes, std::int64_t plane_size, const T* input, T* output);
/// The same with a plain loop accumulating in double, for tests.
template <class T>
void global_avg_pool_forward_reference(std::int64_t planes, std::int64_t plane_size, const T* input, T* output);
/// grad_input[p, i] = grad_output[p] / plane_size.
template <class T>
void global_avg_pool_backward(std::int64_t planes, std::int64_t plane_size, const T* grad_output, T* grad_input);

}  // namespace xgrad::kernels
