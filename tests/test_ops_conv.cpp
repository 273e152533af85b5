// conv1d/2d/3d and conv_transpose1d/2d/3d: the seed's worked exercise, values
// against direct loops over the definition, gradients over a grid of options,
// the kernels against their reference twins, threads, and errors.

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

struct ThreadCount {  // restores the thread count a test changed
  int saved = get_num_threads();
  ~ThreadCount() { set_num_threads(saved); }
};

// ---- direct loops over the definition -------------------------------------------------

std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

Shape unravel(std::int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

std::int64_t ravel(const Shape& index, const Shape& shape) {
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

Spatial expand(const Spatial& values, std::size_t dims) {
  return values.size() == 1 ? Spatial(dims, values[0]) : values;
}

// Padding resolved to begin and end per dim, as the definition reads it.
struct Pads {
  Spatial begin, end;
};

Pads resolve(const Padding& padding, const Spatial& kernel, const Spatial& dilation) {
  const std::size_t dims = kernel.size();
  Pads pads{Spatial(dims, 0), Spatial(dims, 0)};
  for (std::size_t d = 0; d < dims; ++d) {
    if (padding.same) {
      const std::int64_t total = dilation[d] * (kernel[d] - 1);
      pads.begin[d] = total / 2;
      pads.end[d] = total - total / 2;
    } else {
      if (!padding.begin.empty()) pads.begin[d] = expand(padding.begin, dims)[d];
      if (!padding.end.empty()) pads.end[d] = expand(padding.end, dims)[d];
    }
  }
  return pads;
}

// Every kernel tap as a multi-index.
std::vector<Shape> kernel_taps(const Spatial& kernel) {
  std::vector<Shape> taps;
  for (std::int64_t k = 0; k < numel_of(kernel); ++k) taps.push_back(unravel(k, kernel));
  return taps;
}

// y[n, o, p] = b[o] + sum over c in o's group and taps k of w[o, c, k] * x[n, c, p * stride - pad + k * dilation]
Tensor direct_conv(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& options) {
  const Shape xs = x.shape(), ws = w.shape();
  const std::size_t dims = xs.size() - 2;
  const Spatial in(xs.begin() + 2, xs.end()), kernel(ws.begin() + 2, ws.end());
  const Spatial stride = expand(options.stride, dims), dilation = expand(options.dilation, dims);
  const Pads pads = resolve(options.padding, kernel, dilation);
  Spatial out(dims);
  for (std::size_t d = 0; d < dims; ++d)
    out[d] = (in[d] + pads.begin[d] + pads.end[d] - dilation[d] * (kernel[d] - 1) - 1) / stride[d] + 1;
  const std::int64_t batch = xs[0], c_in = xs[1], c_out = ws[0], per_group = ws[1];
  const std::int64_t out_per_group = c_out / options.groups;
  const std::vector<double> xv = values(x), wv = values(w), bv = b.defined() ? values(b) : std::vector<double>();
  const std::vector<Shape> taps = kernel_taps(kernel);
  Shape y_shape{batch, c_out};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  std::vector<double> y(static_cast<std::size_t>(numel_of(y_shape)));
  Shape source(dims);
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t o = 0; o < c_out; ++o)
      for (std::int64_t p = 0; p < numel_of(out); ++p) {
        const Shape position = unravel(p, out);
        double sum = b.defined() ? bv[static_cast<std::size_t>(o)] : 0.0;
        for (std::int64_t c = 0; c < per_group; ++c)
          for (std::int64_t k = 0; k < numel_of(kernel); ++k) {
            const Shape& tap = taps[static_cast<std::size_t>(k)];
            bool inside = true;
            for (std::size_t d = 0; d < dims; ++d) {
              source[d] = position[d] * stride[d] - pads.begin[d] + tap[d] * dilation[d];
              inside = inside && source[d] >= 0 && source[d] < in[d];
            }
            if (!inside) continue;
            const std::int64_t channel = o / out_per_group * per_group + c;
            sum += wv[static_cast<std::size_t>((o * per_group + c) * numel_of(kernel) + k)] *
                   xv[static_cast<std::size_t>((n * c_in + channel) * numel_of(in) + ravel(source, in))];
          }
        y[static_cast<std::size_t>((n * c_out + o) * numel_of(out) + p)] = sum;
      }
  return from_vector(y, y_shape, {.dtype = f64});
}

// Scatter form: every input element x[n, i, p] adds x * w[i, o, k] to output
// position p * stride - padding + k * dilation of each channel o of its group.
Tensor direct_conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& options) {
  const Shape xs = x.shape(), ws = w.shape();
  const std::size_t dims = xs.size() - 2;
  const Spatial in(xs.begin() + 2, xs.end()), kernel(ws.begin() + 2, ws.end());
  const Spatial stride = expand(options.stride, dims), padding = expand(options.padding, dims);
  const Spatial output_padding = expand(options.output_padding, dims), dilation = expand(options.dilation, dims);
  Spatial out(dims);
  for (std::size_t d = 0; d < dims; ++d)
    out[d] = (in[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + output_padding[d] + 1;
  const std::int64_t batch = xs[0], c_in = xs[1], out_per_group = ws[1], c_out = out_per_group * options.groups;
  const std::int64_t in_per_group = c_in / options.groups;
  const std::vector<double> xv = values(x), wv = values(w), bv = b.defined() ? values(b) : std::vector<double>();
  const std::vector<Shape> taps = kernel_taps(kernel);
  Shape y_shape{batch, c_out};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  std::vector<double> y(static_cast<std::size_t>(numel_of(y_shape)));
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t o = 0; o < c_out; ++o)
      for (std::int64_t p = 0; p < numel_of(out); ++p)
        y[static_cast<std::size_t>((n * c_out + o) * numel_of(out) + p)] =
            b.defined() ? bv[static_cast<std::size_t>(o)] : 0.0;
  Shape target(dims);
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t i = 0; i < c_in; ++i)
      for (std::int64_t p = 0; p < numel_of(in); ++p) {
        const Shape position = unravel(p, in);
        const double v = xv[static_cast<std::size_t>((n * c_in + i) * numel_of(in) + p)];
        for (std::int64_t o = 0; o < out_per_group; ++o)
          for (std::int64_t k = 0; k < numel_of(kernel); ++k) {
            const Shape& tap = taps[static_cast<std::size_t>(k)];
            bool inside = true;
            for (std::size_t d = 0; d < dims; ++d) {
              target[d] = position[d] * stride[d] - padding[d] + tap[d] * dilation[d];
              inside = inside && target[d] >= 0 && target[d] < out[d];
            }
            if (!inside) continue;
            const std::int64_t channel = i / in_per_group * out_per_group + o;
            y[static_cast<std::size_t>((n * c_out + channel) * numel_of(out) + ravel(target, out))] +=
                v * wv[static_cast<std::size_t>((i * out_per_group + o) * numel_of(kernel) + k)];
          }
      }
  return from_vector(y, y_shape, {.dtype = f64});
}

