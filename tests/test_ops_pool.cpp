// Pooling: max (with indices), average, adaptive and global; 1-D, 2-D and 3-D;
// values against a naive reference written here and against hand-computed
// cases, gradients by gradcheck, SIMD kernels against their scalar twins,
// threads, and error messages.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "kernels/pool.hpp"
#include "kernels/pool_simd.hpp"
#include "kernels/simd.hpp"
#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// ---- a naive reference -------------------------------------------------------

struct WindowCase {
  Shape shape;
  Spatial kernel, stride, padding, dilation;
  bool ceil_mode = false;
};

std::string describe(const WindowCase& c) {
  return "input " + shape_to_string(c.shape) + ", kernel " + shape_to_string(c.kernel) + ", stride " +
         shape_to_string(c.stride) + ", padding " + shape_to_string(c.padding) + ", dilation " +
         shape_to_string(c.dilation) + ", ceil_mode " + (c.ceil_mode ? "on" : "off");
}

struct Pooled {
  Shape shape;
  std::vector<double> values;
  std::vector<std::int64_t> indices;  // max only
};

// Option value for spatial dim d (one value applies to all dims).
std::int64_t option(const Spatial& values, std::size_t d) { return values.size() == 1 ? values[0] : values[d]; }

// Pooling as PyTorch documents it, one output element at a time in doubles.
// Empty when PyTorch would refuse the options (padding over half the kernel,
// output too small) or a max window holds only padding.
std::optional<Pooled> naive_pool(const Tensor& x, const WindowCase& c, bool max, bool count_include_pad) {
  const std::size_t dims = c.shape.size() - 2;
  std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, dl{1, 1, 1};
  Pooled result{{c.shape[0], c.shape[1]}, {}, {}};
  for (std::size_t d = 0; d < dims; ++d) {
    const std::size_t a = 3 - dims + d;
    in[a] = c.shape[2 + d];
    k[a] = option(c.kernel, d);
    s[a] = c.stride.empty() ? k[a] : option(c.stride, d);
    p[a] = option(c.padding, d);
    dl[a] = option(c.dilation, d);
    const std::int64_t extent = dl[a] * (k[a] - 1) + 1;
    const std::int64_t span = in[a] + 2 * p[a] - extent;
    if (p[a] > extent / 2 || span < 0) return std::nullopt;
    const double steps = static_cast<double>(span) / static_cast<double>(s[a]);
    out[a] = static_cast<std::int64_t>(c.ceil_mode ? std::ceil(steps) : std::floor(steps)) + 1;
    if (c.ceil_mode && (out[a] - 1) * s[a] >= in[a] + p[a]) --out[a];
    result.shape.push_back(out[a]);
  }
  const std::vector<double> data = x.to_vector<double>();
  const std::int64_t plane = in[0] * in[1] * in[2];
  for (std::int64_t n = 0; n < c.shape[0] * c.shape[1]; ++n)
    for (std::int64_t o0 = 0; o0 < out[0]; ++o0)
      for (std::int64_t o1 = 0; o1 < out[1]; ++o1)
        for (std::int64_t o2 = 0; o2 < out[2]; ++o2) {
          const std::array<std::int64_t, 3> o{o0, o1, o2};
          double best = -inf, sum = 0;
          std::int64_t best_index = -1, count = 0, padded_size = 1;
          for (std::size_t a = 0; a < 3; ++a) {
            const std::int64_t start = o[a] * s[a] - p[a];
            padded_size *= std::min(start + k[a], in[a] + p[a]) - start;
          }
          for (std::int64_t k0 = 0; k0 < k[0]; ++k0)
            for (std::int64_t k1 = 0; k1 < k[1]; ++k1)
              for (std::int64_t k2 = 0; k2 < k[2]; ++k2) {
                const std::array<std::int64_t, 3> kk{k0, k1, k2};
                std::array<std::int64_t, 3> i{};
                bool inside = true;
                for (std::size_t a = 0; a < 3; ++a) {
                  i[a] = o[a] * s[a] - p[a] + kk[a] * dl[a];
                  inside = inside && i[a] >= 0 && i[a] < in[a];
                }
                if (!inside) continue;
                const std::int64_t index = (i[0] * in[1] + i[1]) * in[2] + i[2];
                const double v = data[static_cast<std::size_t>(n * plane + index)];
                if (best_index < 0 || v > best || std::isnan(v)) {
                  best = v;
                  best_index = index;
                }
                sum += v;
                ++count;
              }
          if (max && count == 0) return std::nullopt;
          result.values.push_back(max ? best : sum / static_cast<double>(count_include_pad ? padded_size : count));
          result.indices.push_back(best_index);
        }
  return result;
}

// Adaptive average or max pooling as PyTorch documents it.
Pooled naive_adaptive(const Tensor& x, const Spatial& output_size, bool max) {
  const std::size_t dims = x.dim() - 2;
  std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1};
  Pooled result{{x.shape()[0], x.shape()[1]}, {}, {}};
  for (std::size_t d = 0; d < dims; ++d) {
    in[3 - dims + d] = x.shape()[2 + d];
    out[3 - dims + d] = option(output_size, d);
    result.shape.push_back(out[3 - dims + d]);
  }
  auto lo = [&](std::size_t a, std::int64_t o) {
    return static_cast<std::int64_t>(std::floor(double(o * in[a]) / double(out[a])));
  };
  auto hi = [&](std::size_t a, std::int64_t o) {
    return static_cast<std::int64_t>(std::ceil(double((o + 1) * in[a]) / double(out[a])));
  };
  const std::vector<double> data = x.to_vector<double>();
  const std::int64_t plane = in[0] * in[1] * in[2];
  for (std::int64_t n = 0; n < x.shape()[0] * x.shape()[1]; ++n)
    for (std::int64_t o0 = 0; o0 < out[0]; ++o0)
      for (std::int64_t o1 = 0; o1 < out[1]; ++o1)
        for (std::int64_t o2 = 0; o2 < out[2]; ++o2) {
          double best = -inf, sum = 0;
          std::int64_t best_index = -1, count = 0;
          for (std::int64_t i0 = lo(0, o0); i0 < hi(0, o0); ++i0)
            for (std::int64_t i1 = lo(1, o1); i1 < hi(1, o1); ++i1)
              for (std::int64_t i2 = lo(2, o2); i2 < hi(2, o2); ++i2) {
                const std::int64_t index = (i0 * in[1] + i1) * in[2] + i2;
                const double v = data[static_cast<std::size_t>(n * plane + index)];
                if (best_index < 0 || v > best || std::isnan(v)) {
                  best = v;
                  best_index = index;
                }
                sum += v;
                ++count;
              }
          result.values.push_back(max ? best : sum / static_cast<double>(count));
          result.indices.push_back(best_index);
        }
  return result;
}

