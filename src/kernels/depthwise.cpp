// Depthwise convolution: the threaded passes, which pick the SIMD kernels or
// the scalar loops, and the scalar reference twins (see depthwise.hpp).

#include "kernels/depthwise.hpp"

#include <algorithm>
#include <memory>

#include "kernels/depthwise_simd.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

namespace {

// Work (multiply-adds) below which a pass stays on the calling thread.
constexpr std::int64_t kMinParallelWork = std::int64_t{1} << 18;

// Units per thread chunk when each unit costs `work` multiply-adds.
std::int64_t grain(std::int64_t work) {
  return std::max<std::int64_t>(1, kMinParallelWork / std::max<std::int64_t>(1, work));
}

// Calls f(y_index, x_index, tap) for every output position of one plane, every
// kernel tap and the x position that tap reads, skipping taps in the padding.
template <class F>
void for_each_tap(const ConvGeometry& g, F&& f) {
  for (std::int64_t od = 0; od < g.out[0]; ++od)
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
      for (std::int64_t ow = 0; ow < g.out[2]; ++ow)
        for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd)
          for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
            for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
              const std::int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
              const std::int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
              const std::int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2];
              if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) continue;
              f((od * g.out[1] + oh) * g.out[2] + ow, (id * g.in[1] + ih) * g.in[2] + iw,
                (kd * g.kernel[1] + kh) * g.kernel[2] + kw);
            }
}

// The scalar passes over planes [begin, end) of the batch (channels for the weight pass).

template <class T>
void forward_planes(const ConvGeometry& g, const T* x, const T* w, const T* bias, std::int64_t begin, std::int64_t end,
                    T* y) {
  const std::int64_t x_plane = volume(g.in), y_plane = volume(g.out), taps = volume(g.kernel);
  for (std::int64_t plane = begin; plane < end; ++plane) {
    const std::int64_t channel = plane % g.x_channels;
    const T* x_p = x + plane * x_plane;
    const T* w_c = w + channel * taps;
    T* y_p = y + plane * y_plane;
    std::fill(y_p, y_p + y_plane, bias ? bias[channel] : T(0));
    for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t k) { y_p[o] += w_c[k] * x_p[i]; });
  }
}

template <class T>
void backward_data_planes(const ConvGeometry& g, const T* dy, const T* w, const T* bias, std::int64_t begin,
                          std::int64_t end, T* dx) {
  const std::int64_t x_plane = volume(g.in), y_plane = volume(g.out), taps = volume(g.kernel);
  for (std::int64_t plane = begin; plane < end; ++plane) {
    const std::int64_t channel = plane % g.x_channels;
    const T* dy_p = dy + plane * y_plane;
    const T* w_c = w + channel * taps;
    T* dx_p = dx + plane * x_plane;
    std::fill(dx_p, dx_p + x_plane, bias ? bias[channel] : T(0));
    for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t k) { dx_p[i] += w_c[k] * dy_p[o]; });
  }
}

template <class T>
void backward_weight_channels(const ConvGeometry& g, const T* dy, const T* x, std::int64_t begin, std::int64_t end,
                              T* dw) {
  const std::int64_t x_plane = volume(g.in), y_plane = volume(g.out), taps = volume(g.kernel);
  for (std::int64_t channel = begin; channel < end; ++channel) {
    T* dw_c = dw + channel * taps;
    std::fill(dw_c, dw_c + taps, T(0));
    for (std::int64_t n = 0; n < g.batch; ++n) {
      const std::int64_t plane = n * g.x_channels + channel;
      const T* dy_p = dy + plane * y_plane;
      const T* x_p = x + plane * x_plane;
      for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t k) { dw_c[k] += dy_p[o] * x_p[i]; });
    }
  }
}

// Each channel's kernel reversed in all its dims (reversing the flat tap order does that).
template <class T>
std::unique_ptr<T[]> flipped_kernels(const ConvGeometry& g, const T* w) {
  const std::int64_t taps = volume(g.kernel);
  auto flipped = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(g.x_channels * taps));
  for (std::int64_t c = 0; c < g.x_channels; ++c)
    std::reverse_copy(w + c * taps, w + (c + 1) * taps, &flipped[c * taps]);
  return flipped;
}

}  // namespace

bool is_depthwise(const ConvGeometry& g) { return g.groups == g.x_channels && g.groups == g.y_channels; }

template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  detail::parallel_for(0, g.batch * g.x_channels, grain(volume(g.out) * volume(g.kernel)),
                       [&](std::int64_t begin, std::int64_t end) {
                         if (g.stride[2] == 1) {
                           simd_call(DepthwiseForwardSimd{}, g, x, w, bias, begin, end, y);
                         } else {
                           forward_planes(g, x, w, bias, begin, end, y);
                         }
                       });
}

template <class T>
void depthwise_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx) {
  const std::int64_t planes = g.batch * g.x_channels, work = volume(g.out) * volume(g.kernel);
  if (volume(g.stride) != 1) {
    detail::parallel_for(0, planes, grain(work), [&](std::int64_t begin, std::int64_t end) {
      backward_data_planes(g, dy, w, bias, begin, end, dx);
    });
    return;
  }
  const ConvGeometry as_forward = data_pass_geometry(g);  // channels are equal: the swap changes nothing
  const std::unique_ptr<T[]> flipped = flipped_kernels(g, w);
  detail::parallel_for(0, planes, grain(work), [&](std::int64_t begin, std::int64_t end) {
    simd_call(DepthwiseForwardSimd{}, as_forward, dy, flipped.get(), bias, begin, end, dx);
  });
}

template <class T>
void depthwise_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
  detail::parallel_for(0, g.x_channels, grain(g.batch * volume(g.out) * volume(g.kernel)),
                       [&](std::int64_t begin, std::int64_t end) {
                         if (g.stride[2] == 1) {
                           simd_call(DepthwiseBackwardWeightSimd{}, g, dy, x, begin, end, dw);
                         } else {
                           backward_weight_channels(g, dy, x, begin, end, dw);
                         }
                       });
}

template <class T>
void depthwise_forward_reference(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  forward_planes(g, x, w, bias, 0, g.batch * g.x_channels, y);
}

template <class T>
void depthwise_backward_data_reference(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx) {
  backward_data_planes(g, dy, w, bias, 0, g.batch * g.x_channels, dx);
}

template <class T>
void depthwise_backward_weight_reference(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
  backward_weight_channels(g, dy, x, 0, g.x_channels, dw);
}

#define XGRAD_INSTANTIATE_DEPTHWISE(T)                                                                       \
  template void depthwise_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);                 \
  template void depthwise_backward_data<T>(const ConvGeometry&, const T*, const T*, const T*, T*);           \
  template void depthwise_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);                   \
  template void depthwise_forward_reference<T>(const ConvGeometry&, const T*, const T*, const T*, T*);       \
  template void depthwise_backward_data_reference<T>(const ConvGeometry&, const T*, const T*, const T*, T*); \
  template void depthwise_backward_weight_reference<T>(const ConvGeometry&, const T*, const T*, T*);
XGRAD_INSTANTIATE_DEPTHWISE(float)
XGRAD_INSTANTIATE_DEPTHWISE(double)
#undef XGRAD_INSTANTIATE_DEPTHWISE

}  // namespace xgrad::kernels
