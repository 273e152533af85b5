// Pooling kernels over contiguous planes (kernels/pool.hpp). Max and average
// pooling walk one output row at a time: the input rows its windows read are
// listed once, columns whose windows touch the padding take a scalar loop, and
// the interior columns go to the SIMD row kernels for f32. The references are
// plain loops per output element, written independently for the tests.

#include "kernels/pool.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/pool_simd.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

namespace {

constexpr std::int64_t kChunkWork = std::int64_t{1} << 15;          // element visits per thread chunk, at least
constexpr std::int64_t kFloatExactIndices = std::int64_t{1} << 24;  // float lanes hold indices exactly below this

// Runs fn(lo, hi) over planes [lo, hi) split across threads, each plane costing
// `work` element visits, so that small tensors stay on the calling thread.
template <class F>
void parallel_planes(std::int64_t planes, std::int64_t work, F fn) {
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkWork / std::max<std::int64_t>(work, 1));
  detail::parallel_for(0, planes, grain, fn);
}

// Where one output position's window meets the input along one dim: positions
// first, first + dilation, ... below end; and (dilation 1 only) the window's
// extent clipped to the padded input, which count_include_pad divides by.
struct Span {
  std::int64_t first, end, padded;
};

Span pool_span(const PoolGeometry& g, std::size_t dim, std::int64_t o) {
  const std::int64_t start = o * g.stride[dim] - g.padding[dim];
  const std::int64_t d = g.dilation[dim];
  const std::int64_t first = start < 0 ? start + (-start + d - 1) / d * d : start;
  const std::int64_t end = std::min(start + (g.kernel[dim] - 1) * d + 1, g.in[dim]);
  const std::int64_t padded = std::min(start + g.kernel[dim], g.in[dim] + g.padding[dim]) - start;
  return {first, end, padded};
}

std::int64_t window_size(const PoolGeometry& g) { return g.kernel[0] * g.kernel[1] * g.kernel[2]; }

// Output columns [begin, end) whose windows lie inside the input row.
struct Columns {
  std::int64_t begin, end;
};

Columns interior_columns(const PoolGeometry& g) {
  const std::int64_t stride = g.stride[2];
  const std::int64_t padding = g.padding[2];
  const std::int64_t reach = (g.kernel[2] - 1) * g.dilation[2] + 1;
  const std::int64_t begin = std::min((padding + stride - 1) / stride, g.out[2]);
  const std::int64_t last_start = g.in[2] - reach + padding;  // j * stride may reach this
  const std::int64_t end = last_start < 0 ? 0 : std::min(last_start / stride + 1, g.out[2]);
  return {begin, std::max(begin, end)};
}

// Calls fn(sd, sh, out_offset) for every output row (od, oh) of a plane, with
// `rows` holding the plane offsets of the input rows its windows read, in window order.
template <class F>
void for_each_output_row(const PoolGeometry& g, std::vector<std::int64_t>& rows, F fn) {
  for (std::int64_t od = 0; od < g.out[0]; ++od) {
    const Span sd = pool_span(g, 0, od);
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      const Span sh = pool_span(g, 1, oh);
      rows.clear();
      for (std::int64_t id = sd.first; id < sd.end; id += g.dilation[0])
        for (std::int64_t ih = sh.first; ih < sh.end; ih += g.dilation[1])
          rows.push_back((id * g.in[1] + ih) * g.in[2]);
      fn(sd, sh, (od * g.out[1] + oh) * g.out[2]);
    }
  }
}

// Plane p's row kernel arguments; `input` is the whole input (planes after p may be read and dropped).
PoolRow simd_row(const PoolGeometry& g, const float* input, std::int64_t p, const std::vector<std::int64_t>& rows) {
  return {.plane = input + p * g.in_plane(),
          .row_offsets = rows.data(),
          .rows = static_cast<std::int64_t>(rows.size()),
          .width = g.in[2],
          .readable = (g.planes - p) * g.in_plane(),
          .kernel = g.kernel[2],
          .stride = g.stride[2],
          .padding = g.padding[2],
          .dilation = g.dilation[2]};
}

// ---- max ---------------------------------------------------------------------