// ---- inputs and cases --------------------------------------------------------

// A float64 leaf holding a random permutation of values 0.05 apart: no ties,
// and gradcheck's perturbations never change which element a window picks.
Tensor distinct_leaf(const Shape& shape) {
  const std::vector<double> noise = randn(shape, {.dtype = f64}).to_vector<double>();
  std::vector<std::size_t> order(noise.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return noise[a] < noise[b]; });
  std::vector<double> values(noise.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank)
    values[order[rank]] = 0.05 * static_cast<double>(rank) - 0.025 * static_cast<double>(order.size());
  return from_vector(values, shape, {.dtype = f64, .requires_grad = true});
}

// Small odd-sized inputs per number of spatial dims, batch 1 and 3.
std::vector<Shape> grid_shapes(std::size_t dims) {
  switch (dims) {
    case 1:
      return {{1, 2, 7}, {3, 1, 6}};
    case 2:
      return {{1, 2, 5, 6}, {3, 1, 5, 4}};
    default:
      return {{1, 1, 3, 5, 4}, {3, 1, 3, 3, 4}};
  }
}

// Every (kernel, stride, padding, dilation, ceil_mode) of the grid that PyTorch accepts for `shape`.
std::vector<WindowCase> window_grid(const Shape& shape, bool with_dilation) {
  std::vector<WindowCase> cases;
  const std::vector<std::int64_t> dilations =
      with_dilation ? std::vector<std::int64_t>{1, 2} : std::vector<std::int64_t>{1};
  for (std::int64_t k : {2, 3, 4})
    for (std::int64_t s : {1, 2, 3})
      for (std::int64_t p : {0, 1, 2})
        for (std::int64_t d : dilations)
          for (bool ceil_mode : {false, true}) {
            const WindowCase c{shape, {k}, {s}, {p}, {d}, ceil_mode};
            if (naive_pool(zeros(shape, {.dtype = f64}), c, true, true)) cases.push_back(c);
          }
  return cases;
}

Tensor max_pool_nd(const Tensor& x, const MaxPoolOptions& o) {
  switch (x.dim()) {
    case 3:
      return max_pool1d(x, o);
    case 4:
      return max_pool2d(x, o);
    default:
      return max_pool3d(x, o);
  }
}

PoolWithIndices max_pool_nd_with_indices(const Tensor& x, const MaxPoolOptions& o) {
  switch (x.dim()) {
    case 3:
      return max_pool1d_with_indices(x, o);
    case 4:
      return max_pool2d_with_indices(x, o);
    default:
      return max_pool3d_with_indices(x, o);
  }
}

Tensor avg_pool_nd(const Tensor& x, const AvgPoolOptions& o) {
  switch (x.dim()) {
    case 3:
      return avg_pool1d(x, o);
    case 4:
      return avg_pool2d(x, o);
    default:
      return avg_pool3d(x, o);
  }
}

Tensor adaptive_avg_pool_nd(const Tensor& x, const Spatial& size) {
  switch (x.dim()) {
    case 3:
      return adaptive_avg_pool1d(x, size);
    case 4:
      return adaptive_avg_pool2d(x, size);
    default:
      return adaptive_avg_pool3d(x, size);
  }
}

MaxPoolOptions max_options(const WindowCase& c) {
  return {
      .kernel = c.kernel, .stride = c.stride, .padding = c.padding, .dilation = c.dilation, .ceil_mode = c.ceil_mode};
}

AvgPoolOptions avg_options(const WindowCase& c, bool count_include_pad) {
  return {.kernel = c.kernel,
          .stride = c.stride,
          .padding = c.padding,
          .ceil_mode = c.ceil_mode,
          .count_include_pad = count_include_pad};
}

std::vector<std::int64_t> index_values(const Tensor& indices) { return indices.to_vector<std::int64_t>(); }

// The lecture notes' worked exercise (section 7): Y, a [1, 1, 4, 4] feature map.
Tensor exercise_map(bool requires_grad = false) {
  return f64_tensor({0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3}, {1, 1, 4, 4}, requires_grad);
}

// Random f32 input for the kernel comparisons: whole numbers in [-4, 4] when
// `ties` (so windows hold equal maxima), and for rows wider than 20 an -inf, a
// NaN and a +inf that land inside the vector lanes.
std::vector<float> kernel_input(std::int64_t size, std::int64_t width, bool ties) {
  std::vector<float> v = randn({size}).to_vector<float>();
  if (ties)
    for (float& e : v) e = std::round(e * 1.5f);
  if (width > 20) {
    const auto at = [&](std::int64_t i) -> float& { return v[static_cast<std::size_t>(i)]; };
    at(7) = -std::numeric_limits<float>::infinity();
    at(width + 9) = std::numeric_limits<float>::quiet_NaN();
    at(size - 4) = std::numeric_limits<float>::infinity();
  }
  return v;
}

