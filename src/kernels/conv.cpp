// The one place that decides how a convolution pass runs (conv.hpp lists the
// order), and the geometry helpers the paths share.

#include "kernels/conv.hpp"

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/conv_implicit.hpp"
#include "kernels/conv_winograd.hpp"
#include "kernels/depthwise.hpp"
#include "kernels/im2col.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

namespace {

// x channels per group, at least, for running a data pass as a forward pass.
constexpr std::int64_t kMinDataPassRows = 8;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// With stride 1, the data pass is itself a stride-1 convolution,
//   dx[c, i] = sum over o, k of w[o, c, k] * dy[o, i + pad - k * dilation]
//            = (dy ⋆ w̃)[c, i] with w̃[c, o, k̃] = w[o, c, kernel - 1 - k̃] and padding
//              dilation * (kernel - 1) - pad,
// so it runs as a forward pass (in float 2-D, the implicit GEMM) instead of a
// GEMM and col2im's scatter-add. That needs the new padding to be >= 0 in
// every dim, and enough x channels per group: they are the rows of the
// forward's GEMM, and with fewer than a register tile (8 rows) most of its
// work is padding (measured on 3 -> 16 channels at 32x32: 20 % slower than col2im).
bool data_pass_is_forward(const ConvGeometry& g) {
  if (g.x_channels / g.groups < kMinDataPassRows) return false;
  for (int d = 0; d < 3; ++d)
    if (g.stride[d] != 1 || g.pad[d] > g.dilation[d] * (g.kernel[d] - 1)) return false;
  return true;
}

// w̃ [x_channels, y_channels / groups, *kernel] of data_pass_geometry: each
// group's channel roles swapped, the kernel flipped in every dim (which
// reverses its flat index). Kept per thread so repeated passes reuse the pages.
template <class T>
const T* flipped_weights(const ConvGeometry& g, const T* w) {
  thread_local std::vector<T> flipped;
  const std::int64_t taps = volume(g.kernel), xg = g.x_channels / g.groups, yg = g.y_channels / g.groups;
  flipped.resize(static_cast<std::size_t>(g.y_channels * xg * taps));
  for (std::int64_t group = 0; group < g.groups; ++group)
    for (std::int64_t o = 0; o < yg; ++o)
      for (std::int64_t c = 0; c < xg; ++c) {
        const T* from = w + ((group * yg + o) * xg + c) * taps;
        T* to = flipped.data() + ((group * xg + c) * yg + o) * taps;
        std::reverse_copy(from, from + taps, to);
      }
  return flipped.data();
}

}  // namespace

std::int64_t balanced_tile_size(std::int64_t items, std::int64_t wanted, std::int64_t groups) {
  items = std::max<std::int64_t>(1, items);
  const std::int64_t threads = detail::split_count();  // fixed with deterministic algorithms on
  const std::int64_t step = threads / std::gcd<std::int64_t>(threads, groups);  // tiles per cut making the total even
  const std::int64_t tiles = ceil_div(items, std::clamp(wanted, std::int64_t{1}, items));
  return ceil_div(items, std::min(items, ceil_div(tiles, step) * step));
}

ConvGeometry data_pass_geometry(const ConvGeometry& g) {
  ConvGeometry t = g;
  std::swap(t.x_channels, t.y_channels);
  for (int d = 0; d < 3; ++d) {
    t.in[d] = g.out[d];
    t.out[d] = g.in[d];
    t.pad[d] = g.dilation[d] * (g.kernel[d] - 1) - g.pad[d];
  }
  return t;
}

template <class T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  if (is_depthwise(g)) return depthwise_forward(g, x, w, bias, y);
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_conv_fits(g)) return conv_forward_winograd(g, x, w, bias, y);
    if (implicit_conv_fits(g)) return conv_forward_implicit(g, x, w, bias, y);
  }
  im2col_forward(g, x, w, bias, y);
}

template <class T>
void conv_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx) {
  if (is_depthwise(g)) return depthwise_backward_data(g, dy, w, bias, dx);
  if (data_pass_is_forward(g)) return conv_forward(data_pass_geometry(g), dy, flipped_weights(g, w), bias, dx);
  im2col_backward_data(g, dy, w, bias, dx);
}

template <class T>
void conv_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
  if (is_depthwise(g)) return depthwise_backward_weight(g, dy, x, dw);
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_weight_gradient_fits(g)) return conv_backward_weight_winograd(g, dy, x, dw);
    if (implicit_conv_fits(g)) return conv_backward_weight_implicit(g, dy, x, dw);
  }
  im2col_backward_weight(g, dy, x, dw);
}

#define XGRAD_INSTANTIATE_CONV(T)                                                             \
  template void conv_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);       \
  template void conv_backward_data<T>(const ConvGeometry&, const T*, const T*, const T*, T*); \
  template void conv_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);
XGRAD_INSTANTIATE_CONV(float)
XGRAD_INSTANTIATE_CONV(double)
#undef XGRAD_INSTANTIATE_CONV

}  // namespace xgrad::kernels