// ---- the ops by spatial rank -------------------------------------------------------

Tensor conv_any(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& options) {
  switch (x.dim()) {
    case 3:
      return conv1d(x, w, b, options);
    case 4:
      return conv2d(x, w, b, options);
    default:
      return conv3d(x, w, b, options);
  }
}

Tensor conv_transpose_any(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& options) {
  switch (x.dim()) {
    case 3:
      return conv_transpose1d(x, w, b, options);
    case 4:
      return conv_transpose2d(x, w, b, options);
    default:
      return conv_transpose3d(x, w, b, options);
  }
}

struct ConvCase {
  Shape input, weight;
  ConvOptions options;
  bool bias;
};

struct ConvTransposeCase {
  Shape input, weight;
  ConvTransposeOptions options;
  bool bias;
};

std::string describe(const Shape& input, const Shape& weight, bool bias) {
  std::ostringstream s;
  s << "input " << shape_to_string(input) << ", weight " << shape_to_string(weight) << (bias ? ", bias" : "");
  return s.str();
}

std::string describe(const ConvCase& c) {
  const Padding& p = c.options.padding;
  return describe(c.input, c.weight, c.bias) + ", stride " + shape_to_string(c.options.stride) + ", padding " +
         (p.same ? "same" : shape_to_string(p.begin) + "/" + shape_to_string(p.end)) + ", dilation " +
         shape_to_string(c.options.dilation) + ", groups " + std::to_string(c.options.groups);
}

std::string describe(const ConvTransposeCase& c) {
  return describe(c.input, c.weight, c.bias) + ", stride " + shape_to_string(c.options.stride) + ", padding " +
         shape_to_string(c.options.padding) + ", output_padding " + shape_to_string(c.options.output_padding) +
         ", dilation " + shape_to_string(c.options.dilation) + ", groups " + std::to_string(c.options.groups);
}