bool same_float(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// The production f32 kernels (SIMD where they apply) against the scalar references.
void compare_with_references(const kernels::PoolGeometry& g, const float* in, bool with_avg) {
  const auto n = static_cast<std::size_t>(g.planes * g.out_plane());
  std::vector<float> fast(n), slow(n);
  std::vector<std::int64_t> fast_idx(n), slow_idx(n);
  kernels::max_pool_forward<float>(g, in, fast.data(), fast_idx.data());
  kernels::max_pool_forward_reference<float>(g, in, slow.data(), slow_idx.data());
  for (std::size_t i = 0; i < n; ++i) {
    INFO("max output " << i);
    REQUIRE(same_float(fast[i], slow[i]));
    REQUIRE(fast_idx[i] == slow_idx[i]);
  }
  kernels::max_pool_forward<float>(g, in, fast.data(), nullptr);  // the values-only path
  for (std::size_t i = 0; i < n; ++i) REQUIRE(same_float(fast[i], slow[i]));
  if (!with_avg) return;
  for (bool include : {true, false}) {
    kernels::avg_pool_forward<float>(g, include, in, fast.data());
    kernels::avg_pool_forward_reference<float>(g, include, in, slow.data());
    for (std::size_t i = 0; i < n; ++i) {
      INFO("avg output " << i << ", count_include_pad " << include);
      // Both sum each window in the same order, so they agree to the bit.
      REQUIRE(same_float(fast[i], slow[i]));
    }
  }
}

// Checks one instruction set's row kernels (called directly, not through the
// dispatcher) against the references, on two-row windows over rows of every
// width up to three vectors and one more.
template <class Arch>
void check_row_kernels() {
  if (Arch::version() > xsimd::available_architectures().best) return;              // this CPU lacks it
  const auto lanes = static_cast<std::int64_t>(Arch::alignment() / sizeof(float));  // floats per register
  for (std::int64_t width = 1; width <= 3 * lanes + 1; ++width)
    for (std::int64_t k : {1, 2, 3})
      for (std::int64_t s : {1, 2})
        for (std::int64_t p = 0; p <= k / 2; ++p)
          for (std::int64_t d : {1, 2}) {
            const std::int64_t reach = (k - 1) * d + 1;
            if (width + 2 * p < reach || (p > 0 && width <= d - p)) continue;
            kernels::PoolGeometry g;
            g.planes = 1;
            g.in = {1, 2, width};
            g.out = {1, 1, (width + 2 * p - reach) / s + 1};
            g.kernel = {1, 2, k};
            g.padding = {0, 0, p};
            g.stride = {1, 1, s};
            g.dilation = {1, 1, d};
            // The output columns whose windows lie inside the row.
            const std::int64_t begin = std::min((p + s - 1) / s, g.out[2]);
            const std::int64_t end =
                std::max(begin, width - reach + p < 0 ? 0 : std::min(g.out[2], (width - reach + p) / s + 1));
            for (bool ties : {false, true})
              for (bool readable_tail : {false, true}) {
                INFO("width " << width << ", kernel " << k << ", stride " << s << ", padding " << p << ", dilation "
                              << d << (ties ? ", with ties" : "") << (readable_tail ? ", readable tail" : ""));
                // With a readable tail (2 vectors of NaN and huge values after the two rows) a
                // row narrower than a vector is done with a vector whose extra lanes are dropped.
                std::vector<float> x = kernel_input(2 * width, width, ties);
                if (readable_tail)
                  for (std::int64_t i = 0; i < 2 * lanes; ++i)
                    x.push_back(i % 2 ? std::numeric_limits<float>::quiet_NaN() : 1e30f);
                const auto n = static_cast<std::size_t>(g.out[2]);
                constexpr float untouched = -7.0f;  // what the kernel must leave outside [begin, done)
                std::vector<float> want(n), got(n, untouched);
                std::vector<std::int64_t> want_idx(n), got_idx(n);
                kernels::max_pool_forward_reference<float>(g, x.data(), want.data(), want_idx.data());
                const std::int64_t rows[2] = {0, width};
                const kernels::PoolRow row{x.data(), rows, 2, width, static_cast<std::int64_t>(x.size()), k, s, p, d};
                const bool all = end - begin >= lanes || (readable_tail && end > begin);
                // Without the tail, a narrow row may still be done when its vector ends inside the two rows.
                const std::int64_t done = kernels::MaxPoolRowKernel{}(Arch{}, row, begin, end, got.data(),
                                                                      got_idx.data());
                REQUIRE((done == end || (!all && done == begin)));
                for (std::int64_t j = 0; j < g.out[2]; ++j)
                  if (j < begin || j >= done) REQUIRE(got[j] == untouched);
                for (std::int64_t j = begin; j < done; ++j) {
                  REQUIRE(same_float(got[j], want[j]));
                  REQUIRE(got_idx[j] == want_idx[j]);
                }
                REQUIRE(kernels::MaxPoolRowKernel{}(Arch{}, row, begin, end, got.data(), nullptr) == done);
                for (std::int64_t j = begin; j < done; ++j) REQUIRE(same_float(got[j], want[j]));
                if (d > 1) continue;
                kernels::avg_pool_forward_reference<float>(g, true, x.data(), want.data());
                REQUIRE(kernels::AvgPoolRowKernel{}(Arch{}, row, begin, end, static_cast<float>(2 * k), got.data()) ==
                        done);
                for (std::int64_t j = begin; j < done; ++j) REQUIRE(same_float(got[j], want[j]));
              }
          }
  for (std::int64_t n = 0; n <= 3 * 4 * lanes + 1; ++n) {
    const std::vector<float> x = randn({n}).to_vector<float>();
    double want = 0;
    for (float v : x) want += v;
    INFO("sum of " << n);
    REQUIRE(kernels::SumKernel{}(Arch{}, x.data(), n) == Approx(want).epsilon(1e-5).margin(1e-5));
  }
}

}  // namespace

