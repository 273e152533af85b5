#pragma once
// Kernel layer: depthwise convolution (groups == x_channels == y_channels, one
// filter per channel) computed directly, without im2col. No Tensor, no autograd.
//
// The geometry and the meaning of each pass are those of conv.hpp, with
// w [channels, prod(kernel)]. The SIMD kernels (depthwise_simd.hpp, float and
// double) vectorise along output rows where the innermost stride is 1: the
// forward and weight passes for stride[2] == 1, the data pass when every stride
// is 1 (it is then a forward pass over dy with the kernel flipped). Other
// strides take the scalar loops of the reference twins (threaded the same way).

#include <cstdint>

#include "kernels/conv.hpp"

namespace xgrad::kernels {

/// True when g describes a depthwise convolution.
bool is_depthwise(const ConvGeometry& g);

/// y = x ⋆ w + bias (bias [channels], may be null).
template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);

/// dx = the gradient of depthwise_forward with respect to x, plus bias (may be null).
template <class T>
void depthwise_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx);

/// dw = the gradient of depthwise_forward with respect to w, summed over the batch.
template <class T>
void depthwise_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw);

/// Plain scalar twins of the three passes (single-threaded, straight from the
/// definition), for checking them in tests.
template <class T>
void depthwise_forward_reference(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void depthwise_backward_data_reference(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx);
template <class T>
void depthwise_backward_weight_reference(const ConvGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace xgrad::kernels