// Max pooling's step: v, at plane offset i, takes over when greater than the
// best so far or NaN. Selects through bit masks: GCC turns `take ? v : best`
// into branches, which random data mispredicts (20 ns per LeNet output).
template <class T>
void consider(T v, std::int64_t i, T& best, std::int64_t& best_index) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const bool take = (v > best) | std::isnan(v);
  const Bits mask = Bits{0} - static_cast<Bits>(take);
  best = std::bit_cast<T>((std::bit_cast<Bits>(v) & mask) | (std::bit_cast<Bits>(best) & ~mask));
  const std::int64_t index_mask = -static_cast<std::int64_t>(take);
  best_index = (i & index_mask) | (best_index & ~index_mask);
}

// out[j] and indices[j] (unless null) for output columns [begin, end) of a row.
template <class T>
void max_columns(const PoolGeometry& g, const T* plane, const std::vector<std::int64_t>& rows, std::int64_t begin,
                 std::int64_t end, T* out, std::int64_t* indices) {
  for (std::int64_t ow = begin; ow < end; ++ow) {
    const Span sw = pool_span(g, 2, ow);
    T best = -std::numeric_limits<T>::infinity();
    std::int64_t best_index = rows.front() + sw.first;
    for (std::int64_t row : rows)
      for (std::int64_t iw = sw.first; iw < sw.end; iw += g.dilation[2])
        consider(plane[row + iw], row + iw, best, best_index);
    out[ow] = best;
    if (indices) indices[ow] = best_index;
  }
}

std::int64_t max_row_simd(const PoolRow& row, std::int64_t begin, std::int64_t end, float* out, std::int64_t* indices) {
  return simd_call(MaxPoolRowKernel{}, row, begin, end, out, indices);
}

// ---- average -----------------------------------------------------------------

std::int64_t avg_divisor(const PoolGeometry& g, const Span& sd, const Span& sh, const Span& sw,
                         bool count_include_pad) {
  if (g.divisor_override != 0) return g.divisor_override;
  return count_include_pad ? sd.padded * sh.padded * sw.padded
                           : (sd.end - sd.first) * (sh.end - sh.first) * (sw.end - sw.first);
}

template <class T>
void avg_columns(const PoolGeometry& g, const T* plane, const std::vector<std::int64_t>& rows, const Span& sd,
                 const Span& sh, bool count_include_pad, std::int64_t begin, std::int64_t end, T* out) {
  for (std::int64_t ow = begin; ow < end; ++ow) {
    const Span sw = pool_span(g, 2, ow);
    T sum = 0;
    for (std::int64_t row : rows)
      for (std::int64_t iw = sw.first; iw < sw.end; ++iw) sum += plane[row + iw];
    out[ow] = sum / static_cast<T>(avg_divisor(g, sd, sh, sw, count_include_pad));
  }
}

std::int64_t avg_row_simd(const PoolRow& row, std::int64_t begin, std::int64_t end, float divisor, float* out) {
  return simd_call(AvgPoolRowKernel{}, row, begin, end, divisor, out);
}

// grad_plane += shares[ow] over the windows of output columns [begin, end) of a row, clipped to the input.
template <class T>
void spread_columns(const PoolGeometry& g, const std::vector<std::int64_t>& rows, const std::vector<T>& shares,
                    std::int64_t begin, std::int64_t end, T* grad_plane) {
  for (std::int64_t ow = begin; ow < end; ++ow) {
    const Span sw = pool_span(g, 2, ow);
    for (std::int64_t row : rows)
      for (std::int64_t iw = sw.first; iw < sw.end; ++iw) grad_plane[row + iw] += shares[ow];
  }
}

// The same for interior columns (whole windows inside the row): one strided
// pass per window position, which the compiler keeps tight.
template <class T>
void spread_interior(const PoolGeometry& g, const std::vector<std::int64_t>& rows, const std::vector<T>& shares,
                     const Columns& inner, T* grad_plane) {
  const std::int64_t stride = g.stride[2];
  for (std::int64_t row : rows)
    for (std::int64_t k = 0; k < g.kernel[2]; ++k) {
      T* dst = grad_plane + row - g.padding[2] + k;
      for (std::int64_t ow = inner.begin; ow < inner.end; ++ow) dst[ow * stride] += shares[ow];
    }
}

// ---- adaptive ----------------------------------------------------------------

// Output o's window along a dim: [floor(o * in / out), ceil((o + 1) * in / out)).
struct Range {
  std::int64_t begin, end;
};

Range adaptive_range(const AdaptiveGeometry& g, std::size_t dim, std::int64_t o) {
  return {o * g.in[dim] / g.out[dim], ((o + 1) * g.in[dim] + g.out[dim] - 1) / g.out[dim]};
}