// ---- the worked exercise and hand-computed cases ------------------------------

TEST_CASE("the lecture notes' exercise: 2x2 max and average pooling of Y", "[pool][exercise]") {
  const Tensor y = exercise_map();
  const PoolWithIndices mp = max_pool2d_with_indices(y, {.kernel = {2, 2}});
  CHECK(mp.values.shape() == Shape{1, 1, 2, 2});
  require_values(mp.values, {10, 8, 4, 11});
  // 11 appears twice in the last window, at (2, 3) and (3, 2): the first in row-major order wins.
  CHECK(index_values(mp.indices) == std::vector<std::int64_t>{5, 2, 8, 11});
  require_values(avg_pool2d(y, {.kernel = {2, 2}}), {21.0 / 4, 7.0 / 2, 5.0 / 4, 27.0 / 4});
  require_values(max_pool2d(y.to(f32), {.kernel = {2}}), {10, 8, 4, 11});
  require_values(avg_pool2d(y.to(f32), {.kernel = {2}}), {21.0 / 4, 7.0 / 2, 5.0 / 4, 27.0 / 4}, 1e-7);
}

TEST_CASE("max pooling: padding never wins, dilation, ceil_mode, -inf and NaN", "[pool][max]") {
  // All negative: the -inf padding must not win.
  const PoolWithIndices padded =
      max_pool1d_with_indices(f64_tensor({-1, -2, -3}, {1, 1, 3}), {.kernel = {2}, .stride = {1}, .padding = {1}});
  require_values(padded.values, {-1, -1, -2, -3});
  CHECK(index_values(padded.indices) == std::vector<std::int64_t>{0, 0, 1, 2});

  // Dilation 2: windows {0, 2, 4}, {1, 3, 5}, {2, 4, 6}.
  const PoolWithIndices dilated = max_pool1d_with_indices(f64_tensor({3, 1, 4, 1, 5, 9, 2}, {1, 1, 7}),
                                                          {.kernel = {3}, .stride = {1}, .dilation = {2}});
  require_values(dilated.values, {5, 9, 5});
  CHECK(index_values(dilated.indices) == std::vector<std::int64_t>{4, 5, 4});

  // ceil_mode keeps a last window that starts inside the input: [4, 6) holds x4 only.
  const Tensor five = f64_tensor({1, 7, 2, 6, 3}, {1, 1, 5});
  require_values(max_pool1d(five, {.kernel = {2}}), {7, 6});
  require_values(max_pool1d(five, {.kernel = {2}, .ceil_mode = true}), {7, 6, 3});
  // ... but not one that would start in the right padding (a 4th window would start at 3 * 2 - 1 = 5).
  CHECK(max_pool1d(five, {.kernel = {2}, .padding = {1}, .ceil_mode = true}).shape() == Shape{1, 1, 3});
  // Regression: with ceil_mode a kernel larger than the (padded) input still gives
  // one window, clipped to the input, as PyTorch (pooling_output_shape rounds
  // before it rejects): F.max_pool2d(x 1x1, 2, 3, ceil_mode=True) returns x.
  const Tensor one = f64_tensor({3.5}, {1, 1, 1, 1});
  require_values(max_pool2d(one, {.kernel = {2}, .stride = {3}, .ceil_mode = true}), {3.5});
  require_values(avg_pool2d(one, {.kernel = {2}, .stride = {3}, .ceil_mode = true}), {3.5});
  require_values(avg_pool2d(one, {.kernel = {2}, .stride = {3}, .ceil_mode = true, .count_include_pad = false}),
                 {3.5});
  require_values(max_pool1d(f64_tensor({-5}, {1, 1, 1}), {.kernel = {2}, .ceil_mode = true}), {-5});
  // F.avg_pool1d(pattern(1, 1, 3), 5, 4, padding=2, ceil_mode=True): windows [-2, 3) and [2, 5) clipped to [2, 4).
  require_values(avg_pool1d(f64_tensor({-5, 2, -2}, {1, 1, 3}),
                            {.kernel = {5}, .stride = {4}, .padding = {2}, .ceil_mode = true}),
                 {-1.0, -0.66666666666666663}, 1e-15);
  // F.max_pool2d(pattern(1, 1, 2, 3), 3, 2, padding=1, ceil_mode=True) and
  // F.avg_pool2d(pattern(1, 1, 2, 3), 4, 3, padding=1, ceil_mode=True).
  const Tensor p23 = f64_tensor({-5, 2, -2, 5, 1, -3}, {1, 1, 2, 3});
  require_values(max_pool2d(p23, {.kernel = {3}, .stride = {2}, .padding = {1}, .ceil_mode = true}), {5, 2, 5, 1});
  require_values(avg_pool2d(p23, {.kernel = {4}, .stride = {3}, .padding = {1}, .ceil_mode = true}),
                 {-0.125, -0.625});
  // Gradients through the clipped window.
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {.kernel = {2}, .stride = {3}, .ceil_mode = true});
      },
      {f64_tensor({3.5}, {1, 1, 1, 1}, true)});

  // A window of -inf reports its first position inside the input.
  const PoolWithIndices infs =
      max_pool1d_with_indices(f64_tensor({-inf, -inf, -inf, 1}, {1, 1, 4}), {.kernel = {2}, .padding = {1}});
  require_values(infs.values.slice(2, 0, 2), {-inf, -inf});
  CHECK(index_values(infs.indices) == std::vector<std::int64_t>{0, 1, 3});

  // NaN wins wherever it is, and the last NaN's index is kept (PyTorch's rule).
  const PoolWithIndices nans =
      max_pool1d_with_indices(f64_tensor({1, nan_value, 5, nan_value, 2, nan_value}, {1, 1, 6}), {.kernel = {3}});
  CHECK(std::isnan(nans.values.to_vector<double>()[0]));
  CHECK(std::isnan(nans.values.to_vector<double>()[1]));
  CHECK(index_values(nans.indices) == std::vector<std::int64_t>{1, 5});
}

