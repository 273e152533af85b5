#pragma once
// Internal: the float forward convolution of 3x3 stride-1 2-D layers by
// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015). Each 2x2 block of outputs of a
// channel pair costs 16 multiplies instead of 36:
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ) ] A,   d the 4x4 input tile, g the 3x3 kernel,
//
// summed over input channels, which turns the products into 16 GEMMs
// (one per element ξ of the 4x4 transformed tile):
//   M_ξ [y_channels, tiles] = U_ξ [y_channels, x_channels] · V_ξ [x_channels, tiles].
// The data pass of a stride-1 3x3 convolution is itself such a forward
// (im2col.cpp), so it takes this path too. The weight gradient stays direct.

#include "kernels/im2col.hpp"

namespace xgrad::kernels {

/// Whether the Winograd forward handles g: 2-D, 3x3, stride 1, dilation 1, one
/// group, padding 0..2, and enough channels on both sides that its 16 GEMMs
/// are not mostly edge (measured in bench_kernels' convolution rows).
bool winograd_conv_fits(const ConvGeometry& g);

/// y = x ⋆ w + bias (bias [y_channels], may be null) for a g that fits.
void conv_forward_winograd(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);

}  // namespace xgrad::kernels