// Calls fn(o, rd, rh, rw) for every output position o of a plane.
template <class F>
void for_each_adaptive_window(const AdaptiveGeometry& g, F fn) {
  std::int64_t o = 0;
  for (std::int64_t od = 0; od < g.out[0]; ++od)
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
      for (std::int64_t ow = 0; ow < g.out[2]; ++ow)
        fn(o++, adaptive_range(g, 0, od), adaptive_range(g, 1, oh), adaptive_range(g, 2, ow));
}

// Calls fn(i) for the plane offset i of every element of a window.
template <class F>
void for_each_in_window(const AdaptiveGeometry& g, const Range& rd, const Range& rh, const Range& rw, F fn) {
  for (std::int64_t id = rd.begin; id < rd.end; ++id)
    for (std::int64_t ih = rh.begin; ih < rh.end; ++ih)
      for (std::int64_t iw = rw.begin; iw < rw.end; ++iw) fn((id * g.in[1] + ih) * g.in[2] + iw);
}

std::int64_t adaptive_work(const AdaptiveGeometry& g) { return std::max(g.in_plane(), g.out_plane()); }

// ---- sums ----------------------------------------------------------------------

float plane_sum(const float* x, std::int64_t n) {
  return simd_call(SumKernel{}, x, n);
}

double plane_sum(const double* x, std::int64_t n) {
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

// Sum of an adaptive window, a row segment at a time.
template <class T>
T window_sum(const AdaptiveGeometry& g, const T* plane, const Range& rd, const Range& rh, const Range& rw) {
  T sum = 0;
  for (std::int64_t id = rd.begin; id < rd.end; ++id)
    for (std::int64_t ih = rh.begin; ih < rh.end; ++ih)
      sum += plane_sum(plane + (id * g.in[1] + ih) * g.in[2] + rw.begin, rw.end - rw.begin);
  return sum;
}

}  // namespace

template <class T>
void max_pool_forward(const PoolGeometry& g, const T* input, T* output, std::int64_t* indices) {
  const Columns inner = interior_columns(g);
  const bool vectorise = std::is_same_v<T, float> && (!indices || g.in_plane() < kFloatExactIndices);
  parallel_planes(g.planes, g.out_plane() * window_size(g), [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int64_t> rows;
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* plane = input + p * g.in_plane();
      for_each_output_row(g, rows, [&](const Span&, const Span&, std::int64_t o) {
        T* out = output + p * g.out_plane() + o;
        std::int64_t* idx = indices ? indices + p * g.out_plane() + o : nullptr;
        max_columns(g, plane, rows, 0, inner.begin, out, idx);
        std::int64_t done = inner.begin;
        if constexpr (std::is_same_v<T, float>)
          if (vectorise) done = max_row_simd(simd_row(g, input, p, rows), inner.begin, inner.end, out, idx);
        max_columns(g, plane, rows, done, g.out[2], out, idx);
      });
    }
  });
}

template <class T>
void max_pool_forward_reference(const PoolGeometry& g, const T* input, T* output, std::int64_t* indices) {
  std::int64_t o = 0;
  for (std::int64_t p = 0; p < g.planes; ++p)
    for (std::int64_t od = 0; od < g.out[0]; ++od)
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t best_index = -1;
          for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd)
            for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
              for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const std::int64_t id = od * g.stride[0] - g.padding[0] + kd * g.dilation[0];
                const std::int64_t ih = oh * g.stride[1] - g.padding[1] + kh * g.dilation[1];
                const std::int64_t iw = ow * g.stride[2] - g.padding[2] + kw * g.dilation[2];
                if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) continue;
                const std::int64_t index = (id * g.in[1] + ih) * g.in[2] + iw;
                const T v = input[p * g.in_plane() + index];
                if (best_index < 0 || v > best || std::isnan(v)) {
                  best = v;
                  best_index = index;
                }
              }
          output[o] = best;
          if (indices) indices[o] = best_index;
        }
}

template <class T>
void max_pool_backward(std::int64_t planes, std::int64_t in_plane, std::int64_t out_plane, const T* grad_output,
                       const std::int64_t* indices, T* grad_input) {
  parallel_planes(planes, in_plane + out_plane, [&](std::int64_t lo, std::int64_t hi) {
    std::fill(grad_input + lo * in_plane, grad_input + hi * in_plane, T(0));
    for (std::int64_t p = lo; p < hi; ++p) {
      T* grad_plane = grad_input + p * in_plane;
      for (std::int64_t i = p * out_plane; i < (p + 1) * out_plane; ++i) grad_plane[indices[i]] += grad_output[i];
    }
  });
}

