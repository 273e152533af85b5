// The float GEMM's micro-kernel and packing for one instruction set (this file is
// compiled once per set, see kernels/simd.hpp; the layouts are described in
// kernels/gemm_simd.hpp).
//
// The micro-kernel holds a kTileRows x kTileCols tile of C in vector registers.
// Each step along k loads one row of a B panel (kTileVectors vectors), broadcasts
// the kTileRows values of an A panel one by one and issues kTileRows *
// kTileVectors independent FMAs (a multiply and an add on SSE2), enough to hide
// their latency on every set.

#include "kernels/gemm_simd.hpp"
#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

namespace {

using Vec = xsimd::batch<float, XGRAD_SIMD_ARCH>;
constexpr int kWidth = static_cast<int>(Vec::size);

// The register tile, kTileRows x kTileVectors vectors: its accumulators, one B
// row (kTileVectors vectors) and one broadcast A value fit the register file.
// AVX-512: 8 x 48, 24 accumulators + 3 + 1 of 32 zmm. Eight rows divide the
// channel counts of CNNs (C_out is M in an im2col product) and 24 FMAs per step
// cover the 4-cycle FMA latency on Zen 4's one zmm FMA a cycle; measured within
// noise of 14 x 32 and 9 x 48 on squares, better on the M = 64 products.
#if defined(XGRAD_SIMD_AVX512)
constexpr int kTileRows = 8;
constexpr int kTileVectors = 3;
#elif defined(XGRAD_SIMD_AVX2)
constexpr int kTileRows = 6;  // 6 x 16: 12 accumulators + 2 + 1 of 16 ymm
constexpr int kTileVectors = 2;
#else
constexpr int kTileRows = 6;  // 6 x 8: 12 accumulators + 2 + 1 (+1 for the product) of 16 xmm
constexpr int kTileVectors = 2;
#endif
constexpr int kTileCols = kTileVectors * kWidth;
// An A panel of this depth (12 KiB for AVX-512) stays in L1 while the B panels
// stream past it from L2; deeper blocks read and write C less often.
constexpr std::int64_t kDepth = 384;

std::int64_t smaller(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// Packing. Both operands become panels of Width columns of a kc x cols matrix X,
// stored k-major: panel[k * Width + j] = scale * X[k, j0 + j], zero past the last
// column. For B, X = op(B) and Width = kTileCols; for A, X = op(A)ᵀ, Width =
// kTileRows and scale = alpha. X[k, j] is at data[k * k_stride + j * j_stride].
struct PanelSource {
  const float* data;
  std::int64_t k_stride;
  std::int64_t j_stride;
};

// Whole panels of a source whose rows are unit-stride, copied row by row across
// all of them: each row of the source block is one sequential run, which the
// hardware prefetchers stream from memory (with a software prefetch ahead).
template <int Width>
void pack_row_runs(const float* src, std::int64_t k_stride, std::int64_t kc, std::int64_t panels, float scale,
                   float* out) {
  constexpr std::int64_t ahead = 8;        // rows
  constexpr std::int64_t line_floats = 16;  // a 64-byte cache line
  for (std::int64_t k = 0; k < kc; ++k, src += k_stride, out += Width) {
    if (k + ahead < kc)
      for (std::int64_t j = 0; j < panels * Width; j += line_floats) __builtin_prefetch(src + ahead * k_stride + j);
    for (std::int64_t p = 0; p < panels; ++p)
      for (int j = 0; j < Width; ++j) out[p * kc * Width + j] = scale * src[p * Width + j];
  }
}

// Transposing a square block in registers: dst[k * dst_stride + j] = scale *
// rows[j][k] for j, k < kTransposeBlock (8 with AVX, 4 with SSE2: unpack,
// shuffle and lane-permute steps instead of one scalar load and store per
// element).
#if defined(XGRAD_SIMD_AVX512) || defined(XGRAD_SIMD_AVX2)
constexpr std::int64_t kTransposeBlock = 8;

void transpose_block(const float* const* rows, float scale, float* dst, std::int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(rows[j]);
  for (int j = 0; j < 8; j += 2) {  // interleave row pairs
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 8; j += 4) {  // 4x4 blocks within each 128-bit lane
    r[j] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  const __m256 factor = _mm256_set1_ps(scale);
  for (int k = 0; k < 4; ++k) {  // swap the lanes' halves
    _mm256_storeu_ps(dst + k * dst_stride, _mm256_mul_ps(factor, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20)));
    _mm256_storeu_ps(dst + (k + 4) * dst_stride, _mm256_mul_ps(factor, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31)));
  }
}
#else
constexpr std::int64_t kTransposeBlock = 4;

void transpose_block(const float* const* rows, float scale, float* dst, std::int64_t dst_stride) {
  __m128 r0 = _mm_loadu_ps(rows[0]), r1 = _mm_loadu_ps(rows[1]), r2 = _mm_loadu_ps(rows[2]), r3 = _mm_loadu_ps(rows[3]);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  const __m128 factor = _mm_set1_ps(scale);
  _mm_storeu_ps(dst, _mm_mul_ps(factor, r0));
  _mm_storeu_ps(dst + dst_stride, _mm_mul_ps(factor, r1));
  _mm_storeu_ps(dst + 2 * dst_stride, _mm_mul_ps(factor, r2));
  _mm_storeu_ps(dst + 3 * dst_stride, _mm_mul_ps(factor, r3));
}
#endif

// panel[k * Width + j] = scale * X[k, j] for k in [k0, k1), j in [j0, j1): any source.
template <int Width>
void pack_elements(PanelSource x, std::int64_t k0, std::int64_t k1, std::int64_t j0, std::int64_t j1, float scale,
                   float* out) {
  for (std::int64_t j = j0; j < j1; ++j)
    for (std::int64_t k = k0; k < k1; ++k) out[k * Width + j] = scale * x.data[k * x.k_stride + j * x.j_stride];
}

// One panel of `cols` <= Width columns from any source. A transposed one (unit
// stride along k: the source's rows are the panel's columns) goes through
// register transposes of whole blocks, the rest element by element, 8 k at a
// time so that a block's reads (8 k of each column) and writes (8 rows of the
// panel) stay in a few cache lines.
template <int Width>
void pack_panel(PanelSource x, std::int64_t kc, std::int64_t cols, float scale, float* out) {
  std::int64_t whole_cols = 0, whole_k = 0;
  if (x.k_stride == 1) {
    whole_cols = cols / kTransposeBlock * kTransposeBlock;
    whole_k = kc / kTransposeBlock * kTransposeBlock;
    for (std::int64_t j = 0; j < whole_cols; j += kTransposeBlock)
      for (std::int64_t k = 0; k < whole_k; k += kTransposeBlock) {
        const float* rows[kTransposeBlock];
        for (std::int64_t i = 0; i < kTransposeBlock; ++i) rows[i] = x.data + (j + i) * x.j_stride + k;
        transpose_block(rows, scale, out + k * Width + j, Width);
      }
    pack_elements<Width>(x, whole_k, kc, 0, whole_cols, scale, out);
  }
  constexpr std::int64_t block = 8;
  for (std::int64_t k0 = 0; k0 < kc; k0 += block)
    pack_elements<Width>(x, k0, smaller(k0 + block, kc), whole_cols, cols, scale, out);
  for (std::int64_t k = 0; k < kc; ++k)
    for (std::int64_t j = cols; j < Width; ++j) out[k * Width + j] = 0.0f;
}

template <int Width>
void pack_panels(PanelSource x, std::int64_t kc, std::int64_t cols, float scale, float* out) {
  std::int64_t j0 = 0;
  if (x.j_stride == 1) {
    const std::int64_t whole_panels = cols / Width;
    pack_row_runs<Width>(x.data, x.k_stride, kc, whole_panels, scale, out);
    j0 = whole_panels * Width;
  }
  for (; j0 < cols; j0 += Width)
    pack_panel<Width>({x.data + j0 * x.j_stride, x.k_stride, x.j_stride}, kc, smaller(Width, cols - j0), scale,
                      out + j0 * kc);
}

void pack_a(StridedMatrix a, std::int64_t rows, std::int64_t kc, float alpha, float* out) {
  pack_panels<kTileRows>({a.data, a.col_stride, a.row_stride}, kc, rows, alpha, out);
}

void pack_b(StridedMatrix b, std::int64_t kc, std::int64_t cols, float* out) {
  pack_panels<kTileCols>({b.data, b.row_stride, b.col_stride}, kc, cols, 1.0f, out);
}

void pack_b_rows(const float* const* rows, std::int64_t kc, std::int64_t col0, std::int64_t cols, float* out) {
  const std::int64_t panel_size = kc * kTileCols;
  // Panel by panel (the columns cut where they cross from one panel into the
  // next), each written front to back.
  for (std::int64_t j = col0, end = col0 + cols; j < end;) {
    const std::int64_t panel = j / kTileCols, column = j - panel * kTileCols;
    const std::int64_t count = smaller(end - j, kTileCols - column), offset = j - col0;
    float* dst = out + panel * panel_size + column;
    if (count == kTileCols) {  // whole panel rows: vector copies
      for (std::int64_t k = 0; k < kc; ++k, dst += kTileCols)
#pragma GCC unroll 4
        for (int v = 0; v < kTileVectors; ++v)
          Vec::load_unaligned(rows[k] + offset + v * kWidth).store_unaligned(dst + v * kWidth);
    } else {
      for (std::int64_t k = 0; k < kc; ++k, dst += kTileCols)
        for (std::int64_t i = 0; i < count; ++i) dst[i] = rows[k][offset + i];
    }
    j += count;
  }
}

// Rows k_count of one panel, from rows_out on, column j read from
// columns[j][0 : k_count]; zero past column cols <= kTileCols.
void pack_b_panel_columns(const float* const* columns, std::int64_t cols, std::int64_t k_count, float* rows_out) {
  const std::int64_t whole_cols = cols / kTransposeBlock * kTransposeBlock;
  const std::int64_t whole_k = k_count / kTransposeBlock * kTransposeBlock;
  for (std::int64_t j = 0; j < whole_cols; j += kTransposeBlock)
    for (std::int64_t k = 0; k < whole_k; k += kTransposeBlock) {
      const float* rows[kTransposeBlock];
      for (std::int64_t i = 0; i < kTransposeBlock; ++i) rows[i] = columns[j + i] + k;
      transpose_block(rows, 1.0f, rows_out + k * kTileCols + j, kTileCols);
    }
  for (std::int64_t j = 0; j < cols; ++j)  // what the blocks left
    for (std::int64_t k = j < whole_cols ? whole_k : 0; k < k_count; ++k) rows_out[k * kTileCols + j] = columns[j][k];
  for (std::int64_t k = 0; k < k_count; ++k)
    for (std::int64_t j = cols; j < kTileCols; ++j) rows_out[k * kTileCols + j] = 0.0f;
}

void pack_b_columns(const float* const* columns, std::int64_t cols, std::int64_t kc, std::int64_t k_first,
                    std::int64_t k_count, float* out) {
  for (std::int64_t j0 = 0; j0 < cols; j0 += kTileCols)
    pack_b_panel_columns(columns + j0, smaller(kTileCols, cols - j0), k_count, out + j0 * kc + k_first * kTileCols);
}

// C = acc + beta * C for a tile of Rows x cols, cols <= Vectors * kWidth.
template <int Rows, int Vectors>
void store_tile(const Vec (&acc)[Rows][Vectors], float beta, float* c, std::int64_t ldc, std::int64_t cols) {
  if (cols == Vectors * kWidth) {
    const Vec scale(beta);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < Vectors; ++v) {
        float* dst = c + r * ldc + v * kWidth;
        const Vec out = beta == 0.0f ? acc[r][v] : xsimd::fma(scale, Vec::load_unaligned(dst), acc[r][v]);
        out.store_unaligned(dst);
      }
    return;
  }
  constexpr int tile_cols = Vectors * kWidth;
  alignas(64) float tile[Rows * tile_cols];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vectors; ++v) acc[r][v].store_aligned(tile + r * tile_cols + v * kWidth);
  for (int r = 0; r < Rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) {
      float& dst = c[r * ldc + j];
      dst = beta == 0.0f ? tile[r * tile_cols + j] : tile[r * tile_cols + j] + beta * dst;
    }
}