TEST_CASE("indices are flat positions within each input plane, as PyTorch's", "[pool][max][indices]") {
  // 3-D: the maximum of each plane at (d, h, w) = (1, 0, 2) and (0, 1, 1) of [2, 2, 3].
  std::vector<double> v(2 * 12, 0.0);
  v[(1 * 2 + 0) * 3 + 2] = 5;       // plane 0
  v[12 + (0 * 2 + 1) * 3 + 1] = 7;  // plane 1
  const PoolWithIndices p3 = max_pool3d_with_indices(f64_tensor(v, {1, 2, 2, 2, 3}), {.kernel = {2, 2, 3}});
  CHECK(p3.indices.shape() == Shape{1, 2, 1, 1, 1});
  CHECK(p3.indices.dtype() == i64);
  CHECK(index_values(p3.indices) == std::vector<std::int64_t>{8, 4});
  // 2-D with overlapping, padded windows: h * W + w.
  const PoolWithIndices p2 = max_pool2d_with_indices(exercise_map(), {.kernel = {3}, .stride = {2}, .padding = {1}});
  require_values(p2.values, {10, 10, 10, 11});
  CHECK(index_values(p2.indices) == std::vector<std::int64_t>{5, 5, 5, 11});
  // Adaptive max: the same convention.
  const PoolWithIndices a2 = adaptive_max_pool2d_with_indices(exercise_map(), {1, 2});
  require_values(a2.values, {10, 11});
  CHECK(index_values(a2.indices) == std::vector<std::int64_t>{5, 11});
}

TEST_CASE("ties send the gradient to the first maximum in window order", "[pool][max][ties]") {
  const Tensor ones_map = ones({1, 1, 2, 3}, {.dtype = f64, .requires_grad = true});
  max_pool2d(ones_map, {.kernel = {2}, .stride = {1}}).sum().backward();
  // Windows {0, 1, 3, 4} and {1, 2, 4, 5}: each picks its first element.
  require_values(ones_map.grad(), {1, 1, 0, 0, 0, 0});

  const Tensor y = exercise_map(true);
  max_pool2d(y, {.kernel = {2}}).sum().backward();
  require_values(y.grad(), {0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0});
}

TEST_CASE("average pooling's edge windows divide as PyTorch's", "[pool][avg]") {
  // L = 6, kernel 3, stride 2, padding 1, ceil_mode: windows start at -1, 1, 3, 5; the last
  // one, [5, 8), is clipped to the padded input [5, 7) for the count_include_pad divisor.
  const Tensor x = f64_tensor({1, 2, 3, 4, 5, 6}, {1, 1, 6}, true);
  const AvgPoolOptions ceil_pad{.kernel = {3}, .stride = {2}, .padding = {1}, .ceil_mode = true};
  require_values(avg_pool1d(x, ceil_pad), {(0 + 1 + 2) / 3.0, (2 + 3 + 4) / 3.0, (4 + 5 + 6) / 3.0, (6 + 0) / 2.0});
  AvgPoolOptions exclude = ceil_pad;
  exclude.count_include_pad = false;
  require_values(avg_pool1d(x, exclude), {(1 + 2) / 2.0, 3, 5, 6});
  // Without ceil_mode the last window is dropped.
  require_values(avg_pool1d(x, {.kernel = {3}, .stride = {2}, .padding = {1}}), {1, 3, 5});

  // Backward spreads each gradient over its window with the same divisor.
  avg_pool1d(x, ceil_pad).sum().backward();
  require_values(x.grad(), {1.0 / 3, 2.0 / 3, 1.0 / 3, 2.0 / 3, 1.0 / 3, 1.0 / 3 + 1.0 / 2});

  // 2-D: a 3 x 3 input, kernel 2, stride 2, padding 1, ceil_mode: out 2 x 2. Window (1, 1) covers rows and
  // columns [1, 3) inside the input, divisor 2 * 2 either way; window (0, 0) covers only x[0][0], divisor 4 or 1.
  const Tensor m = f64_tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  const AvgPoolOptions o2{.kernel = {2}, .stride = {2}, .padding = {1}, .ceil_mode = true};
  require_values(avg_pool2d(m, o2), {1 / 4.0, (2 + 3) / 4.0, (4 + 7) / 4.0, (5 + 6 + 8 + 9) / 4.0});
  AvgPoolOptions o2_exclude = o2;
  o2_exclude.count_include_pad = false;
  require_values(avg_pool2d(m, o2_exclude), {1, (2 + 3) / 2.0, (4 + 7) / 2.0, (5 + 6 + 8 + 9) / 4.0});
  // kernel 3, stride 2, padding 1, ceil_mode on 4 x 4: last window [3, 6) clipped to [3, 5), divisor 3 * 2 at the edge.
  const Tensor y = exercise_map();
  const AvgPoolOptions o3{.kernel = {3}, .stride = {2}, .padding = {1}, .ceil_mode = true};
  CHECK(avg_pool2d(y, o3).shape() == Shape{1, 1, 3, 3});
  const std::vector<double> got = avg_pool2d(y, o3).to_vector<double>();
  CHECK(got[2] == Approx((0 + 5) / 6.0));  // rows [-1, 2) -> {0, 1}, columns [3, 5) -> {3}
  CHECK(got[8] == Approx(3 / 4.0));        // rows and columns [3, 5) -> y[3][3] = 3, divisor 2 * 2
  CHECK(got[4] == Approx((10 + 1 + 5 + 0 + 2 + 11 + 1 + 11 + 3) / 9.0));
}