template <class T>
void avg_pool_forward(const PoolGeometry& g, bool count_include_pad, const T* input, T* output) {
  const Columns inner = interior_columns(g);
  const Span inside{0, g.kernel[2], g.kernel[2]};  // an interior column's horizontal span, up to a shift
  parallel_planes(g.planes, g.out_plane() * window_size(g), [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int64_t> rows;
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* plane = input + p * g.in_plane();
      for_each_output_row(g, rows, [&](const Span& sd, const Span& sh, std::int64_t o) {
        T* out = output + p * g.out_plane() + o;
        avg_columns(g, plane, rows, sd, sh, count_include_pad, 0, inner.begin, out);
        std::int64_t done = inner.begin;
        if constexpr (std::is_same_v<T, float>) {
          const auto divisor = static_cast<float>(avg_divisor(g, sd, sh, inside, count_include_pad));
          done = avg_row_simd(simd_row(g, input, p, rows), inner.begin, inner.end, divisor, out);
        }
        avg_columns(g, plane, rows, sd, sh, count_include_pad, done, g.out[2], out);
      });
    }
  });
}

template <class T>
void avg_pool_forward_reference(const PoolGeometry& g, bool count_include_pad, const T* input, T* output) {
  std::int64_t o = 0;
  for (std::int64_t p = 0; p < g.planes; ++p)
    for (std::int64_t od = 0; od < g.out[0]; ++od)
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          const std::int64_t start[3] = {od * g.stride[0] - g.padding[0], oh * g.stride[1] - g.padding[1],
                                         ow * g.stride[2] - g.padding[2]};
          std::int64_t padded_size = 1;  // the window clipped to the padded input
          std::int64_t inside_size = 1;  // the window clipped to the input
          std::int64_t lo[3], hi[3];
          for (std::size_t d = 0; d < 3; ++d) {
            const std::int64_t end = std::min(start[d] + g.kernel[d], g.in[d] + g.padding[d]);
            padded_size *= end - start[d];
            lo[d] = std::max<std::int64_t>(start[d], 0);
            hi[d] = std::min(end, g.in[d]);
            inside_size *= hi[d] - lo[d];
          }
          T sum = 0;
          for (std::int64_t id = lo[0]; id < hi[0]; ++id)
            for (std::int64_t ih = lo[1]; ih < hi[1]; ++ih)
              for (std::int64_t iw = lo[2]; iw < hi[2]; ++iw)
                sum += input[p * g.in_plane() + (id * g.in[1] + ih) * g.in[2] + iw];
          output[o] = sum / static_cast<T>(g.divisor_override != 0 ? g.divisor_override
                                           : count_include_pad    ? padded_size
                                                                  : inside_size);
        }
}

template <class T>
void avg_pool_backward(const PoolGeometry& g, bool count_include_pad, const T* grad_output, T* grad_input) {
  const Columns inner = interior_columns(g);
  parallel_planes(g.planes, g.out_plane() * window_size(g), [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int64_t> rows;
    std::vector<T> shares(static_cast<std::size_t>(g.out[2]));  // each output's gradient / divisor
    std::fill(grad_input + lo * g.in_plane(), grad_input + hi * g.in_plane(), T(0));
    for (std::int64_t p = lo; p < hi; ++p) {
      T* grad_plane = grad_input + p * g.in_plane();
      for_each_output_row(g, rows, [&](const Span& sd, const Span& sh, std::int64_t o) {
        const T* grad = grad_output + p * g.out_plane() + o;
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow)
          shares[ow] = grad[ow] / static_cast<T>(avg_divisor(g, sd, sh, pool_span(g, 2, ow), count_include_pad));
        spread_columns(g, rows, shares, 0, inner.begin, grad_plane);
        spread_interior(g, rows, shares, inner, grad_plane);
        spread_columns(g, rows, shares, inner.end, g.out[2], grad_plane);
      });
    }
  });
}

template <class T>
void adaptive_avg_pool_forward(const AdaptiveGeometry& g, const T* input, T* output) {
  if (g.out_plane() == 1) return global_avg_pool_forward(g.planes, g.in_plane(), input, output);
  parallel_planes(g.planes, adaptive_work(g), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* plane = input + p * g.in_plane();
      T* out = output + p * g.out_plane();
      for_each_adaptive_window(g, [&](std::int64_t o, const Range& rd, const Range& rh, const Range& rw) {
        out[o] = window_sum(g, plane, rd, rh, rw) /
                 static_cast<T>((rd.end - rd.begin) * (rh.end - rh.begin) * (rw.end - rw.begin));
      });
    }
  });
}