// The micro-kernel: C[0:Rows, 0:cols] = A panel · B panel + beta * C, using the
// first Vectors vectors of each B panel row.
template <int Rows, int Vectors>
void tile(std::int64_t kc, const float* a, const float* b, float beta, float* c, std::int64_t ldc,
          std::int64_t cols) {
  Vec acc[Rows][Vectors];
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) acc[r][v] = Vec(0.0f);
  for (std::int64_t k = 0; k < kc; ++k, a += kTileRows, b += kTileCols) {
    Vec row[Vectors];
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) row[v] = Vec::load_aligned(b + v * kWidth);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      const Vec a_r(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < Vectors; ++v) acc[r][v] = xsimd::fma(a_r, row[v], acc[r][v]);
    }
  }
  store_tile<Rows, Vectors>(acc, beta, c, ldc, cols);
}

// tile<rows, vectors> for run-time rows in 1 .. kTileRows and vectors in 1 ..
// kTileVectors (fewer only at the bottom and right edges of C).
template <int Rows = kTileRows, int Vectors = kTileVectors>
void edge_tile(std::int64_t rows, std::int64_t vectors, std::int64_t kc, const float* a, const float* b, float beta,
               float* c, std::int64_t ldc, std::int64_t cols) {
  if constexpr (Vectors > 1) {
    if (vectors < Vectors) return edge_tile<Rows, Vectors - 1>(rows, vectors, kc, a, b, beta, c, ldc, cols);
  }
  if constexpr (Rows > 1) {
    if (rows < Rows) return edge_tile<Rows - 1, Vectors>(rows, vectors, kc, a, b, beta, c, ldc, cols);
  }
  tile<Rows, Vectors>(kc, a, b, beta, c, ldc, cols);
}

