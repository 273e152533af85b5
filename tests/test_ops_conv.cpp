// conv1d/2d/3d and conv_transpose1d/2d/3d: the seed's worked exercise, values
// against direct loops over the definition, gradients over a grid of options,
// threads, and errors (the kernels' own tests are in test_kernels_conv.cpp).

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

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

// Regression (issue: wrong results against PyTorch 1.13): a 3-D convolution with
// one depth slice and depth padding is not a 2-D one. The float kernels took
// the implicit-GEMM and Winograd 2-D paths whenever in = out = kernel = 1 along
// depth, ignoring the padding, so the output slice read the real slice where
// PyTorch reads zeros.
TEST_CASE("float32 conv3d and conv_transpose3d with one depth slice and depth padding match float64",
          "[conv][conv_transpose][regression]") {
  manual_seed(15);
  // Every output slice here reads only the depth padding: the output is the bias.
  const Tensor x = randn({1, 32, 1, 5, 14}), w = randn({8, 32, 1, 3, 3}), b = randn({8});
  const Tensor y = conv3d(x, w, b, {.stride = {3, 1, 1}, .padding = {1, 0, 0}});
  REQUIRE(y.shape() == Shape{1, 8, 1, 3, 12});
  require_values(y, values(b.reshape({1, 8, 1, 1, 1}).expand(y.shape())), 0.0);

  for (const std::int64_t channels : {4, 32, 64})
    for (const std::int64_t width : {5, 14})
      for (const std::int64_t kernel : {1, 3})
        for (const std::int64_t depth_pad : {1, 2})
          for (const std::int64_t depth_stride : {1, 3}) {
            INFO("channels " << channels << ", width " << width << ", kernel 1x" << kernel << "x" << kernel
                             << ", depth padding " << depth_pad << ", depth stride " << depth_stride);
            const Tensor x64 = randn({2, channels, 1, 6, width}, {.dtype = f64});
            const Tensor w64 = randn({channels, channels, 1, kernel, kernel}, {.dtype = f64});
            const ConvOptions options{.stride = {depth_stride, 1, 1}, .padding = {depth_pad, kernel / 2, kernel / 2}};
            auto check = [&](const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
              const Tensor x32 = x64.to(f32).requires_grad_(), w32 = w64.to(f32).requires_grad_();
              const Tensor xd = x64.clone().requires_grad_(), wd = w64.clone().requires_grad_();
              const Tensor y32 = f(x32, w32), yd = f(xd, wd);
              require_values(y32, values(yd), 1e-4);
              const Tensor v = randn(yd.shape(), {.dtype = f64});
              (y32 * v.to(f32)).sum().backward();
              (yd * v).sum().backward();
              require_values(x32.grad(), values(xd.grad()), 1e-4);
              require_values(w32.grad(), values(wd.grad()), 1e-4);
            };
            check([&](const Tensor& xi, const Tensor& wi) { return conv3d(xi, wi, {}, options); });
            // conv_transpose3d: one input slice to one output slice needs stride 3 and
            // output padding 2 ((1 - 1) * 3 - 2 + 2 + 1); three to one takes stride 1.
            for (const std::int64_t in_depth : {1, 3}) {
              if (depth_pad != 1 || (in_depth == 1) != (depth_stride == 3)) continue;
              const Tensor t64 = randn({2, channels, in_depth, 6, width}, {.dtype = f64});
              const ConvTransposeOptions t_options{.stride = {depth_stride, 1, 1},
                                                   .padding = {depth_pad, kernel / 2, kernel / 2},
                                                   .output_padding = {in_depth == 1 ? 2 : 0, 0, 0}};
              const Tensor t32 = t64.to(f32).requires_grad_(), w32 = w64.to(f32).requires_grad_();
              const Tensor td = t64.clone().requires_grad_(), wd = w64.clone().requires_grad_();
              const Tensor y32 = conv_transpose3d(t32, w32, {}, t_options), yd = conv_transpose3d(td, wd, {}, t_options);
              REQUIRE(yd.size(2) == 1);
              require_values(y32, values(yd), 1e-4);
              const Tensor v = randn(yd.shape(), {.dtype = f64});
              (y32 * v.to(f32)).sum().backward();
              (yd * v).sum().backward();
              require_values(t32.grad(), values(td.grad()), 1e-4);
              require_values(w32.grad(), values(wd.grad()), 1e-4);
            }
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
    require_gradchecks([options](const std::vector<Tensor>& in) { return conv_any(in[0], in[1], bias_of(in), options); },
                      gradcheck_inputs(leaf(c.input), leaf(c.weight), optional_leaf(c.bias, {c.weight[0]})));
  }
}

TEST_CASE("conv_transpose1d/2d/3d gradients pass gradcheck over input, weight and bias",
          "[conv_transpose][gradcheck]") {
  manual_seed(7);
  for (const ConvTransposeCase& c : conv_transpose_cases()) {
    INFO(describe(c));
    const ConvTransposeOptions options = c.options;
    require_gradchecks(
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

TEST_CASE("a 1x1 convolution read in place matches the im2col path", "[conv]") {
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

TEST_CASE("conv results do not depend on the thread count", "[conv][conv_transpose][threads]") {
  ThreadCountGuard restore;
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
  XGRAD_REQUIRE_THROWS_WITH(conv2d(zeros({32, 32}), w), ShapeError, "conv2d: input must be 4-D [N, C, H, W]",
                            "3-D without the batch dim", "[32, 32]");
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