// 1-, 2- and 3-D: odd sizes, stride 1-3, padding 0-2 (symmetric, asymmetric,
// "same" with odd and even kernels), dilation 1-2, groups 1, 2 and depthwise,
// batch 1 and 3, bias on and off, 1x1 kernels (direct and strided).
const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      // 1-D
      {{1, 2, 7}, {3, 2, 3}, {}, true},
      {{3, 2, 8}, {4, 2, 2}, {.stride = {2}, .padding = {1}, .dilation = {2}}, false},
      {{2, 4, 9}, {4, 2, 3}, {.stride = {3}, .padding = Padding::asymmetric({0}, {2}), .groups = 2}, true},
      {{1, 3, 6}, {3, 1, 3}, {.padding = "same", .dilation = {2}, .groups = 3}, true},
      {{2, 2, 6}, {2, 2, 4}, {.padding = "same"}, false},
      // 2-D
      {{1, 3, 5, 6}, {4, 3, 3, 3}, {.padding = {1}}, true},
      {{3, 2, 5, 6}, {3, 2, 2, 3}, {.stride = {2, 1}, .padding = {0, 1}}, true},
      {{2, 4, 5, 5}, {4, 2, 3, 3}, {.stride = {2}, .padding = {2}, .groups = 2}, false},
      {{1, 4, 6, 5}, {4, 1, 3, 3}, {.padding = {2}, .dilation = {2}, .groups = 4}, true},
      {{2, 3, 5, 6}, {3, 1, 3, 3}, {.stride = {2}, .padding = {1}, .groups = 3}, false},
      {{1, 3, 7, 6}, {2, 3, 3, 3}, {.stride = {3}, .padding = Padding::asymmetric({1, 0}, {0, 2})}, true},
      {{2, 2, 5, 6}, {2, 2, 2, 3}, {.padding = "same", .dilation = {1, 2}}, true},
      {{3, 2, 5, 6}, {4, 1, 1, 1}, {.groups = 2}, true},
      {{2, 3, 5, 5}, {2, 3, 1, 1}, {.stride = {2}}, false},
      {{1, 2, 5, 6}, {2, 2, 3, 2}, {.stride = {1, 2}, .padding = {1, 2}, .dilation = {2, 1}}, true},
      // 3-D
      {{1, 2, 3, 4, 5}, {2, 2, 2, 3, 2}, {.padding = {1}}, true},
      {{2, 2, 4, 3, 4}, {2, 1, 3, 2, 2}, {.stride = {2, 1, 2}, .dilation = {1, 2, 1}, .groups = 2}, false},
      {{1, 2, 3, 4, 5}, {2, 1, 3, 3, 3}, {.padding = "same", .groups = 2}, true},
      {{1, 2, 3, 3, 4}, {3, 2, 2, 2, 2}, {.padding = "same"}, false},
      {{3, 1, 3, 3, 3}, {2, 1, 1, 1, 1}, {}, true},
  };
  return cases;
}

// Stride 1-3, padding 0-2, output_padding (< stride, or < dilation), dilation
// 1-2, groups 1, 2 and depthwise, 1x1 kernels; 1-, 2- and 3-D.
const std::vector<ConvTransposeCase>& conv_transpose_cases() {
  static const std::vector<ConvTransposeCase> cases = {
      // 1-D
      {{2, 3, 4}, {3, 2, 3}, {.stride = {2}, .padding = {1}, .output_padding = {1}}, true},
      {{1, 2, 5}, {2, 2, 2}, {.output_padding = {1}, .dilation = {2}}, false},
      {{3, 2, 3}, {2, 3, 3}, {.stride = {3}, .padding = {2}, .output_padding = {2}}, true},
      // 2-D
      {{1, 2, 3, 4}, {2, 3, 3, 3}, {.stride = {2}, .padding = {1}, .output_padding = {1}}, true},
      {{2, 4, 3, 3}, {4, 1, 2, 3}, {.stride = {2, 3}, .padding = {0, 1}, .output_padding = {1, 2}, .groups = 2}, false},
      {{1, 3, 4, 5}, {3, 1, 3, 3}, {.padding = {1}, .groups = 3}, true},
      {{2, 2, 3, 4}, {2, 1, 3, 2}, {.stride = {2}, .output_padding = {1}, .groups = 2}, true},
      {{2, 3, 4, 4}, {3, 2, 1, 1}, {}, false},
      {{1, 2, 3, 3}, {2, 2, 3, 3}, {.stride = {2}, .padding = {2}, .output_padding = {1}, .dilation = {2}}, true},
      {{1, 4, 3, 3}, {4, 1, 2, 2}, {.stride = {1}, .padding = {1}, .dilation = {2}, .groups = 4}, true},
      // 3-D
      {{1, 2, 2, 3, 3}, {2, 2, 2, 2, 3}, {.stride = {2}, .padding = {0, 1, 1}, .output_padding = {1}}, true},
      {{1, 4, 2, 2, 3}, {4, 1, 2, 2, 2}, {.stride = {1, 2, 1}, .dilation = {2}, .groups = 2}, false},
  };
  return cases;
}

