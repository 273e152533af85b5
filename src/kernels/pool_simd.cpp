// xsimd bodies of the pooling kernels (kernels/pool_simd.hpp), compiled once
// per instruction set. Pooling rows are vectorised across output columns: lane
// j of a batch is output column j0 + j, and each window position is one load
// (stride 1) or two loads whose even elements are gathered by a swizzle
// (stride 2). Every lane visits its window in the same order as the scalar
// code, so results are bitwise those of the scalar kernels.

#include "kernels/pool_simd.hpp"

#include <algorithm>
#include <limits>

#include "kernels/simd.hpp"

namespace xgrad::kernels {

namespace XGRAD_SIMD_NS {

using Batch = xsimd::batch<float, XGRAD_SIMD_ARCH>;
using IndexBatch = xsimd::batch<std::uint32_t, XGRAD_SIMD_ARCH>;
constexpr std::int64_t kLanes = static_cast<std::int64_t>(Batch::size);

// Lane i takes element 2i mod n (the even elements of a batch, twice), or 2i + 1 mod n (the odd ones).
struct EvenElements {
  static constexpr std::uint32_t get(std::size_t i, std::size_t n) { return static_cast<std::uint32_t>(2 * i % n); }
};
struct OddElements {
  static constexpr std::uint32_t get(std::size_t i, std::size_t n) {
    return static_cast<std::uint32_t>((2 * i + 1) % n);
  }
};
struct LowerHalf {
  static constexpr bool get(std::size_t i, std::size_t n) { return i < n / 2; }
};

// p[j * Stride] for the kLanes lanes j; reads p[0 .. Stride * (kLanes - 1)] and no further.
template <int Stride>
Batch load_every(const float* p) {
  if constexpr (Stride == 1) {
    return Batch::load_unaligned(p);
  } else {
    static_assert(Stride == 2);
    constexpr auto even = xsimd::make_batch_constant<IndexBatch, EvenElements>();
    constexpr auto odd = xsimd::make_batch_constant<IndexBatch, OddElements>();
    constexpr auto lower = xsimd::make_batch_bool_constant<Batch, LowerHalf>();
    // The upper lanes come from a load shifted back by one, so that the last
    // element read is the last one needed: its odd elements are p's even ones.
    const Batch first = xsimd::swizzle(Batch::load_unaligned(p), even);
    const Batch second = xsimd::swizzle(Batch::load_unaligned(p + kLanes - 1), odd);
    return xsimd::select(lower, first, second);
  }
}

// Output columns [j, j + kLanes) lie in [begin, end) and read nothing past the input row.
template <int Stride>
bool block_fits(const PoolRow& row, std::int64_t j, std::int64_t begin, std::int64_t end) {
  const std::int64_t start = j * Stride - row.padding;
  return j >= begin && j + kLanes <= end && start + (row.kernel - 1) * row.dilation + Stride * (kLanes - 1) < row.width;
}

// A vector of columns from j reads nothing before the plane or past plane + readable.
template <int Stride>
bool block_readable(const PoolRow& row, std::int64_t j) {
  const std::int64_t start = j * Stride - row.padding;
  std::int64_t last_row = 0;
  for (std::int64_t r = 0; r < row.rows; ++r) last_row = std::max(last_row, row.row_offsets[r]);
  return start >= 0 && last_row + start + (row.kernel - 1) * row.dilation + Stride * (kLanes - 1) < row.readable;
}

// Runs block(j, kLanes) over whole vectors of columns from `begin`; a last
// block that overlaps the previous one ends at `end` (its columns are computed
// twice, to the same values). Columns left that a vector inside the row cannot
// reach (a row narrower than a vector) go to block(j, end - j): a vector whose
// lanes past `end` read on past the row, within the plane's readable floats,
// and are not stored. Returns the first column left to the caller.
template <int Stride, class Block>
std::int64_t for_each_block(const PoolRow& row, std::int64_t begin, std::int64_t end, Block block) {
  std::int64_t j = begin;
  for (; block_fits<Stride>(row, j, begin, end); j += kLanes) block(j, kLanes);
  if (j < end && j > begin && block_fits<Stride>(row, end - kLanes, begin, end)) {
    block(end - kLanes, kLanes);
    return end;
  }
  if (j < end && block_readable<Stride>(row, j)) {
    block(j, end - j);
    return end;
  }
  return j;
}

// The first `count` lanes of v to out.
template <class T, class V>
void store_first(const V& v, std::int64_t count, T* out) {
  if (count == kLanes) {
    v.store_unaligned(out);
    return;
  }
  alignas(64) T lanes[kLanes];
  v.store_aligned(lanes);
  std::copy(lanes, lanes + count, out);
}

// {0, Stride, 2 * Stride, ...}: each lane's column offset from lane 0.
template <int Stride>
Batch lane_offsets() {
  alignas(64) float offsets[kLanes];
  for (std::int64_t j = 0; j < kLanes; ++j) offsets[j] = static_cast<float>(j * Stride);
  return Batch::load_aligned(offsets);
}

template <int Stride, bool WithIndices>
std::int64_t max_row(const PoolRow& row, std::int64_t begin, std::int64_t end, float* out, std::int64_t* indices) {
  const Batch lanes = lane_offsets<Stride>();
  return for_each_block<Stride>(row, begin, end, [&](std::int64_t j, std::int64_t count) {
    const std::int64_t start = j * Stride - row.padding;
    Batch best(-std::numeric_limits<float>::infinity());
    Batch best_index = lanes + Batch(static_cast<float>(row.row_offsets[0] + start));
    for (std::int64_t r = 0; r < row.rows; ++r) {
      const float* p = row.plane + row.row_offsets[r] + start;
      for (std::int64_t k = 0; k < row.kernel; ++k) {
        const std::int64_t column = k * row.dilation;
        const Batch v = load_every<Stride>(p + column);
        const auto take = (v > best) | xsimd::isnan(v);
        best = xsimd::select(take, v, best);
        if constexpr (WithIndices)
          best_index =
              xsimd::select(take, lanes + Batch(static_cast<float>(row.row_offsets[r] + start + column)), best_index);
      }
    }
    store_first(best, count, out + j);
    if constexpr (WithIndices) {
      alignas(64) float found[kLanes];
      best_index.store_aligned(found);
      for (std::int64_t l = 0; l < count; ++l) indices[j + l] = static_cast<std::int64_t>(found[l]);
    }
  });
}

template <int Stride>
std::int64_t avg_row(const PoolRow& row, std::int64_t begin, std::int64_t end, float divisor, float* out) {
  return for_each_block<Stride>(row, begin, end, [&](std::int64_t j, std::int64_t count) {
    const std::int64_t start = j * Stride - row.padding;
    Batch sum(0.0f);
    for (std::int64_t r = 0; r < row.rows; ++r) {
      const float* p = row.plane + row.row_offsets[r] + start;
      for (std::int64_t k = 0; k < row.kernel; ++k) sum += load_every<Stride>(p + k * row.dilation);
    }
    store_first(sum / Batch(divisor), count, out + j);
  });
}

}  // namespace XGRAD_SIMD_NS

template <class Arch>
std::int64_t MaxPoolRowKernel::operator()(Arch, const PoolRow& row, std::int64_t begin, std::int64_t end, float* out,
                                          std::int64_t* indices) const {
  using namespace XGRAD_SIMD_NS;
  switch (row.stride) {
    case 1:
      return indices ? max_row<1, true>(row, begin, end, out, indices)
                     : max_row<1, false>(row, begin, end, out, indices);
    case 2:
      return indices ? max_row<2, true>(row, begin, end, out, indices)
                     : max_row<2, false>(row, begin, end, out, indices);
    default:
      return begin;
  }
}

template <class Arch>
std::int64_t AvgPoolRowKernel::operator()(Arch, const PoolRow& row, std::int64_t begin, std::int64_t end, float divisor,
                                          float* out) const {
  using namespace XGRAD_SIMD_NS;
  switch (row.stride) {
    case 1:
      return avg_row<1>(row, begin, end, divisor, out);
    case 2:
      return avg_row<2>(row, begin, end, divisor, out);
    default:
      return begin;
  }
}

template <class Arch>
float SumKernel::operator()(Arch, const float* x, std::int64_t n) const {
  using namespace XGRAD_SIMD_NS;
  // Four accumulators hide the add latency.
  Batch acc[4] = {Batch(0.0f), Batch(0.0f), Batch(0.0f), Batch(0.0f)};
  std::int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes)
    for (int a = 0; a < 4; ++a) acc[a] += Batch::load_unaligned(x + i + a * kLanes);
  for (; i + kLanes <= n; i += kLanes) acc[0] += Batch::load_unaligned(x + i);
  float sum = xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (; i < n; ++i) sum += x[i];
  return sum;
}

template std::int64_t MaxPoolRowKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const PoolRow&, std::int64_t,
                                                                    std::int64_t, float*, std::int64_t*) const;
template std::int64_t AvgPoolRowKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const PoolRow&, std::int64_t,
                                                                    std::int64_t, float, float*) const;
template float SumKernel::operator()<XGRAD_SIMD_ARCH>(XGRAD_SIMD_ARCH, const float*, std::int64_t) const;

}  // namespace xgrad::kernels
