// The convolution kernels (no Tensor): depthwise, im2col / col2im, the implicit
// and Winograd passes against their reference twins at every instruction set,
// and their independence from thread scheduling. Op-level tests are in
// test_ops_conv.cpp.

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/conv_implicit.hpp"
#include "kernels/conv_winograd.hpp"
#include "kernels/depthwise.hpp"
#include "kernels/depthwise_simd.hpp"
#include "kernels/gemm.hpp"
#include "kernels/im2col.hpp"
#include "kernels/simd.hpp"
#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace {

using kernels::ConvGeometry;

// A geometry from per-dim (D, H, W) values, with out computed from symmetric padding; out[2] < 1 when impossible.
ConvGeometry geometry(std::int64_t batch, std::int64_t channels, std::int64_t groups, std::int64_t y_channels,
                      std::array<std::int64_t, 3> in, std::array<std::int64_t, 3> kernel,
                      std::array<std::int64_t, 3> stride, std::array<std::int64_t, 3> pad,
                      std::array<std::int64_t, 3> dilation) {
  ConvGeometry g;
  g.batch = batch;
  g.groups = groups;
  g.x_channels = channels;
  g.y_channels = y_channels;
  for (std::size_t d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.kernel[d] = kernel[d];
    g.stride[d] = stride[d];
    g.pad[d] = pad[d];
    g.dilation[d] = dilation[d];
    const std::int64_t span = in[d] + 2 * pad[d] - dilation[d] * (kernel[d] - 1) - 1;
    g.out[d] = span < 0 ? 0 : span / stride[d] + 1;
  }
  return g;
}

std::int64_t volume(const std::int64_t (&dims)[3]) { return dims[0] * dims[1] * dims[2]; }

template <class T>
std::vector<T> random_vector(std::int64_t n, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  std::vector<T> v(static_cast<std::size_t>(n));
  for (T& e : v) e = static_cast<T>(normal(gen));
  return v;
}

template <class T>
constexpr double kernel_tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

template <class T>
std::vector<double> widened(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// The depthwise geometries the kernel tests sweep, for every input width 1..49:
// kernels, paddings (also beyond the kernel's reach), dilations and strides in every dim.
std::vector<ConvGeometry> depthwise_geometries(std::int64_t width) {
  const std::vector<std::array<std::array<std::int64_t, 3>, 5>> shapes = {
      // in (D, H), kernel, stride, pad, dilation; in[2] = width
      {{{1, 3, 0}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}}},
      {{{1, 2, 0}, {1, 2, 5}, {1, 1, 1}, {0, 1, 3}, {1, 1, 2}}},
      {{{1, 1, 0}, {1, 1, 4}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}}},
      {{{1, 1, 0}, {1, 1, 1}, {1, 1, 1}, {0, 0, 2}, {1, 1, 1}}},
      {{{1, 4, 0}, {1, 3, 3}, {1, 2, 1}, {0, 1, 1}, {1, 1, 1}}},
      {{{1, 3, 0}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}, {1, 1, 1}}},
      {{{3, 2, 0}, {2, 2, 3}, {1, 1, 1}, {1, 0, 2}, {2, 1, 1}}},
  };
  std::vector<ConvGeometry> out;
  for (const auto& [in, kernel, stride, pad, dilation] : shapes) {
    const ConvGeometry g = geometry(2, 3, 3, 3, {in[0], in[1], width}, kernel, stride, pad, dilation);
    if (g.out[0] >= 1 && g.out[1] >= 1 && g.out[2] >= 1) out.push_back(g);
  }
  return out;
}

std::string describe(const ConvGeometry& g) {
  std::ostringstream s;
  s << "in " << g.in[0] << "x" << g.in[1] << "x" << g.in[2] << " kernel " << g.kernel[0] << "x" << g.kernel[1] << "x"
    << g.kernel[2] << " stride " << g.stride[0] << "," << g.stride[1] << "," << g.stride[2] << " pad " << g.pad[0]
    << "," << g.pad[1] << "," << g.pad[2] << " dilation " << g.dilation[0] << "," << g.dilation[1] << ","
    << g.dilation[2];
  return s.str();
}

}  // namespace