TEST_CASE("adaptive pooling windows: smaller, equal and larger outputs", "[pool][adaptive]") {
  const Tensor x = f64_tensor({1, 2, 3, 4, 5}, {1, 1, 5});
  // out 2: [0, 3), [2, 5).
  require_values(adaptive_avg_pool1d(x, {2}), {2, 4});
  require_values(adaptive_avg_pool1d(x, {5}), {1, 2, 3, 4, 5});
  // out 7 > 5: windows [0,1) [0,2) [1,3) [2,3) [2,4) [3,5) [4,5).
  require_values(adaptive_avg_pool1d(x, {7}), {1, 1.5, 2.5, 3, 3.5, 4.5, 5});
  require_values(adaptive_avg_pool2d(exercise_map(), {1, 1}), {67.0 / 16});
  require_values(adaptive_avg_pool2d(exercise_map(), {2}), {21.0 / 4, 7.0 / 2, 5.0 / 4, 27.0 / 4});
  require_values(adaptive_max_pool2d(exercise_map(), {2}), {10, 8, 4, 11});
  require_values(adaptive_max_pool2d(exercise_map(), {3, 1}), {10, 11, 11});
  require_values(global_avg_pool(exercise_map()), {67.0 / 16});
  CHECK(global_avg_pool(zeros({2, 3, 4, 5, 6})).shape() == Shape{2, 3});
  CHECK(adaptive_avg_pool3d(zeros({1, 2, 3, 4, 5}), {2, 5, 7}).shape() == Shape{1, 2, 2, 5, 7});
}

// ---- against the naive reference ---------------------------------------------

TEST_CASE("max and average pooling match the naive reference over the grid", "[pool][reference]") {
  manual_seed(1);
  for (std::size_t dims = 1; dims <= 3; ++dims)
    for (const Shape& shape : grid_shapes(dims)) {
      const Tensor x = randn(shape, {.dtype = f64});
      for (const WindowCase& c : window_grid(shape, true)) {
        INFO(describe(c));
        const Pooled want = *naive_pool(x, c, true, true);
        const PoolWithIndices got = max_pool_nd_with_indices(x, max_options(c));
        REQUIRE(got.values.shape() == want.shape);
        require_values(got.values, want.values);
        REQUIRE(index_values(got.indices) == want.indices);
        // float32 agrees with float64, and indices do too (no near-ties in randn data at this size).
        require_values(max_pool_nd(x.to(f32), max_options(c)), want.values, 1e-6);
      }
      for (const WindowCase& c : window_grid(shape, false))
        for (bool include : {true, false}) {
          INFO(describe(c) << ", count_include_pad " << include);
          const Pooled want = *naive_pool(x, c, false, include);
          const Tensor got = avg_pool_nd(x, avg_options(c, include));
          REQUIRE(got.shape() == want.shape);
          require_values(got, want.values);
          require_values(avg_pool_nd(x.to(f32), avg_options(c, include)), want.values, 1e-5);
        }
    }
}

TEST_CASE("adaptive pooling matches the naive reference", "[pool][adaptive][reference]") {
  manual_seed(2);
  for (const Shape& shape : {Shape{2, 3, 7}, Shape{1, 2, 5, 6}, Shape{2, 1, 3, 4, 5}}) {
    const Tensor x = randn(shape, {.dtype = f64});
    const std::size_t dims = shape.size() - 2;
    for (const Spatial& size : {Spatial{1}, Spatial{2}, Spatial{3}, Spatial{5}, Spatial{8}, Spatial{1, 7, 4}}) {
      const Spatial out = size.size() == 3 ? Spatial(size.end() - static_cast<std::ptrdiff_t>(dims), size.end()) : size;
      INFO("input " << shape_to_string(shape) << ", output " << shape_to_string(out));
      const Pooled want = naive_adaptive(x, out, false);
      const Tensor got = adaptive_avg_pool_nd(x, out);
      REQUIRE(got.shape() == want.shape);
      require_values(got, want.values);
      require_values(adaptive_avg_pool_nd(x.to(f32), out), want.values, 1e-5);
      if (dims == 2) {
        const Pooled want_max = naive_adaptive(x, out, true);
        const PoolWithIndices got_max = adaptive_max_pool2d_with_indices(x, out);
        require_values(got_max.values, want_max.values);
        REQUIRE(index_values(got_max.indices) == want_max.indices);
      }
    }
  }
}

// ---- gradients -----------------------------------------------------------------

TEST_CASE("max pooling gradients over the grid (1-D, 2-D, 3-D)", "[pool][max][gradcheck]") {
  manual_seed(3);
  for (std::size_t dims = 1; dims <= 3; ++dims)
    for (const Shape& shape : grid_shapes(dims)) {
      const Tensor x = distinct_leaf(shape);
      for (const WindowCase& c : window_grid(shape, true)) {
        INFO(describe(c));
        require_gradchecks([&](const std::vector<Tensor>& in) { return max_pool_nd(in[0], max_options(c)); }, {x});
      }
    }
  const Tensor y = distinct_leaf({3, 2, 5, 5});
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return max_pool2d_with_indices(in[0], {.kernel = {3}, .stride = {2}, .padding = {1}}).values;
      },
      {y});
}

TEST_CASE("average pooling gradients over the grid (1-D, 2-D, 3-D)", "[pool][avg][gradcheck]") {
  manual_seed(4);
  for (std::size_t dims = 1; dims <= 3; ++dims)
    for (const Shape& shape : grid_shapes(dims)) {
      const Tensor x = leaf(shape);
      for (const WindowCase& c : window_grid(shape, false))
        for (bool include : {true, false}) {
          INFO(describe(c) << ", count_include_pad " << include);
          require_gradchecks([&](const std::vector<Tensor>& in) { return avg_pool_nd(in[0], avg_options(c, include)); },
                            {x});
        }
    }
}