// Larger shapes, cut into tiles of output lines (the small ones above run each
// image, or the whole batch, as one tile): groups with stride and dilation, 3-D,
// a 1x1 kernel read in place, and transposed. Also batches of whole images.
const std::vector<ConvCase>& tiled_conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{1, 64, 26, 26}, {2, 64, 3, 3}, {.padding = {1}}, true},
      {{2, 64, 70, 71}, {4, 32, 3, 3}, {.stride = {2}, .padding = {2}, .dilation = {2}, .groups = 2}, true},
      {{1, 512, 24, 24}, {2, 512, 1, 1}, {}, true},
      {{1, 16, 10, 12, 12}, {2, 16, 3, 3, 3}, {.padding = {1}}, false},
  };
  return cases;
}

const std::vector<ConvTransposeCase>& tiled_conv_transpose_cases() {
  static const std::vector<ConvTransposeCase> cases = {
      {{1, 4, 24, 24}, {4, 64, 3, 3}, {.padding = {1}}, true},
      {{2, 4, 20, 21}, {4, 32, 3, 3}, {.stride = {2}, .padding = {1}, .output_padding = {1}, .groups = 2}, false},
  };
  return cases;
}

// For out = f(x, w) + b with f bilinear, after backward of sum(out * v):
//   <x.grad, u> = sum(f(u, w) * v),  <w.grad, u> = sum(f(x, u) * v),
//   <b.grad, u> = sum(v * u) with u broadcast over batch and space.
template <class F>
void check_gradient_identities(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b, F f) {
  const Tensor v = randn(out.shape(), {.dtype = f64});
  (out * v).sum().backward();
  NoGradGuard no_grad;
  const Tensor ux = randn(x.shape(), {.dtype = f64}), uw = randn(w.shape(), {.dtype = f64});
  CHECK((x.grad() * ux).sum().item() == Approx((f(ux, w) * v).sum().item()).epsilon(1e-10).margin(1e-8));
  CHECK((w.grad() * uw).sum().item() == Approx((f(x, uw) * v).sum().item()).epsilon(1e-10).margin(1e-8));
  if (b.defined()) {
    const Tensor ub = randn(b.shape(), {.dtype = f64});
    Shape broadcast(out.shape().size(), 1);
    broadcast[1] = b.size(0);
    CHECK((b.grad() * ub).sum().item() == Approx((v * ub.reshape(broadcast)).sum().item()).epsilon(1e-10).margin(1e-8));
  }
}

Tensor optional_leaf(bool wanted, const Shape& shape) { return wanted ? leaf(shape) : Tensor(); }

std::vector<Tensor> gradcheck_inputs(const Tensor& x, const Tensor& w, const Tensor& b) {
  std::vector<Tensor> in{x, w};
  if (b.defined()) in.push_back(b);
  return in;
}

Tensor bias_of(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }

// Largest |a - b| / (1 + |b|) over two equally long value lists.
double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
  return worst;
}

}  // namespace

// ---- the seed's worked exercise ---------------------------------------------------------

TEST_CASE("conv2d reproduces the lecture notes' worked exercise", "[conv]") {
  // One 4x4 image with 3 channels, one 3x3 filter, zero padding 1, stride 1, bias 2, then ReLU.
  const Tensor x = from_vector(std::vector<double>{2, 1, 0, 0, 0, 0, 2, 1, 0, 2, 0, 1, 2, 1, 0, 1,   // X0
                                                   2, 2, 0, 0, 0, 0, 2, 1, 0, 0, 2, 0, 0, 1, 0, 1,   // X1
                                                   2, 1, 0, 0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 1, 0, 1},  // X2
                               {1, 3, 4, 4}, {.dtype = f64});
  const Tensor w = from_vector(std::vector<double>{1, 0, 0,  0, -2, 0,  0,  0,  -1,  // W0
                                                   1, 2, 0,  2, 0,  -1, 0,  -1, 1,   // W1
                                                   0, 0, -2, 0, 1,  2,  -2, 2,  0},  // W2
                               {1, 3, 3, 3}, {.dtype = f64});
  const Tensor b = from_vector(std::vector<double>{2}, {1}, {.dtype = f64});
  const Tensor y = relu(conv2d(x, w, b, {.padding = {1}}));
  CHECK(y.shape() == Shape{1, 1, 4, 4});
  require_values(y, {0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3});
  // The same in float32.
  require_values(relu(conv2d(x.to(f32), w.to(f32), b.to(f32), {.padding = {1}})),
                 {0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3});
}

TEST_CASE("conv1d and conv_transpose1d give hand-computed values", "[conv][conv_transpose]") {
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5}, {1, 1, 5}, {.dtype = f64});
  const Tensor w = from_vector(std::vector<double>{1, 0, -1}, {1, 1, 3}, {.dtype = f64});
  // Cross-correlation (not flipped): y[i] = x[i] - x[i + 2].
  require_values(conv1d(x, w), {-2, -2, -2});
  // Padding 1, stride 2: windows start at -1, 1, 3: 0 - 2, 2 - 4, 4 - 0.
  require_values(conv1d(x, w, {}, {.stride = {2}, .padding = {1}}), {-2, -2, 4});
  // Transposed, stride 2: each x[i] adds x[i] * w to outputs 2i .. 2i + 2.
  const Tensor t = from_vector(std::vector<double>{1, 2}, {1, 1, 2}, {.dtype = f64});
  require_values(conv_transpose1d(t, w, {}, {.stride = {2}}), {1, 0, -1 + 2, 0, -2});
  require_values(conv_transpose1d(t, w, {}, {.stride = {2}, .padding = {1}, .output_padding = {1}}), {0, 1, 0, -2});
}

