#pragma once
// Kernel layer: convolution. No Tensor, no autograd. This header owns the
// geometry and the three passes; conv.cpp is the one place that chooses how a
// pass runs, trying in order
//   depthwise (depthwise.hpp) -> Winograd F(2x2, 3x3) (conv_winograd.hpp, float)
//   -> implicit GEMM (conv_implicit.hpp, float 2-D) -> im2col + GEMM (im2col.hpp),
// and rewriting the data pass of a stride-1 convolution as a forward pass of dy
// with flipped weights (which then takes the forward's path, without col2im).
//
// Every pass is stated for the ordinary convolution y = x ⋆ w (cross-correlation):
//   x [batch, x_channels, *in], w [y_channels, x_channels / groups, *kernel],
//   y [batch, y_channels, *out],
//   y[n, o, p] = sum over c in o's group and taps k of w[o, c, k] * x[n, c, p * stride - pad + k * dilation]
// with x read as zero outside its bounds. A transposed convolution is this
// convolution run backwards (its forward is conv_backward_data, its input
// gradient conv_forward), so the caller describes it by the same geometry.
//
// 1-, 2- and 3-D convolutions share one code path: spatial dims are (D, H, W)
// and a lower-dimensional convolution fills the leading ones with size 1
// (in = out = kernel = stride = dilation = 1, pad 0).

#include <cstdint>

namespace xgrad::kernels {

struct ConvGeometry {
  std::int64_t batch = 1;
  std::int64_t groups = 1;
  std::int64_t x_channels = 1;  ///< all groups
  std::int64_t y_channels = 1;
  std::int64_t in[3] = {1, 1, 1};  ///< x's spatial sizes (D, H, W)
  std::int64_t out[3] = {1, 1, 1};
  std::int64_t kernel[3] = {1, 1, 1};
  std::int64_t stride[3] = {1, 1, 1};
  std::int64_t pad[3] = {0, 0, 0};  ///< before each dim; padding at the end only shapes `out`
  std::int64_t dilation[3] = {1, 1, 1};
};

/// The product of a geometry's three spatial sizes (a plane's or a kernel's elements).
inline std::int64_t volume(const std::int64_t (&dims)[3]) { return dims[0] * dims[1] * dims[2]; }

/// Whether the depth dim is trivial, so that a 2-D kernel may run the pass: one
/// input and output slice, a kernel of depth 1, and no depth padding (with
/// padding, the single output slice reads only zeros).
inline bool is_two_d(const ConvGeometry& g) {
  return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.pad[0] == 0;
}

/// Items per tile when `items` (a batch's images, a Winograd pass's tile rows)
/// are cut into tiles of about `wanted` items (at least 1), `groups` such cuts
/// side by side: equal tiles whose total count is a multiple of the thread
/// count where the items allow, so that no thread waits on another's extra
/// items (32 images of 7x7 maps cut 21 + 11 left one of two threads doing two
/// thirds of the work). With deterministic algorithms on, the count is
/// detail::kDeterministicSplit (weight gradients sum per tile: the tiles must
/// not depend on the thread count).
std::int64_t balanced_tile_size(std::int64_t items, std::int64_t wanted, std::int64_t groups = 1);

/// The geometry of the data pass run as a forward pass (valid with every stride 1):
///   dx[i] = sum_k w[k] dy[i + pad - k dilation] = sum_k' w[K-1-k'] dy[i - pad' + k' dilation]
/// with pad' = dilation (K - 1) - pad (negative when pad exceeds it): dy is the
/// input, dx the output, x and y channels swapped; the weights must be flipped.
ConvGeometry data_pass_geometry(const ConvGeometry& g);

// The three passes, threaded, each taking the path conv.cpp chooses. All
// buffers are contiguous; bias may be null. Outputs are overwritten, not
// accumulated.

/// y = x ⋆ w + bias (bias [y_channels]).
template <class T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);

/// dx = the gradient of conv_forward with respect to x for the output gradient
/// dy, plus bias [x_channels] (the forward of a transposed convolution).
template <class T>
void conv_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx);

/// dw = the gradient of conv_forward with respect to w, summed over the batch.
template <class T>
void conv_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace xgrad::kernels