TEST_CASE("adaptive and global pooling gradients", "[pool][adaptive][gradcheck]") {
  manual_seed(5);
  for (const Shape& shape : {Shape{1, 2, 7}, Shape{3, 1, 5, 6}, Shape{1, 2, 3, 4, 5}}) {
    const std::size_t dims = shape.size() - 2;
    const Tensor x = distinct_leaf(shape);
    for (const Spatial& out : {Spatial{1}, Spatial{3}, Spatial{4}, Spatial{5}, Spatial{7}, Spatial{8}}) {
      INFO("input " << shape_to_string(shape) << ", output " << shape_to_string(out));
      require_gradchecks([&](const std::vector<Tensor>& in) { return adaptive_avg_pool_nd(in[0], out); }, {x});
      if (dims == 2)
        require_gradchecks([&](const std::vector<Tensor>& in) { return adaptive_max_pool2d(in[0], out); }, {x});
    }
    require_gradchecks([](const std::vector<Tensor>& in) { return global_avg_pool(in[0]); }, {x});
  }
  // Output larger than the input along one dim, smaller along the other.
  const Tensor y = distinct_leaf({1, 2, 3, 7});
  require_gradchecks([](const std::vector<Tensor>& in) { return adaptive_max_pool2d(in[0], {5, 2}); }, {y});
  require_gradchecks([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {5, 2}); }, {y});
}

TEST_CASE("pooling takes strided views and returns gradients of the view's shape", "[pool][views]") {
  manual_seed(6);
  const Tensor base = distinct_leaf({1, 5, 2, 6});
  auto fn = [](const std::vector<Tensor>& in) {
    const Tensor t = in[0].transpose(1, 2);  // [1, 2, 5, 6], not contiguous
    return max_pool2d(t, {.kernel = {2}, .stride = {1}}) + avg_pool2d(t, {.kernel = {3}, .padding = {1}}).sum() +
           global_avg_pool(t).sum();
  };
  require_gradchecks(fn, {base});
}

// ---- kernels: SIMD against the scalar twins -------------------------------------

TEST_CASE("SIMD pooling kernels agree with their scalar references", "[pool][kernels][simd]") {
  manual_seed(7);
  for (std::int64_t width = 1; width <= 3 * 16 + 1; ++width)
    for (std::int64_t k : {1, 2, 3})
      for (std::int64_t s : {1, 2, 3})
        for (std::int64_t p = 0; p <= k / 2; ++p)
          for (std::int64_t d : {1, 2}) {
            const std::int64_t extent = (k - 1) * d + 1;
            if (width + 2 * p < extent) continue;
            if (p > 0 && width <= d - p) continue;  // the first window would hold padding only
            kernels::PoolGeometry g;
            g.planes = 2;
            g.in = {1, 3, width};
            g.out = {1, 4, (width + 2 * p - extent) / s + 1};
            g.kernel = {1, 2, k};
            g.padding = {0, 1, p};
            g.stride = {1, 1, s};
            g.dilation = {1, 1, d};
            for (bool ties : {false, true}) {
              INFO("width " << width << ", kernel " << k << ", stride " << s << ", padding " << p << ", dilation " << d
                            << (ties ? ", with ties" : ""));
              const std::vector<float> x = kernel_input(g.planes * g.in_plane(), width, ties);
              compare_with_references(g, x.data(), d == 1);
            }
          }
}

TEST_CASE("every instruction set's row kernels agree with the scalar references", "[pool][kernels][simd]") {
  manual_seed(11);
  check_row_kernels<xsimd::sse2>();
  check_row_kernels<xsimd::fma3<xsimd::avx2>>();
  check_row_kernels<xsimd::avx512f>();
}

TEST_CASE("f64 pooling kernels agree with their references", "[pool][kernels]") {
  manual_seed(8);
  for (std::int64_t width : {1, 5, 17, 33})
    for (std::int64_t s : {1, 2}) {
      kernels::PoolGeometry g;
      g.planes = 3;
      g.in = {3, 4, width};
      g.kernel = {2, 3, 1};
      g.stride = {1, 2, s};
      g.padding = {1, 1, 0};
      g.out = {4, 2, (width - 1) / s + 1};
      const Tensor x = randn({g.planes * g.in_plane()}, {.dtype = f64});
      const auto n = static_cast<std::size_t>(g.planes * g.out_plane());
      std::vector<double> fast(n), slow(n);
      std::vector<std::int64_t> fast_idx(n), slow_idx(n);
      kernels::max_pool_forward<double>(g, x.data<double>(), fast.data(), fast_idx.data());
      kernels::max_pool_forward_reference<double>(g, x.data<double>(), slow.data(), slow_idx.data());
      CHECK(fast == slow);
      CHECK(fast_idx == slow_idx);
      kernels::avg_pool_forward<double>(g, false, x.data<double>(), fast.data());
      kernels::avg_pool_forward_reference<double>(g, false, x.data<double>(), slow.data());
      CHECK(fast == slow);
    }
}