namespace {

// Operands of a depthwise geometry and the reference twins' results.
template <class T>
struct DepthwiseCase {
  DepthwiseCase(const ConvGeometry& g, std::mt19937& gen)
      : x(random_vector<T>(g.batch * g.x_channels * volume(g.in), gen)),
        w(random_vector<T>(g.x_channels * volume(g.kernel), gen)),
        bias(random_vector<T>(g.x_channels, gen)),
        dy(random_vector<T>(g.batch * g.x_channels * volume(g.out), gen)),
        y(dy.size()),
        dx(x.size()),
        dw(w.size()) {
    kernels::depthwise_forward_reference<T>(g, x.data(), w.data(), bias.data(), y.data());
    kernels::depthwise_backward_data_reference<T>(g, dy.data(), w.data(), bias.data(), dx.data());
    kernels::depthwise_backward_weight_reference<T>(g, dy.data(), x.data(), dw.data());
  }
  std::vector<T> x, w, bias, dy;
  std::vector<T> y, dx, dw;  // reference results
};

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double tolerance) {
  CHECK(max_relative_difference(widened(got), widened(want)) <= tolerance);
}

// One instruction set's SIMD kernels (the passes run only the best this CPU has).
template <class T, class Arch>
void check_simd_kernels(Arch arch, const ConvGeometry& g, const DepthwiseCase<T>& c) {
  std::vector<T> y(c.y.size()), dw(c.dw.size());
  kernels::DepthwiseForwardSimd{}(arch, g, c.x.data(), c.w.data(), c.bias.data(), 0, g.batch * g.x_channels, y.data());
  kernels::DepthwiseBackwardWeightSimd{}(arch, g, c.dy.data(), c.x.data(), 0, g.x_channels, dw.data());
  check_close(y, c.y, kernel_tolerance<T>());
  check_close(dw, c.dw, 4 * kernel_tolerance<T>());
}

}  // namespace

TEMPLATE_TEST_CASE("depthwise kernels match their scalar twins and the im2col path for widths 1..49",
                   "[conv][kernels][depthwise]", float, double) {
  using T = TestType;
  std::mt19937 gen(10);
  const auto available = xsimd::available_architectures();
  for (std::int64_t width = 1; width <= 3 * 16 + 1; ++width)
    for (const ConvGeometry& g : depthwise_geometries(width)) {
      INFO(describe(g));
      const DepthwiseCase<T> c(g, gen);
      std::vector<T> y(c.y.size()), dx(c.dx.size()), dw(c.dw.size());
      kernels::depthwise_forward<T>(g, c.x.data(), c.w.data(), c.bias.data(), y.data());
      check_close(y, c.y, kernel_tolerance<T>());
      kernels::depthwise_backward_data<T>(g, c.dy.data(), c.w.data(), c.bias.data(), dx.data());
      check_close(dx, c.dx, kernel_tolerance<T>());
      kernels::depthwise_backward_weight<T>(g, c.dy.data(), c.x.data(), dw.data());
      check_close(dw, c.dw, 4 * kernel_tolerance<T>());

      // The general im2col path agrees.
      kernels::im2col_forward<T>(g, c.x.data(), c.w.data(), c.bias.data(), y.data());
      check_close(y, c.y, kernel_tolerance<T>());
      kernels::im2col_backward_data<T>(g, c.dy.data(), c.w.data(), c.bias.data(), dx.data());
      check_close(dx, c.dx, kernel_tolerance<T>());
      kernels::im2col_backward_weight<T>(g, c.dy.data(), c.x.data(), dw.data());
      check_close(dw, c.dw, 4 * kernel_tolerance<T>());

      if (g.stride[2] != 1) continue;  // the SIMD kernels' domain
      if (available.avx512f) check_simd_kernels(xsimd::avx512f{}, g, c);
      if (available.fma3_avx2) check_simd_kernels(xsimd::fma3<xsimd::avx2>{}, g, c);
      if (available.sse2) check_simd_kernels(xsimd::sse2{}, g, c);
    }
}

