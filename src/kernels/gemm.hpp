#pragma once
// Kernel layer: general matrix product on raw row-major buffers. No Tensor, no
// autograd.
//
//   C = alpha * op(A) * op(B) + beta * C
//
// op(A) is M x K and op(B) is K x N. Without a transpose, A is stored as rows of
// K elements, row i starting at A + i * lda; with trans_a, A is stored as the
// K x M matrix op(A)ᵀ, row k starting at A + k * lda (B likewise with ldb). So a
// transposed view whose inner stride is 1 is passed as it is, with the trans
// flag set and its outer stride as the leading dimension.
//
// A and B are only read: any leading dimension >= 0 works, including 0 (every
// row is the same, as in a broadcast view). C's rows must not overlap (ldc >= N).
// When beta == 0, C is not read (it may be uninitialised); when alpha == 0 or
// K == 0, A and B are not read.
//
// gemm<float> is the fast path: packed, cache-blocked, threaded over blocks of C,
// with an xsimd micro-kernel per instruction set chosen at run time (AVX-512,
// AVX2+FMA or SSE2; see gemm.cpp and gemm_simd.cpp). gemm<double> (gradient
// checks) is a portable blocked loop.

#include <cstdint>
#include <functional>

namespace xgrad::kernels {

// The instruction set comes from kernels::simd_level() (kernels/simd.hpp).

/// The blocked kernel used by the ops. Instantiated for float and double.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

/// Writes the block of op(B) at rows [k0, k0 + kc) and columns [j0, j0 + n) as
/// B panels of panel_cols columns (j0 is a multiple of panel_cols): panel p at
/// out + p * kc * panel_cols holds element [k, j] at [k * panel_cols + j], and
/// zeros past column n. Called concurrently from several threads.
using BPacker = std::function<void(std::int64_t k0, std::int64_t kc, std::int64_t j0, std::int64_t n,
                                   std::int64_t panel_cols, float* out)>;

/// C = alpha * op(A) * B + beta * C, with B never stored: pack_b writes each
/// block straight into the packed layout (an implicit GEMM, e.g. a convolution
/// whose column matrix is read from the image while packing). Same blocking,
/// threading and rules as gemm<float>.
void gemm_packing_b(bool trans_a, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
                    std::int64_t lda, const BPacker& pack_b, float beta, float* C, std::int64_t ldc);

/// The same product as a plain triple loop, for checking gemm in tests.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
                    std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

}  // namespace xgrad::kernels