TEST_CASE("the SIMD plane sum agrees with the double-precision reference", "[pool][kernels][simd]") {
  manual_seed(9);
  std::vector<std::int64_t> sizes(3 * 16 + 1);
  std::iota(sizes.begin(), sizes.end(), std::int64_t{1});
  sizes.push_back(112 * 112);
  for (std::int64_t size : sizes) {
    INFO("plane size " << size);
    const Tensor x = randn({3, size});
    std::vector<float> fast(3), slow(3);
    kernels::global_avg_pool_forward<float>(3, size, x.data<float>(), fast.data());
    kernels::global_avg_pool_forward_reference<float>(3, size, x.data<float>(), slow.data());
    for (std::size_t p = 0; p < 3; ++p) REQUIRE(fast[p] == Approx(slow[p]).epsilon(1e-5).margin(1e-6));
    const Tensor xd = x.to(f64);
    std::vector<double> fast_d(3), slow_d(3);
    kernels::global_avg_pool_forward<double>(3, size, xd.data<double>(), fast_d.data());
    kernels::global_avg_pool_forward_reference<double>(3, size, xd.data<double>(), slow_d.data());
    for (std::size_t p = 0; p < 3; ++p) REQUIRE(fast_d[p] == Approx(slow_d[p]).epsilon(1e-12));
  }
}

// ---- threads ---------------------------------------------------------------------

TEST_CASE("pooling gives the same results on 1 and 2 threads", "[pool][threads]") {
  ThreadCountGuard guard;
  manual_seed(10);
  const Tensor x = randn({2, 32, 33, 35});  // enough planes and work per kernel to split across threads
  auto run = [&](int threads) {
    set_num_threads(threads);
    const Tensor leaf_x = x.detach().requires_grad_();
    const PoolWithIndices mp = max_pool2d_with_indices(leaf_x, {.kernel = {3}, .stride = {2}, .padding = {1}});
    const Tensor ap = avg_pool2d(leaf_x, {.kernel = {3}, .stride = {1}, .padding = {1}, .ceil_mode = true});
    const Tensor aa = adaptive_avg_pool2d(leaf_x, {5, 7});
    const Tensor am = adaptive_max_pool2d(leaf_x, {4, 4});
    const Tensor g = global_avg_pool(leaf_x);
    (mp.values.sum() + ap.sum() * 2.0 + aa.sum() * 3.0 + am.sum() * 4.0 + g.sum() * 5.0).backward();
    return std::vector<std::vector<double>>{values(mp.values), values(ap), values(aa),
                                            values(am),        values(g),  values(leaf_x.grad())};
  };
  CHECK(run(1) == run(2));
}

// ---- errors ------------------------------------------------------------------------

TEST_CASE("pooling refuses bad inputs and options with clear messages", "[pool][errors]") {
  const Tensor x = zeros({1, 2, 5, 5});
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(zeros({5, 5}), {.kernel = {2}}), ShapeError, "max_pool2d", "[N, C, H, W]",
                            "[5, 5]");
  XGRAD_REQUIRE_THROWS_WITH(avg_pool3d(zeros({2, 5, 5}), {.kernel = {2}}), ShapeError, "avg_pool3d",
                            "[N, C, D, H, W]", "[2, 5, 5]");
  XGRAD_REQUIRE_THROWS_WITH(max_pool1d(zeros({1, 2, 0}), {.kernel = {1}}), ShapeError, "max_pool1d", "empty");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {}), ValueError, "max_pool2d", "kernel size is required");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {.kernel = {0, 2}}), ValueError, "max_pool2d", "kernel", ">= 1");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {.kernel = {2, 2, 2}}), ValueError, "kernel", "3 values", "2 spatial dims");
  XGRAD_REQUIRE_THROWS_WITH(avg_pool2d(x, {.kernel = {2}, .stride = {0}}), ValueError, "avg_pool2d", "stride", ">= 1");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {.kernel = {2}, .padding = {-1}}), ValueError, "padding", ">= 0");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {.kernel = {3}, .padding = {2}}), ValueError, "max_pool2d", "padding 2",
                            "half", "extent 3");
  XGRAD_REQUIRE_THROWS_WITH(avg_pool1d(zeros({1, 1, 4}), {.kernel = {4}, .padding = {0, 3}}), ValueError, "2 values");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(x, {.kernel = {7}}), ShapeError, "max_pool2d", "larger than the padded input");
  // Without ceil_mode an output size below one is still refused, as PyTorch ("Output size is too small").
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(zeros({1, 1, 1, 1}), {.kernel = {2}, .stride = {3}}), ShapeError,
                            "max_pool2d", "larger than the padded input", "output would have size 0");
  XGRAD_REQUIRE_THROWS_WITH(
      max_pool1d(zeros({1, 1, 1}), {.kernel = {2}, .stride = {1}, .padding = {2}, .dilation = {3}}), ShapeError,
      "max_pool1d", "padding only");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(zeros({1, 1, 4, 4}, {.dtype = i64}), {.kernel = {2}}), DTypeError, "max_pool2d",
                            "i64");
  XGRAD_REQUIRE_THROWS_WITH(adaptive_avg_pool2d(x, {0, 2}), ValueError, "adaptive_avg_pool2d", "output_size", ">= 1");
  XGRAD_REQUIRE_THROWS_WITH(adaptive_max_pool2d(zeros({5, 5}), {2}), ShapeError, "adaptive_max_pool2d", "[5, 5]");
  XGRAD_REQUIRE_THROWS_WITH(adaptive_avg_pool1d(zeros({1, 1, 5}), {}), ValueError, "output_size", "0 values");
  XGRAD_REQUIRE_THROWS_WITH(global_avg_pool(zeros({2, 3})), ShapeError, "global_avg_pool", "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(max_pool2d(Tensor(), {.kernel = {2}}), Error, "max_pool2d");
}

TEST_CASE("an empty batch pools to an empty batch", "[pool]") {
  const Tensor x = zeros({0, 3, 4, 4}, {.requires_grad = true});
  CHECK(max_pool2d(x, {.kernel = {2}}).shape() == Shape{0, 3, 2, 2});
  CHECK(avg_pool2d(x, {.kernel = {2}}).shape() == Shape{0, 3, 2, 2});
  CHECK(global_avg_pool(x).shape() == Shape{0, 3});
  max_pool2d(x, {.kernel = {2}}).sum().backward();
  CHECK(x.grad().shape() == x.shape());
}