// Each A panel stays in L1 while every B panel of the block passes it.
void multiply(const float* packed_a, const float* packed_b, std::int64_t m, std::int64_t n, std::int64_t kc,
              float beta, float* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; i += kTileRows, packed_a += kc * kTileRows)
    for (std::int64_t j = 0; j < n; j += kTileCols) {
      const std::int64_t rows = smaller(kTileRows, m - i), cols = smaller(kTileCols, n - j);
      float* tile_c = c + i * ldc + j;
      if (rows == kTileRows && cols == kTileCols) {
        tile<kTileRows, kTileVectors>(kc, packed_a, packed_b + j * kc, beta, tile_c, ldc, cols);
      } else {
        edge_tile(rows, (cols + kWidth - 1) / kWidth, kc, packed_a, packed_b + j * kc, beta, tile_c, ldc, cols);
      }
    }
}

}  // namespace

}  // namespace XGRAD_SIMD_NS

template <class Arch>
SgemmKernel sgemm_kernel(Arch) {
  using namespace XGRAD_SIMD_NS;
  return {kTileRows, kTileCols, kDepth, &pack_a, &pack_b, &pack_b_rows, &pack_b_columns, &multiply};
}

template SgemmKernel sgemm_kernel<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH);

}  // namespace xgrad::kernels
