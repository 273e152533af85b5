#pragma once
// Internal: the float forward convolution of 3x3 stride-1 2-D layers by
// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015). Each 2x2 block of outputs of a
// channel pair costs 16 multiplies instead of 36:
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,   d the 4x4 input tile, g the 3x3 kernel,
//
// summed over input channels, which turns the products into 16 GEMMs
// (one per element ξ of the 4x4 transformed tile):
//   M_ξ [y_channels, tiles] = U_ξ [y_channels, x_channels] · V_ξ [x_channels, tiles].
// The data pass of a stride-1 3x3 convolution is itself such a forward
// (conv.cpp rewrites it so), so it takes this path too; the weight gradient is the
// forward's adjoint, the same transforms run backwards.

#include "kernels/conv.hpp"

namespace xgrad::kernels {

/// Whether the Winograd passes may be taken at all: yes unless the environment
/// variable XGRAD_WINOGRAD is 0 when first asked, or set_winograd_enabled(false).
/// (Their rounding differs from the direct passes': on ResNet-18's 64@56 and
/// 256@14 layers the largest error is 3.4-6.5e-7 of the largest value either way,
/// but single small elements of a weight gradient summed over 8000 positions
/// were off by up to 3x the direct passes' error in test_ops_conv's grid.)
bool winograd_enabled();
/// Returns the previous setting. For tests and benchmarks.
bool set_winograd_enabled(bool enabled);

/// Whether the Winograd forward handles g: enabled, 2-D, 3x3, stride 1,
/// dilation 1, one group, padding >= 0, at least 32 channels on both sides and
/// 13 output columns (below that the 16 GEMMs are mostly edge and the
/// transforms' vectors mostly empty; measured in bench_kernels' rows).
bool winograd_conv_fits(const ConvGeometry& g);

/// Whether the Winograd weight gradient handles g: as the forward, with at
/// least 64 channels on both sides (32 x 32 at 16x16 was slower than direct).
bool winograd_weight_gradient_fits(const ConvGeometry& g);

/// y = x ⋆ w + bias (bias [y_channels], may be null) for a g that fits.
void conv_forward_winograd(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);

/// dw = the gradient of the forward with respect to w, for a g that fits: the
/// forward's adjoint, dU_ξ = Σ over tiles (A e Aᵀ)_ξ ⊙ V_ξ and dw = Gᵀ dU G, the
/// sums over tiles being 16 GEMMs [y_channels, tiles] · [tiles, x_channels].
void conv_backward_weight_winograd(const ConvGeometry& g, const float* dy, const float* x, float* dw);

}  // namespace xgrad::kernels
