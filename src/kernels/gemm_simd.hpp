#pragma once
// Internal: the instruction-set-specific half of the float GEMM. gemm.cpp holds the
// driver (blocking, threads, buffers); gemm_simd.cpp, compiled once per
// instruction set, holds what touches vector registers: the micro-kernel that
// keeps a tile_rows x tile_cols tile of C in registers, and the packing routines
// that lay op(A) and op(B) out in the order it reads them.
//
// Packed layouts, for a block of depth kc (a slice k0 .. k0+kc of the shared dim):
//   A panel: tile_rows rows of op(A), stored k-major: panel[k * tile_rows + r].
//   B panel: tile_cols columns of op(B), stored k-major: panel[k * tile_cols + j].
// A packed block of rows (columns) is its panels one after another, kc * tile_rows
// (kc * tile_cols) floats each; rows and columns past the matrix edge are zero.

#include <cstdint>

#include "kernels/gemm.hpp"
#include "kernels/simd.hpp"

namespace xgrad::kernels {

/// A read-only matrix: element [i, j] at data[i * row_stride + j * col_stride].
struct StridedMatrix {
  const float* data;
  std::int64_t row_stride;
  std::int64_t col_stride;
};

/// One instruction set's float GEMM pieces.
struct SgemmKernel {
  std::int64_t tile_rows;  // rows of C in a register tile
  std::int64_t tile_cols;  // columns of C in a register tile (whole vectors)
  std::int64_t depth;      // preferred kc: an A panel of this depth stays in L1

  /// Packs `rows` rows (any count) and kc columns of `a`, times alpha, into A panels.
  void (*pack_a)(StridedMatrix a, std::int64_t rows, std::int64_t kc, float alpha, float* out);
  /// Packs kc rows and `cols` columns (any count) of `b` into B panels.
  void (*pack_b)(StridedMatrix b, std::int64_t kc, std::int64_t cols, float* out);
  /// Writes columns [col0, col0 + cols) of the B panels of a block of depth kc,
  /// row k's entries read from rows[k][0 : cols] (unit stride); the panels'
  /// other columns are left alone. For B matrices whose rows are not evenly
  /// spaced (an implicit convolution's shifted image rows).
  void (*pack_b_rows)(const float* const* rows, std::int64_t kc, std::int64_t col0, std::int64_t cols, float* out);
  /// Writes rows [k_first, k_first + k_count) of the B panels of a block of
  /// depth kc and `cols` columns (zeros past them), column j's entries read
  /// from columns[j][0 : k_count] (unit stride along k: a transposed B whose
  /// rows are not evenly spaced).
  void (*pack_b_columns)(const float* const* columns, std::int64_t cols, std::int64_t kc, std::int64_t k_first,
                         std::int64_t k_count, float* out);
  /// C[0:m, 0:n] = A·B + beta * C for packed blocks of A (m rows) and B (n columns)
  /// of depth kc. C (row-major, leading dimension ldc) is not read when beta == 0.
  void (*multiply)(const float* packed_a, const float* packed_b, std::int64_t m, std::int64_t n, std::int64_t kc,
                   float beta, float* c, std::int64_t ldc);
};

/// The pieces for Arch (xsimd::avx512f, fma3<avx2> or sse2), defined in gemm_simd.cpp.
template <class Arch>
SgemmKernel sgemm_kernel(Arch);

/// The pieces for an instruction set the CPU has (gemm<float> uses
/// sgemm_kernel_for(simd_level())).
const SgemmKernel& sgemm_kernel_for(SimdLevel level);

}  // namespace xgrad::kernels
