#pragma once
// Kernel layer: convolution through the GEMM (im2col / col2im), the path
// conv.cpp takes when no specialised one fits (3-D, doubles, the stride-2 data
// passes, ...). The geometry and the meaning of each pass are conv.hpp's.
//
// Per group, x's patches are copied into a column matrix
// [x_channels / groups * prod(kernel), out positions] (rows ordered (c, kd, kh, kw)
// like w's rows, columns (od, oh, ow)), so that y_g = w_g · columns. A large
// image is taken in tiles of whole output lines (od, oh) to keep the buffer in
// cache; small images are batched, several per matrix side by side, so that
// each GEMM is wide enough to pay for packing w. A 1x1 convolution with stride
// 1 and no padding reads x in place.

#include <cstdint>

#include "kernels/conv.hpp"

namespace xgrad::kernels {

/// The columns of x_group (x_channels / groups planes of one image) for output
/// lines [line_begin, line_end): (line_end - line_begin) * out[2] columns, row r
/// starting at columns + r * ld.
template <class T>
void im2col(const ConvGeometry& g, const T* x_group, std::int64_t line_begin, std::int64_t line_end, T* columns,
            std::int64_t ld);

/// The adjoint of im2col: adds every column entry into the x position it was
/// read from (entries read from the padding are dropped).
template <class T>
void col2im(const ConvGeometry& g, const T* columns, std::int64_t ld, std::int64_t line_begin, std::int64_t line_end,
            T* x_group);

/// Element-by-element twins of im2col and col2im, for checking them in tests.
template <class T>
void im2col_reference(const ConvGeometry& g, const T* x_group, std::int64_t line_begin, std::int64_t line_end,
                      T* columns, std::int64_t ld);
template <class T>
void col2im_reference(const ConvGeometry& g, const T* columns, std::int64_t ld, std::int64_t line_begin,
                      std::int64_t line_end, T* x_group);

// The three passes, threaded over tiles (the data pass over the tiles of
// distinct images). All buffers are contiguous; bias may be null. Outputs are
// overwritten, not accumulated.

// The three passes, threaded over tiles (the data pass over the tiles of
// distinct images). The data pass here is the GEMM and col2im's scatter-add.

template <class T>
void im2col_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void im2col_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx);
template <class T>
void im2col_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace xgrad::kernels
