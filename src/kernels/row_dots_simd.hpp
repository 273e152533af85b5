#pragma once
// Kernel layer: dot products of rows, summed over a batch of images, compiled
// once per instruction set (row_dots_simd.cpp) and called through simd_call.
// For a convolution's weight gradient with few channels and taps (LeNet's, a
// CIFAR stem's), where a GEMM spends most of its time transposing the column
// matrix into its panels: the dot products read both operands where they lie.

#include <cstdint>

namespace xgrad::kernels {

/// c[i * ldc + j] += the sum over images n < `images` and p < `length` of
///   a[i * lda + n * a_image + p] * b[j][n * b_image + p]
/// for rows i < `rows` and columns j < `columns`. Every run read must exist
/// (all `length` floats of it); nothing past a run is read.
struct RowDots {
  const float* a;
  std::int64_t rows, lda, a_image;
  const float* const* b;
  std::int64_t columns, b_image;
  std::int64_t images, length;
  float* c;
  std::int64_t ldc;
};

struct RowDotsKernel {
  template <class Arch>
  void operator()(Arch, const RowDots& problem) const;
};

}  // namespace xgrad::kernels
