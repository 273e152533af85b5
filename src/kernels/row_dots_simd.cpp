// The row dot products of row_dots_simd.hpp. A register block of up to
// kBlockRows rows of a by kBlockColumns rows of b keeps one vector accumulator
// per pair over all images, so each vector of a and b loaded feeds several
// FMAs and the horizontal sums happen once per pair. A run's last partial
// vector is the full vector ending at the run's end with the lanes already
// summed masked off in both operands (so 0 * Inf never appears); runs shorter
// than a vector take a scalar loop.

#include "kernels/row_dots_simd.hpp"

#include <algorithm>

#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

using Batch = xsimd::batch<float, XGRAD_SIMD_ARCH>;
constexpr std::int64_t kLanes = static_cast<std::int64_t>(Batch::size);
// Accumulators plus one vector of each operand fit the register file
// (32 vector registers with AVX-512, 16 otherwise).
constexpr int kBlockRows = kLanes >= 16 ? 4 : 2;
constexpr int kBlockColumns = 4;

// {0, 1, ..., kLanes - 1}.
Batch lane_indices() {
  alignas(64) float indices[kLanes];
  for (std::int64_t l = 0; l < kLanes; ++l) indices[l] = static_cast<float>(l);
  return Batch::load_aligned(indices);
}

template <int Rows, int Columns>
void dot_block(const RowDots& d, std::int64_t i0, std::int64_t j0) {
  Batch acc[Rows][Columns];
  float scalar[Rows][Columns] = {};
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Columns; ++j) acc[i][j] = Batch(0.0f);
  const std::int64_t whole = d.length / kLanes * kLanes;
  // The tail vector starts at length - kLanes; its lanes below whole - (length - kLanes) were summed already.
  const bool masked_tail = whole < d.length && d.length >= kLanes;
  const auto tail_lanes = lane_indices() >= Batch(static_cast<float>(whole - (d.length - kLanes)));
  for (std::int64_t n = 0; n < d.images; ++n) {
    const float* a[Rows];
    const float* b[Columns];
    for (int i = 0; i < Rows; ++i) a[i] = d.a + (i0 + i) * d.lda + n * d.a_image;
    for (int j = 0; j < Columns; ++j) b[j] = d.b[j0 + j] + n * d.b_image;
    const auto step = [&](std::int64_t p, auto load) {
      Batch bv[Columns];
      for (int j = 0; j < Columns; ++j) bv[j] = load(b[j] + p);
      for (int i = 0; i < Rows; ++i) {
        const Batch av = load(a[i] + p);
        for (int j = 0; j < Columns; ++j) acc[i][j] = xsimd::fma(av, bv[j], acc[i][j]);
      }
    };
    for (std::int64_t p = 0; p < whole; p += kLanes) step(p, [](const float* q) { return Batch::load_unaligned(q); });
    if (masked_tail) {
      step(d.length - kLanes,
           [&](const float* q) { return xsimd::select(tail_lanes, Batch::load_unaligned(q), Batch(0.0f)); });
    } else {
      for (std::int64_t p = whole; p < d.length; ++p)
        for (int i = 0; i < Rows; ++i)
          for (int j = 0; j < Columns; ++j) scalar[i][j] += a[i][p] * b[j][p];
    }
  }
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Columns; ++j) d.c[(i0 + i) * d.ldc + j0 + j] += xsimd::hadd(acc[i][j]) + scalar[i][j];
}

// dot_block<rows, columns> for the run-time sizes of an edge block.
template <int Rows>
void dot_block_columns(const RowDots& d, std::int64_t i0, std::int64_t j0, std::int64_t columns) {
  static_assert(kBlockColumns == 4);
  switch (columns) {
    case 1: return dot_block<Rows, 1>(d, i0, j0);
    case 2: return dot_block<Rows, 2>(d, i0, j0);
    case 3: return dot_block<Rows, 3>(d, i0, j0);
    default: return dot_block<Rows, 4>(d, i0, j0);
  }
}

void dot_block_any(const RowDots& d, std::int64_t i0, std::int64_t j0, std::int64_t rows, std::int64_t columns) {
  static_assert(kBlockRows == 2 || kBlockRows == 4);
  switch (rows) {
    case 1: return dot_block_columns<1>(d, i0, j0, columns);
    case 2: return dot_block_columns<2>(d, i0, j0, columns);
    case 3: return dot_block_columns<3>(d, i0, j0, columns);
    default: return dot_block_columns<kBlockRows>(d, i0, j0, columns);
  }
}

}  // namespace XGRAD_SIMD_NS

template <class Arch>
void RowDotsKernel::operator()(Arch, const RowDots& d) const {
  using namespace XGRAD_SIMD_NS;
  for (std::int64_t i0 = 0; i0 < d.rows; i0 += kBlockRows)
    for (std::int64_t j0 = 0; j0 < d.columns; j0 += kBlockColumns)
      dot_block_any(d, i0, j0, std::min<std::int64_t>(kBlockRows, d.rows - i0),
                    std::min<std::int64_t>(kBlockColumns, d.columns - j0));
}

template void RowDotsKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const RowDots&) const;

}  // namespace xgrad::kernels
