#pragma once
// Kernel layer: the SIMD depthwise passes behind depthwise.hpp, compiled once
// per instruction set (depthwise_simd.cpp) and called through
// simd_call (kernels/simd.hpp). Instantiated for float and double. Both vectorise
// along output rows and so need g.stride[2] == 1.

#include <cstdint>

#include "kernels/conv.hpp"

namespace xgrad::kernels {

/// The forward pass for planes [begin, end) of y (plane = image * channels +
/// channel): y = x ⋆ w + bias, bias may be null.
struct DepthwiseForwardSimd {
  template <class Arch, class T>
  void operator()(Arch, const ConvGeometry& g, const T* x, const T* w, const T* bias, std::int64_t begin,
                  std::int64_t end, T* y) const;
};

/// The weight pass for channels [begin, end): dw rows, summed over the batch.
struct DepthwiseBackwardWeightSimd {
  template <class Arch, class T>
  void operator()(Arch, const ConvGeometry& g, const T* dy, const T* x, std::int64_t begin, std::int64_t end,
                  T* dw) const;
};

}  // namespace xgrad::kernels
