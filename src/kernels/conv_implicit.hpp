#pragma once
// Internal: the float forward and weight-gradient convolutions of 2-D
// geometries as implicit GEMMs over a padded copy of the images (the forward
// also serves the data pass of stride-1 convolutions, which conv.cpp
// rewrites as a forward pass).
//
// Each image's planes are copied into a zero-bordered buffer, split into
// stride_h x stride_w phases (phase (a, b) holds the padded rows a, a + stride_h,
// ... and columns b, b + stride_w, ...; with stride 1 it is just the padded
// plane), each phase grid_width entries wide. Lay the output positions out on
// that grid, p = oh * grid_width + ow with ow in [0, grid_width): then the
// column-matrix row of tap (c, kh, kw) is one contiguous run of the buffer (in
// the phase the tap's offsets fall on, shifted by their quotients). The GEMM's
// B packer copies those runs straight into its panels: no column matrix, no
// per-line zero filling. The price: the grid_width - out_w columns past each
// output line are computed and dropped, so the path is taken only when they
// are few.

#include "kernels/conv.hpp"

namespace xgrad::kernels {

/// Whether the implicit passes handle g: 2-D, any stride, padding >= 0, and not
/// the 1x1 stride-1 unpadded case that the im2col path already reads in place.
bool implicit_conv_fits(const ConvGeometry& g);

/// y = x ⋆ w + bias (bias [y_channels], may be null) for a g that fits.
void conv_forward_implicit(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);

/// dw = the gradient of the forward with respect to w, for a g that fits. The
/// same GEMM with the roles turned: dw_g = dy_g · columnsᵀ, contracting over
/// positions, dy laid on the padded grid with zeros in the dropped columns and
/// columnsᵀ packed by transposing each tap's run in registers.
void conv_backward_weight_implicit(const ConvGeometry& g, const float* dy, const float* x, float* dw);

}  // namespace xgrad::kernels