// ---- forward values against the definition ------------------------------------------------

TEST_CASE("conv1d/2d/3d match direct loops over the definition", "[conv]") {
  manual_seed(1);
  for (const ConvCase& c : conv_cases()) {
    INFO(describe(c));
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor b = c.bias ? randn({c.weight[0]}, {.dtype = f64}) : Tensor();
    const Tensor want = direct_conv(x, w, b, c.options);
    const Tensor got = conv_any(x, w, b, c.options);
    REQUIRE(got.shape() == want.shape());
    require_values(got, values(want), 1e-12);
  }
}

TEST_CASE("conv_transpose1d/2d/3d match the scatter form of the definition", "[conv_transpose]") {
  manual_seed(2);
  for (const ConvTransposeCase& c : conv_transpose_cases()) {
    INFO(describe(c));
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor b = c.bias ? randn({c.weight[1] * c.options.groups}, {.dtype = f64}) : Tensor();
    const Tensor want = direct_conv_transpose(x, w, b, c.options);
    const Tensor got = conv_transpose_any(x, w, b, c.options);
    REQUIRE(got.shape() == want.shape());
    require_values(got, values(want), 1e-12);
  }
}

TEST_CASE("convolutions cut into line tiles match the definition and the gradient identities",
          "[conv][conv_transpose]") {
  manual_seed(13);
  for (const ConvCase& c : tiled_conv_cases()) {
    INFO(describe(c));
    const Tensor x = leaf(c.input), w = leaf(c.weight), b = optional_leaf(c.bias, {c.weight[0]});
    const Tensor y = conv_any(x, w, b, c.options);
    require_values(y, values(direct_conv(x, w, b, c.options)), 1e-11);
    check_gradient_identities(y, x, w, b,
                              [&](const Tensor& xi, const Tensor& wi) { return conv_any(xi, wi, {}, c.options); });
  }
  for (const ConvTransposeCase& c : tiled_conv_transpose_cases()) {
    INFO(describe(c));
    const Tensor x = leaf(c.input), w = leaf(c.weight);
    const Tensor b = optional_leaf(c.bias, {c.weight[1] * c.options.groups});
    const Tensor y = conv_transpose_any(x, w, b, c.options);
    require_values(y, values(direct_conv_transpose(x, w, b, c.options)), 1e-11);
    check_gradient_identities(
        y, x, w, b, [&](const Tensor& xi, const Tensor& wi) { return conv_transpose_any(xi, wi, {}, c.options); });
  }
}

TEST_CASE("conv_transpose is the adjoint of conv: <conv(x), y> == <x, conv_transpose(y)>", "[conv_transpose]") {
  manual_seed(3);
  struct AdjointCase {
    Shape input, weight;
    Spatial stride, padding, dilation;
    std::int64_t groups;
  };
  for (const AdjointCase& c :
       std::vector<AdjointCase>{{{2, 4, 7, 6}, {6, 2, 3, 3}, {2}, {1}, {1}, 2},
                                {{1, 3, 9}, {3, 1, 4}, {3}, {2}, {2}, 3},
                                {{1, 2, 5, 4, 6}, {2, 2, 2, 3, 2}, {1, 2, 2}, {1, 0, 1}, {2, 1, 1}, 1}}) {
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor y = conv_any(x, w, {},
                              {.stride = c.stride,
                               .padding = Padding::asymmetric(c.padding, c.padding),
                               .dilation = c.dilation,
                               .groups = c.groups});
    const Tensor v = randn(y.shape(), {.dtype = f64});
    // The output_padding that recovers x's size exactly.
    Spatial output_padding;
    for (std::size_t d = 0; d + 2 < c.input.size(); ++d) {
      const std::int64_t s = expand(c.stride, c.input.size() - 2)[d], p = expand(c.padding, c.input.size() - 2)[d];
      const std::int64_t k = c.weight[d + 2], dil = expand(c.dilation, c.input.size() - 2)[d];
      output_padding.push_back(c.input[d + 2] -
                               ((y.size(static_cast<std::int64_t>(d) + 2) - 1) * s - 2 * p + dil * (k - 1) + 1));
    }
    const Tensor t = conv_transpose_any(v, w, {},
                                        {.stride = c.stride,
                                         .padding = c.padding,
                                         .output_padding = output_padding,
                                         .dilation = c.dilation,
                                         .groups = c.groups});
    REQUIRE(t.shape() == x.shape());
    CHECK((y * v).sum().item() == Approx((x * t).sum().item()).epsilon(1e-12));
  }
}