TEMPLATE_TEST_CASE("im2col and col2im match their element-by-element twins on every tile", "[conv][kernels]", float,
                   double) {
  using T = TestType;
  std::mt19937 gen(11);
  for (const ConvGeometry& g : {geometry(1, 4, 2, 2, {1, 5, 7}, {1, 3, 2}, {1, 2, 1}, {0, 1, 2}, {1, 1, 2}),
                                geometry(1, 2, 1, 3, {4, 3, 6}, {2, 2, 3}, {2, 1, 3}, {1, 1, 0}, {1, 2, 1}),
                                geometry(1, 3, 1, 1, {1, 1, 11}, {1, 1, 3}, {1, 1, 1}, {0, 0, 4}, {1, 1, 3})}) {
    INFO(describe(g));
    const std::int64_t channels = g.x_channels / g.groups, rows = channels * volume(g.kernel);
    const std::int64_t lines = g.out[0] * g.out[1];
    const std::vector<T> x = random_vector<T>(channels * volume(g.in), gen);
    for (std::int64_t begin = 0; begin < lines; ++begin)
      for (std::int64_t end = begin + 1; end <= lines; ++end) {
        const std::int64_t ld = (end - begin) * g.out[2] + 3;  // padded rows
        const std::int64_t size = rows * ld;
        std::vector<T> got(static_cast<std::size_t>(size)), want(static_cast<std::size_t>(size));
        kernels::im2col<T>(g, x.data(), begin, end, got.data(), ld);
        kernels::im2col_reference<T>(g, x.data(), begin, end, want.data(), ld);
        REQUIRE(got == want);
        const std::vector<T> columns = random_vector<T>(size, gen);
        std::vector<T> image = x, image_want = x;
        kernels::col2im<T>(g, columns.data(), ld, begin, end, image.data());
        kernels::col2im_reference<T>(g, columns.data(), ld, begin, end, image_want.data());
        REQUIRE(max_relative_difference(widened(image), widened(image_want)) <= kernel_tolerance<T>());
      }
  }
}