template <class T>
void adaptive_avg_pool_backward(const AdaptiveGeometry& g, const T* grad_output, T* grad_input) {
  if (g.out_plane() == 1) return global_avg_pool_backward(g.planes, g.in_plane(), grad_output, grad_input);
  parallel_planes(g.planes, adaptive_work(g), [&](std::int64_t lo, std::int64_t hi) {
    std::fill(grad_input + lo * g.in_plane(), grad_input + hi * g.in_plane(), T(0));
    for (std::int64_t p = lo; p < hi; ++p) {
      T* grad_plane = grad_input + p * g.in_plane();
      const T* grad = grad_output + p * g.out_plane();
      for_each_adaptive_window(g, [&](std::int64_t o, const Range& rd, const Range& rh, const Range& rw) {
        const T share = grad[o] / static_cast<T>((rd.end - rd.begin) * (rh.end - rh.begin) * (rw.end - rw.begin));
        for_each_in_window(g, rd, rh, rw, [&](std::int64_t i) { grad_plane[i] += share; });
      });
    }
  });
}

template <class T>
void adaptive_max_pool_forward(const AdaptiveGeometry& g, const T* input, T* output, std::int64_t* indices) {
  parallel_planes(g.planes, adaptive_work(g), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* plane = input + p * g.in_plane();
      for_each_adaptive_window(g, [&](std::int64_t o, const Range& rd, const Range& rh, const Range& rw) {
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t best_index = (rd.begin * g.in[1] + rh.begin) * g.in[2] + rw.begin;
        for_each_in_window(g, rd, rh, rw, [&](std::int64_t i) { consider(plane[i], i, best, best_index); });
        output[p * g.out_plane() + o] = best;
        indices[p * g.out_plane() + o] = best_index;
      });
    }
  });
}

template <class T>
void global_avg_pool_forward(std::int64_t planes, std::int64_t plane_size, const T* input, T* output) {
  parallel_planes(planes, plane_size, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p)
      output[p] = plane_sum(input + p * plane_size, plane_size) / static_cast<T>(plane_size);
  });
}

template <class T>
void global_avg_pool_forward_reference(std::int64_t planes, std::int64_t plane_size, const T* input, T* output) {
  for (std::int64_t p = 0; p < planes; ++p) {
    double sum = 0;
    for (std::int64_t i = 0; i < plane_size; ++i) sum += input[p * plane_size + i];
    output[p] = static_cast<T>(sum / static_cast<double>(plane_size));
  }
}

template <class T>
void global_avg_pool_backward(std::int64_t planes, std::int64_t plane_size, const T* grad_output, T* grad_input) {
  parallel_planes(planes, plane_size, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p)
      std::fill(grad_input + p * plane_size, grad_input + (p + 1) * plane_size,
                grad_output[p] / static_cast<T>(plane_size));
  });
}

#define XGRAD_INSTANTIATE_POOL(T)                                                                                  \
  template void max_pool_forward<T>(const PoolGeometry&, const T*, T*, std::int64_t*);                             \
  template void max_pool_forward_reference<T>(const PoolGeometry&, const T*, T*, std::int64_t*);                   \
  template void max_pool_backward<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const std::int64_t*, T*); \
  template void avg_pool_forward<T>(const PoolGeometry&, bool, const T*, T*);                                      \
  template void avg_pool_forward_reference<T>(const PoolGeometry&, bool, const T*, T*);                            \
  template void avg_pool_backward<T>(const PoolGeometry&, bool, const T*, T*);                                     \
  template void adaptive_avg_pool_forward<T>(const AdaptiveGeometry&, const T*, T*);                               \
  template void adaptive_avg_pool_backward<T>(const AdaptiveGeometry&, const T*, T*);                              \
  template void adaptive_max_pool_forward<T>(const AdaptiveGeometry&, const T*, T*, std::int64_t*);                \
  template void global_avg_pool_forward<T>(std::int64_t, std::int64_t, const T*, T*);                              \
  template void global_avg_pool_forward_reference<T>(std::int64_t, std::int64_t, const T*, T*);                    \
  template void global_avg_pool_backward<T>(std::int64_t, std::int64_t, const T*, T*);
XGRAD_INSTANTIATE_POOL(float)
XGRAD_INSTANTIATE_POOL(double)
#undef XGRAD_INSTANTIATE_POOL

}  // namespace xgrad::kernels