TEST_CASE("conv accepts non-contiguous inputs and weights", "[conv]") {
  manual_seed(4);
  const Tensor x = randn({2, 5, 6, 3}, {.dtype = f64}).permute({0, 3, 1, 2});  // [2, 3, 5, 6], channels last in memory
  const Tensor w = randn({3, 3, 2, 4}, {.dtype = f64}).transpose(2, 3);        // [3, 3, 4, 2]
  REQUIRE_FALSE(x.is_contiguous());
  REQUIRE_FALSE(w.is_contiguous());
  require_values(conv2d(x, w, {}, {.padding = {1}}),
                 values(conv2d(x.contiguous(), w.contiguous(), {}, {.padding = {1}})));
  require_values(conv_transpose2d(x, w.transpose(0, 1), {}, {.stride = {2}}),
                 values(conv_transpose2d(x.contiguous(), w.transpose(0, 1).contiguous(), {}, {.stride = {2}})));
}

TEST_CASE("conv and conv_transpose in float32 agree with float64", "[conv][conv_transpose]") {
  manual_seed(5);
  for (const ConvCase& c : conv_cases()) {
    INFO(describe(c));
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor b = c.bias ? randn({c.weight[0]}, {.dtype = f64}) : Tensor();
    const Tensor y32 = conv_any(x.to(f32), w.to(f32), c.bias ? b.to(f32) : Tensor(), c.options);
    CHECK(y32.dtype() == f32);
    require_values(y32, values(conv_any(x, w, b, c.options)), 1e-5);
  }
  for (const ConvTransposeCase& c : conv_transpose_cases()) {
    INFO(describe(c));
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor y32 = conv_transpose_any(x.to(f32), w.to(f32), {}, c.options);
    require_values(y32, values(conv_transpose_any(x, w, {}, c.options)), 1e-5);
  }
}

TEST_CASE("conv's float32 bias gradient is the output gradient summed per channel", "[conv]") {
  manual_seed(6);
  for (const Shape& input : {Shape{3, 4, 9, 11}, Shape{2, 4, 7}, Shape{2, 4, 3, 4, 5}}) {
    INFO(describe(input, {}, true));
    const auto rank = static_cast<std::int64_t>(input.size());
    Shape weight{5, 4};
    for (std::int64_t d = 2; d < rank; ++d) weight.push_back(3);
    const Tensor x = randn(input), w = randn(weight), b = randn({5}, {.requires_grad = true});
    const Tensor y = rank == 3 ? conv1d(x, w, b, {.padding = {1}})
                   : rank == 4 ? conv2d(x, w, b, {.padding = {1}})
                               : conv3d(x, w, b, {.padding = {1}});
    // A transposed view as the output gradient: the sums must not depend on its layout.
    const Tensor dy = randn(y.shape()).transpose(0, 1).contiguous().transpose(0, 1);
    y.backward(dy);
    Dims over{0};
    for (std::int64_t d = 2; d < rank; ++d) over.values.push_back(d);
    CHECK(b.grad().dtype() == f32);
    require_values(b.grad(), values(sum(dy.to(f64), over)), 1e-5);
  }
}

TEST_CASE("conv and conv_transpose take an empty batch", "[conv][conv_transpose]") {
  manual_seed(14);
  const Tensor x = zeros({0, 3, 5, 5}, {.dtype = f64, .requires_grad = true});
  const Tensor w = randn({3, 2, 3, 3}, {.dtype = f64, .requires_grad = true});
  const Tensor y = conv2d(x, w.transpose(0, 1), {}, {.padding = {1}});  // weight [2, 3, 3, 3]
  CHECK(y.shape() == Shape{0, 2, 5, 5});
  const Tensor t = conv_transpose2d(x, w, {}, {.stride = {2}});
  CHECK(t.shape() == Shape{0, 2, 11, 11});
  (y.sum() + t.sum()).backward();
  CHECK(x.grad().shape() == x.shape());
  require_values(w.grad(), std::vector<double>(54, 0.0));
}

// ---- gradients -------------------------------------------------------------------------------

TEST_CASE("conv1d/2d/3d gradients pass gradcheck over input, weight and bias", "[conv][gradcheck]") {
  manual_seed(6);
  for (const ConvCase& c : conv_cases()) {
    INFO(describe(c));
    const ConvOptions options = c.options;
    require_gradcheck([options](const std::vector<Tensor>& in) { return conv_any(in[0], in[1], bias_of(in), options); },
                      gradcheck_inputs(leaf(c.input), leaf(c.weight), optional_leaf(c.bias, {c.weight[0]})));
  }
}