namespace {

// The three float passes' operands and their results composed from the
// reference twins (im2col_reference, col2im_reference, gemm_reference) in double.
struct PassesCase {
  PassesCase(const ConvGeometry& g, std::mt19937& gen)
      : x(random_vector<float>(g.batch * g.x_channels * volume(g.in), gen)),
        w(random_vector<float>(g.y_channels * g.x_channels / g.groups * volume(g.kernel), gen)),
        y_bias(random_vector<float>(g.y_channels, gen)),
        x_bias(random_vector<float>(g.x_channels, gen)),
        dy(random_vector<float>(g.batch * g.y_channels * volume(g.out), gen)),
        y(dy.size()),
        dx(x.size()),
        dw(w.size()) {
    const std::int64_t xg = g.x_channels / g.groups, yg = g.y_channels / g.groups, rows = xg * volume(g.kernel);
    const std::int64_t positions = volume(g.out), lines = g.out[0] * g.out[1];
    const std::vector<double> xd = widened(x), wd = widened(w), dyd = widened(dy);
    std::vector<double> columns(static_cast<std::size_t>(rows * positions)), d_columns(columns.size());
    for (std::int64_t n = 0; n < g.batch; ++n)
      for (std::int64_t group = 0; group < g.groups; ++group) {
        const std::int64_t x_at = (n * g.x_channels + group * xg) * volume(g.in);
        const std::int64_t y_at = (n * g.y_channels + group * yg) * positions, w_at = group * yg * rows;
        kernels::im2col_reference<double>(g, xd.data() + x_at, 0, lines, columns.data(), positions);
        kernels::gemm_reference<double>(false, false, yg, positions, rows, 1, wd.data() + w_at, rows, columns.data(),
                                        positions, 0, y.data() + y_at, positions);
        kernels::gemm_reference<double>(false, true, yg, rows, positions, 1, dyd.data() + y_at, positions,
                                        columns.data(), positions, 1, dw.data() + w_at, rows);
        kernels::gemm_reference<double>(true, false, rows, positions, yg, 1, wd.data() + w_at, rows, dyd.data() + y_at,
                                        positions, 0, d_columns.data(), positions);
        kernels::col2im_reference<double>(g, d_columns.data(), positions, 0, lines, dx.data() + x_at);
      }
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += y_bias[i / static_cast<std::size_t>(positions) % y_bias.size()];
    for (std::size_t i = 0; i < dx.size(); ++i)
      dx[i] += x_bias[i / static_cast<std::size_t>(volume(g.in)) % x_bias.size()];
  }
  std::vector<float> x, w, y_bias, x_bias, dy;
  std::vector<double> y, dx, dw;  // reference results
};

// The grid the float passes are checked over: 2-D geometries of every kind the
// implicit passes take (strides, padding up to and beyond the kernel's reach,
// dilation, groups, 1x1 with padding, widths around the 48- and 16-column
// panels and the 16-float vectors of the weight gradient's dot products,
// several images per tile, whole-image and line runs) and im2col's
// (3-D, 1x1 in place; the data pass of strided ones).
std::vector<ConvGeometry> pass_geometries() {
  std::vector<ConvGeometry> out;
  auto add = [&](const ConvGeometry& g) {
    if (g.out[0] >= 1 && g.out[1] >= 1 && g.out[2] >= 1) out.push_back(g);
  };
  for (std::int64_t width : {1, 5, 8, 13, 47, 50})
    for (std::int64_t pad : {0, 1, 2})
      for (std::int64_t dilation : {1, 2}) {
        // 8 x channels per group: the stride-1 data passes run as forward passes.
        add(geometry(3, 8, 1, 5, {1, 6, width}, {1, 3, 3}, {1, 1, 1}, {0, pad, pad}, {1, dilation, 1}));
        add(geometry(2, 16, 2, 4, {1, 3, width}, {1, 2, 3}, {1, 1, 1}, {0, pad, pad}, {1, 1, dilation}));
        // 3 x channels: the data pass through col2im.
        add(geometry(2, 3, 1, 4, {1, 4, width}, {1, 3, 2}, {1, 1, 1}, {0, pad, pad}, {1, 1, 1}));
      }
  add(geometry(2, 3, 1, 8, {1, 5, 7}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));      // 1x1, padded
  add(geometry(2, 3, 1, 8, {1, 5, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}));      // 1x1, in place
  add(geometry(40, 3, 3, 6, {1, 4, 4}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));     // many images per tile
  // Several k blocks; the weight gradient as dot products (24 x 144 products) and as a GEMM (48 x 144).
  add(geometry(2, 16, 1, 24, {1, 30, 33}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(2, 16, 1, 48, {1, 30, 33}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(2, 4, 1, 5, {1, 9, 11}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(2, 4, 2, 6, {1, 9, 11}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(2, 3, 1, 4, {1, 12, 12}, {1, 7, 7}, {1, 2, 2}, {0, 3, 3}, {1, 1, 1}));
  add(geometry(2, 2, 1, 3, {3, 4, 5}, {2, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}));  // 3-D
  add(geometry(2, 2, 1, 3, {1, 6, 6}, {1, 3, 3}, {1, 1, 1}, {0, 4, 3}, {1, 1, 1}));  // pad past the kernel
  // Many output channels for a narrow output: the implicit passes pack line by
  // line (compact positions), with stride 1 and 2, and over two k blocks of
  // positions in the weight gradient.
  add(geometry(3, 4, 1, 40, {1, 5, 1}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(2, 3, 1, 160, {1, 7, 7}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(50, 2, 1, 64, {1, 3, 3}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  // Winograd F(2x2, 3x3) forwards (and data passes): odd output sizes (a last
  // tile half outside), padding 0, 1 and 2, several blocks of tile rows.
  add(geometry(2, 32, 1, 40, {1, 13, 15}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(3, 33, 1, 32, {1, 17, 18}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}));
  add(geometry(1, 32, 1, 35, {1, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 2, 2}, {1, 1, 1}));
  add(geometry(5, 32, 1, 40, {1, 40, 40}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));
  add(geometry(1, 32, 1, 256, {1, 13, 13}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));  // weights split over threads
  add(geometry(2, 64, 1, 64, {1, 14, 13}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}));   // Winograd weight gradient
  return out;
}

}  // namespace

TEST_CASE("float convolution passes match the reference twins on the implicit and im2col paths", "[conv][kernels]") {
  ThreadCountGuard restore;
  std::mt19937 gen(13);
  // float rounding over sums of up to ~1500 products of N(0, 1) values stays
  // near 1e-5; a wrong index or a missed tap gives errors of order 1.
  const double tolerance = 1e-4;
  int implicit_forwards = 0, winograd_forwards = 0, winograd_weight_gradients = 0;
  for (const ConvGeometry& g : pass_geometries()) {
    INFO(describe(g) << ", groups " << g.groups << ", batch " << g.batch);
    implicit_forwards += kernels::implicit_conv_fits(g);
    winograd_forwards += kernels::winograd_conv_fits(g);
    winograd_weight_gradients += kernels::winograd_weight_gradient_fits(g);
    // A weight sums batch * positions products: its rounding grows with their
    // square root (Winograd's about 3x the direct passes').
    const double products = static_cast<double>(g.batch * volume(g.out));
    const double weight_tolerance = tolerance * std::max(1.0, std::sqrt(products / 1500));
    const PassesCase c(g, gen);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      std::vector<float> y(c.y.size()), dx(c.dx.size()), dw(c.dw.size());
      kernels::conv_forward<float>(g, c.x.data(), c.w.data(), c.y_bias.data(), y.data());
      CHECK(max_relative_difference(widened(y), c.y) <= tolerance);
      kernels::conv_backward_data<float>(g, c.dy.data(), c.w.data(), c.x_bias.data(), dx.data());
      CHECK(max_relative_difference(widened(dx), c.dx) <= tolerance);
      kernels::conv_backward_weight<float>(g, c.dy.data(), c.x.data(), dw.data());
      CHECK(max_relative_difference(widened(dw), c.dw) <= weight_tolerance);
    }
  }
  CHECK(implicit_forwards >= 20);  // the grid reaches the implicit passes
  CHECK(winograd_forwards == 6);   // and the Winograd ones
  CHECK(winograd_weight_gradients == 1);
}

TEST_CASE("XGRAD_WINOGRAD's switch turns the Winograd passes off and on", "[conv][kernels]") {
  const ConvGeometry g = geometry(2, 64, 1, 64, {1, 14, 13}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1});
  std::mt19937 gen(15);
  const PassesCase c(g, gen);
  const bool saved = kernels::set_winograd_enabled(false);
  CHECK_FALSE(kernels::winograd_conv_fits(g));
  CHECK_FALSE(kernels::winograd_weight_gradient_fits(g));
  std::vector<float> direct(c.dw.size()), winograd(c.dw.size());
  kernels::conv_backward_weight<float>(g, c.dy.data(), c.x.data(), direct.data());
  kernels::set_winograd_enabled(true);
  CHECK(kernels::winograd_weight_gradient_fits(g));
  kernels::conv_backward_weight<float>(g, c.dy.data(), c.x.data(), winograd.data());
  kernels::set_winograd_enabled(saved);
  // Both near the double reference; not bit for bit the same sums.
  CHECK(max_relative_difference(widened(direct), c.dw) <= 1e-4);
  CHECK(max_relative_difference(widened(winograd), c.dw) <= 1e-4);
  CHECK(direct != winograd);
}

TEST_CASE("float convolution passes do not depend on thread scheduling", "[conv][kernels][threads]") {
  ThreadCountGuard restore;
  std::mt19937 gen(14);
  // Split across threads: the implicit passes with several images per tile,
  // and the im2col path with a stride.
  for (const ConvGeometry& g : {geometry(16, 8, 1, 8, {1, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
                                geometry(6, 32, 1, 32, {1, 20, 20}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
                                geometry(4, 64, 1, 64, {1, 16, 16}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
                                geometry(8, 8, 1, 16, {1, 24, 24}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1})}) {
    INFO(describe(g));
    const std::vector<float> x = random_vector<float>(g.batch * g.x_channels * volume(g.in), gen);
    const std::vector<float> w = random_vector<float>(g.y_channels * g.x_channels * volume(g.kernel), gen);
    const std::vector<float> dy = random_vector<float>(g.batch * g.y_channels * volume(g.out), gen);
    auto passes = [&](int threads) {
      set_num_threads(threads);
      std::vector<std::vector<float>> r = {std::vector<float>(dy.size()), std::vector<float>(x.size()),
                                           std::vector<float>(w.size())};
      kernels::conv_forward<float>(g, x.data(), w.data(), nullptr, r[0].data());
      kernels::conv_backward_data<float>(g, dy.data(), w.data(), nullptr, r[1].data());
      kernels::conv_backward_weight<float>(g, dy.data(), x.data(), r[2].data());
      return r;
    };
    const auto one = passes(1), two = passes(2), again = passes(2);
    // Every output element of y and dx comes from one GEMM, blocked alike on any
    // thread count; dw adds per-thread partial sums in a fixed order, so it
    // repeats bit for bit on a thread count and differs across counts by rounding
    // (the batch is cut into as many tiles as the threads can share: float sums
    // of ~2300 products summed in another order, ~1e-5 of the result).
    CHECK(one[0] == two[0]);
    CHECK(one[1] == two[1]);
    CHECK(two[2] == again[2]);
    CHECK(max_relative_difference(widened(one[2]), widened(two[2])) <= 1e-4);
  }
}