TEST_CASE("conv_transpose1d/2d/3d gradients pass gradcheck over input, weight and bias",
          "[conv_transpose][gradcheck]") {
  manual_seed(7);
  for (const ConvTransposeCase& c : conv_transpose_cases()) {
    INFO(describe(c));
    const ConvTransposeOptions options = c.options;
    require_gradcheck(
        [options](const std::vector<Tensor>& in) { return conv_transpose_any(in[0], in[1], bias_of(in), options); },
        gradcheck_inputs(leaf(c.input), leaf(c.weight), optional_leaf(c.bias, {c.weight[1] * c.options.groups})));
  }
}

TEST_CASE("conv computes gradients only for the inputs that need them", "[conv][conv_transpose]") {
  manual_seed(8);
  const Tensor x = randn({2, 2, 5, 5}, {.dtype = f64});
  const Tensor w = randn({3, 2, 3, 3}, {.dtype = f64});
  for (bool input_grad : {false, true}) {
    const Tensor xi = x.detach().requires_grad_(input_grad);
    const Tensor wi = w.detach().requires_grad_(!input_grad);
    conv2d(xi, wi, {}, {.padding = {1}}).sum().backward();
    CHECK(xi.grad().defined() == input_grad);
    CHECK(wi.grad().defined() == !input_grad);
    const Tensor xt = x.detach().requires_grad_(input_grad);
    const Tensor wt = w.transpose(0, 1).detach().requires_grad_(!input_grad);  // [2, 3, 3, 3]
    conv_transpose2d(xt, wt, {}, {.stride = {2}}).sum().backward();
    CHECK(xt.grad().defined() == input_grad);
    CHECK(wt.grad().defined() == !input_grad);
  }
  // Nothing is recorded when no input requires grad.
  CHECK_FALSE(conv2d(x, w).requires_grad());
}

// ---- the kernels -----------------------------------------------------------------------------

TEST_CASE("a 1x1 convolution read in place matches the im2col path", "[conv][kernels]") {
  manual_seed(9);
  // One image is read in place (several are gathered side by side); padding 1
  // sends the 1x1 kernel through im2col, and the interior of that output is the same.
  for (std::int64_t batch : {1, 3}) {
    INFO("batch " << batch);
    const Tensor x = leaf({batch, 4, 5, 7}), w = leaf({6, 2, 1, 1}), b = leaf({6});
    const Tensor direct = conv2d(x, w, b, {.groups = 2});
    const Tensor padded = conv2d(x, w, b, {.padding = {1}, .groups = 2}).slice(2, 1, 6).slice(3, 1, 8);
    require_values(direct, values(padded), 1e-13);
    const Tensor v = randn(direct.shape(), {.dtype = f64});
    (direct * v).sum().backward();
    const std::vector<double> gx = values(x.grad()), gw = values(w.grad()), gb = values(b.grad());
    x.grad().zero_();
    w.grad().zero_();
    b.grad().zero_();
    (padded * v).sum().backward();
    require_values(x.grad(), gx, 1e-12);
    require_values(w.grad(), gw, 1e-12);
    require_values(b.grad(), gb, 1e-12);
  }
}

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
      kernels::conv_forward<T>(g, c.x.data(), c.w.data(), c.bias.data(), y.data());
      check_close(y, c.y, kernel_tolerance<T>());
      kernels::conv_backward_data<T>(g, c.dy.data(), c.w.data(), c.bias.data(), dx.data());
      check_close(dx, c.dx, kernel_tolerance<T>());
      kernels::conv_backward_weight<T>(g, c.dy.data(), c.x.data(), dw.data());
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
  ThreadCount restore;
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
  ThreadCount restore;
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

TEST_CASE("conv results do not depend on the thread count", "[conv][conv_transpose][threads]") {
  ThreadCount restore;
  manual_seed(12);
  // Large enough to be split across threads: im2col + GEMM with batches of
  // images and with line tiles, and depthwise.
  struct Case {
    Shape input, weight;
    std::int64_t groups;
  };
  for (const Case& c : {Case{{8, 16, 16, 16}, {16, 16, 3, 3}, 1}, Case{{2, 64, 26, 26}, {8, 64, 3, 3}, 1},
                        Case{{8, 16, 32, 32}, {16, 1, 3, 3}, 16}}) {
    const Tensor x = randn(c.input, {.dtype = f64}), w = randn(c.weight, {.dtype = f64});
    const Tensor b = randn({c.weight[0]}, {.dtype = f64});
    std::vector<std::vector<double>> results[2];
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      const Tensor xi = x.detach().requires_grad_(), wi = w.detach().requires_grad_(), bi = b.detach().requires_grad_();
      const Tensor y = conv2d(xi, wi, bi, {.padding = {1}, .groups = c.groups});
      const Tensor t = conv_transpose2d(y.detach(), w, {}, {.padding = {1}, .groups = c.groups});
      (y * y).sum().backward();
      results[threads - 1] = {values(y), values(t), values(xi.grad()), values(wi.grad()), values(bi.grad())};
    }
    for (std::size_t i = 0; i < results[0].size(); ++i) {
      INFO("result " << i << ", groups " << c.groups);
      CHECK(max_relative_difference(results[1][i], results[0][i]) <= 1e-12);
    }
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST_CASE("conv rejects bad shapes, dtypes and options with clear messages", "[conv][errors]") {
  const Tensor x = zeros({8, 4, 32, 32}), w = zeros({16, 3, 3, 3});
  XGRAD_REQUIRE_THROWS_WITH(
      conv2d(x, w), ShapeError,
      "conv2d: input has 4 channels but weight expects 3 (input [8, 4, 32, 32], weight [16, 3, 3, 3])");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({4, 32, 32}), w), ShapeError, "conv2d: input must be 4-D [N, C, H, W]",
                            "[4, 32, 32]", "unsqueeze(0)");
  XGRAD_REQUIRE_THROWS_WITH(conv1d(x, w), ShapeError, "conv1d: input must be 3-D [N, C, L]", "[8, 4, 32, 32]");
  XGRAD_REQUIRE_THROWS_WITH(conv3d(zeros({1, 3, 4, 4, 4}), zeros({2, 3, 3, 3})), ShapeError,
                            "conv3d: weight must be 5-D [C_out, C_in / groups, kD, kH, kW]", "[2, 3, 3, 3]");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 0, 3})), ShapeError, "empty kernel");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 6, 8, 8}), zeros({4, 3, 3, 3}), {}, {.groups = 4}), ValueError,
                            "conv2d: input has 6 channels, which groups = 4 does not divide");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 4, 8, 8}), zeros({5, 2, 3, 3}), {}, {.groups = 2}), ValueError,
                            "weight has 5 output channels, which groups = 2 does not divide");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 4, 8, 8}), zeros({4, 1, 3, 3}), {}, {.groups = 2}), ShapeError,
                            "input has 4 channels but weight expects 2 (1 per group x 2 groups)");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 4, 8, 8}), zeros({4, 4, 3, 3}), {}, {.groups = 0}), ValueError,
                            "groups must be >= 1, got 0");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w, zeros({5})), ShapeError,
                            "conv2d: bias has shape [5] but weight [16, 3, 3, 3] needs [16]");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w.to(f64)), DTypeError, "conv2d", "dtype mismatch");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w, zeros({16}, {.dtype = f64})), DTypeError, "conv2d");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}, {.dtype = i64}), w.to(i64)), DTypeError, "conv2d", "i64");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w, {}, {.stride = {2}, .padding = "same"}), ValueError,
                            "conv2d", "\"same\" needs stride 1");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 2, 2}), w), ShapeError, "conv2d", "larger than the padded input");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w, {}, {.stride = {1, 2, 3}}), ValueError, "conv2d", "stride");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), w, {}, {.dilation = {0}}), ValueError, "conv2d",
                            "dilation must be >= 1");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), Tensor()), Error, "conv2d", "weight");
}

TEST_CASE("conv_transpose rejects bad shapes and options with clear messages", "[conv_transpose][errors]") {
  const Tensor w = zeros({3, 2, 3, 3});  // [C_in, C_out / groups, kH, kW]
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 4, 5, 5}), w), ShapeError,
                            "conv_transpose2d: input has 4 channels but weight expects 3 (input [1, 4, 5, 5], weight "
                            "[3, 2, 3, 3])");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 5, 5}), zeros({3, 2, 3})), ShapeError,
                            "conv_transpose2d: weight must be 4-D [C_in, C_out / groups, kH, kW]");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 5, 5}), w, zeros({3})), ShapeError,
                            "bias has shape [3] but weight [3, 2, 3, 3] needs [2]");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 5, 5}), w, {}, {.groups = 2}), ValueError,
                            "input has 3 channels, which groups = 2 does not divide");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 5, 5}), w, {}, {.stride = {2}, .output_padding = {2}}),
                            ValueError, "output_padding [2, 2] must be smaller than stride [2, 2] or dilation [1, 1]");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 1, 1}), zeros({3, 2, 1, 1}), {}, {.padding = {1}}),
                            ShapeError, "conv_transpose2d: the output would have size -1");
  XGRAD_REQUIRE_THROWS_WITH(conv_transpose1d(zeros({1, 3, 5}), zeros({3, 2, 3}), {}, {.padding = {-1}}), ValueError,
                            "padding must be >= 0");
}
