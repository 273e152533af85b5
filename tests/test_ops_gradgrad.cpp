// Second derivatives of the built-in ops: gradgradcheck in float64 over shapes
// and options (element-wise math and activations, arithmetic with broadcasting,
// reductions, matmul / linear, views and joins, softmax and the losses, dropout,
// convolutions and their transposes, pooling, batch norm, local response norm,
// interpolate). Each check also differentiates in the grad output.

#include <functional>
#include <string>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

void require_gradgradcheck(const Fn& fn, const std::vector<Tensor>& inputs) {
  const GradcheckReport report = gradgradcheck(fn, inputs);
  INFO(report.message);
  REQUIRE(report.ok);
}

// sign(x) as a constant float tensor.
Tensor sign_like(const Tensor& x) { return abs(x.detach()) / x.detach(); }

// Values away from 0 (and from each other), where abs, relu, clamp and max have
// no kink within the finite-difference step.
Tensor away_from_zero(const Shape& shape) {
  Tensor x = randn(shape, {.dtype = f64});
  x = x + sign_like(x) * 0.2;
  return x.detach().requires_grad_();
}

}  // namespace

TEST_CASE("element-wise math and activations are twice differentiable", "[gradgrad][elementwise]") {
  manual_seed(1);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> unary{
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"log", [](const Tensor& x) { return log(abs(x) + 0.5); }},
      {"sqrt", [](const Tensor& x) { return sqrt(abs(x) + 0.5); }},
      {"abs", [](const Tensor& x) { return abs(x) * x; }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.1, 0.1) * x + clamp(x * x, std::nullopt, 0.5); }},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }},
      {"pow -1.5", [](const Tensor& x) { return pow(abs(x) + 0.3, -1.5); }},
      {"neg, scalar ops", [](const Tensor& x) { return (-x + 2.0) * 3.0 - x / 4.0 + (1.0 - x) * x; }},
      {"rdiv", [](const Tensor& x) { return 2.0 / (x * x + 1.0); }},
      {"relu", [](const Tensor& x) { return relu(x) * x; }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2) * x; }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
  };
  for (const Shape& shape : {Shape{5}, Shape{2, 3}, Shape{1, 2, 3}}) {
    const Tensor x = away_from_zero(shape);
    for (const auto& [name, f] : unary) {
      INFO(name << " on " << shape_to_string(shape));
      require_gradgradcheck([&f](const std::vector<Tensor>& in) { return f(in[0]); }, {x});
    }
  }
}

TEST_CASE("binary arithmetic and pow with broadcasting are twice differentiable", "[gradgrad][arithmetic]") {
  manual_seed(2);
  const std::vector<std::pair<Shape, Shape>> shapes{{{3}, {3}}, {{2, 3}, {3}}, {{2, 1}, {1, 4}}, {{2, 3}, {}}};
  for (const auto& [sa, sb] : shapes) {
    INFO(shape_to_string(sa) << " with " << shape_to_string(sb));
    const Tensor a = away_from_zero(sa), b = away_from_zero(sb);
    require_gradgradcheck([](const std::vector<Tensor>& in) { return in[0] + in[1] * 2.0; }, {a, b});
    require_gradgradcheck([](const std::vector<Tensor>& in) { return (in[0] - in[1]) * in[0]; }, {a, b});
    require_gradgradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b});
    require_gradgradcheck([](const std::vector<Tensor>& in) { return in[0] / in[1]; }, {a, b});
    require_gradgradcheck([](const std::vector<Tensor>& in) { return pow(abs(in[0]) + 0.5, in[1]); }, {a, b});
  }
  // pow's special values: an exponent of 0 (gradient 0 for the base), a base of 0.
  const Tensor base = f64_tensor({0.0, 1.5, 0.7}, {3}, true), exponent = f64_tensor({2.0, 0.0, 1.3}, {3}, true);
  const std::vector<Tensor> g =
      autograd::grad({pow(base, exponent).sum()}, {base, exponent}, {}, {.create_graph = true});
  for (const Tensor& t : g)
    for (double v : values(t)) CHECK(std::isfinite(v));
  const std::vector<Tensor> gg = autograd::grad({g[0].sum() + g[1].sum()}, {base, exponent});
  for (const Tensor& t : gg)
    for (double v : values(t)) CHECK(std::isfinite(v));
}

TEST_CASE("reductions are twice differentiable", "[gradgrad][reduction]") {
  manual_seed(3);
  const Tensor x = away_from_zero({2, 3, 4});
  for (const Dims& dims : {Dims{}, Dims{1}, Dims{0, 2}, Dims{-1}})
    for (const bool keepdim : {false, true}) {
      INFO("dims " << shape_to_string(dims.values) << ", keepdim " << keepdim);
      require_gradgradcheck([&](const std::vector<Tensor>& in) { return pow(in[0], 2.0).sum(dims, keepdim); }, {x});
      require_gradgradcheck([&](const std::vector<Tensor>& in) { return (in[0] * in[0]).mean(dims, keepdim); }, {x});
      require_gradgradcheck([&](const std::vector<Tensor>& in) { return (in[0] * in[0]).amax(dims, keepdim); }, {x});
      require_gradgradcheck([&](const std::vector<Tensor>& in) { return (in[0] * in[0]).amin(dims, keepdim); }, {x});
    }
}

TEST_CASE("matmul and linear are twice differentiable", "[gradgrad][linalg]") {
  manual_seed(4);
  const std::vector<std::pair<Shape, Shape>> shapes{
      {{3}, {3}}, {{2, 3}, {3}}, {{3}, {3, 2}}, {{2, 3}, {3, 4}}, {{2, 2, 3}, {3, 2}}, {{2, 2, 3}, {2, 3, 1}}};
  for (const auto& [sa, sb] : shapes) {
    INFO(shape_to_string(sa) << " @ " << shape_to_string(sb));
    require_gradgradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {leaf(sa), leaf(sb)});
  }
  for (const Shape& input : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}}) {
    INFO("linear on " << shape_to_string(input));
    require_gradgradcheck([](const std::vector<Tensor>& in) { return tanh(linear(in[0], in[1], in[2])); },
                          {leaf(input), leaf({2, 4}), leaf({2})});
    require_gradgradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1]) * in[0].sum(); },
                          {leaf(input), leaf({2, 4})});
  }
}

TEST_CASE("views and joins are twice differentiable", "[gradgrad][shape]") {
  manual_seed(5);
  const Tensor x = leaf({2, 3, 4}), y = leaf({2, 3, 4});
  const std::vector<std::pair<std::string, Fn>> cases{
      {"reshape", [](const std::vector<Tensor>& in) { return pow(in[0].reshape({4, -1}), 2.0); }},
      {"transpose", [](const std::vector<Tensor>& in) { return pow(in[0].transpose(0, 2), 2.0); }},
      {"permute", [](const std::vector<Tensor>& in) { return in[0].permute({2, 0, 1}) * in[1].permute({2, 0, 1}); }},
      {"slice", [](const std::vector<Tensor>& in) { return pow(in[0].slice(2, 1, 4, 2), 3.0); }},
      {"select", [](const std::vector<Tensor>& in) { return pow(in[0].select(1, 2), 2.0); }},
      {"expand", [](const std::vector<Tensor>& in) { return pow(in[0].slice(0, 0, 1).expand({3, 3, 4}), 2.0); }},
      {"squeeze", [](const std::vector<Tensor>& in) { return pow(in[0].unsqueeze(1).squeeze(1), 2.0); }},
      {"cat", [](const std::vector<Tensor>& in) { return pow(cat({in[0], in[1] * in[0]}, 1), 2.0); }},
      {"stack", [](const std::vector<Tensor>& in) { return pow(stack({in[0], in[1]}, 3), 2.0); }},
      {"pad", [](const std::vector<Tensor>& in) { return pow(pad(in[0], {1, 2, 0, -1}, 0.5), 2.0); }},
      {"contiguous", [](const std::vector<Tensor>& in) { return pow(in[0].transpose(0, 1).contiguous(), 2.0); }},
  };
  for (const auto& [name, f] : cases) {
    INFO(name);
    require_gradgradcheck(f, {x, y});
  }
}

TEST_CASE("softmax, log_softmax and the losses are twice differentiable", "[gradgrad][loss]") {
  manual_seed(6);
  for (const std::int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    const Tensor x = leaf({3, 4});
    require_gradgradcheck([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x});
    require_gradgradcheck([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x});
  }
  const Tensor logits = leaf({4, 3});
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 2, 1, 2});
  for (const Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
    INFO("reduction " << static_cast<int>(reduction));
    require_gradgradcheck(
        [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], labels, {.reduction = reduction}); },
        {logits});
    require_gradgradcheck(
        [&](const std::vector<Tensor>& in) {
          return cross_entropy(in[0], labels, {.reduction = reduction, .label_smoothing = 0.2});
        },
        {logits});
    require_gradgradcheck(
        [&](const std::vector<Tensor>& in) { return nll_loss(log_softmax(in[0], 1), labels, {.reduction = reduction}); },
        {logits});
    require_gradgradcheck(
        [&](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], {.reduction = reduction}); },
        {logits, leaf({4, 3})});
  }
  // Spatial targets: [N, C, d] logits, [N, d] labels.
  const Tensor spatial = leaf({2, 3, 2});
  const Tensor targets = from_vector(std::vector<std::int64_t>{0, 2, 1, 1}, {2, 2});
  require_gradgradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets); }, {spatial});
}

TEST_CASE("dropout (with a fixed mask) and global average pooling are twice differentiable", "[gradgrad][norm]") {
  manual_seed(7);
  const Tensor x = leaf({2, 3, 4});
  require_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        Generator gen(11);  // the same mask in every call
        return pow(dropout(in[0], {.p = 0.4}, &gen), 2.0);
      },
      {x});
  require_gradgradcheck([](const std::vector<Tensor>& in) { return pow(global_avg_pool(in[0]), 2.0); }, {x});
  require_gradgradcheck([](const std::vector<Tensor>& in) { return pow(global_avg_pool(in[0]), 2.0); },
                        {leaf({1, 2, 3, 2, 2})});
}

TEST_CASE("conv1d/2d/3d are twice differentiable in input, weight and bias", "[gradgrad][conv]") {
  manual_seed(8);
  struct Case {
    Shape input, weight;
    ConvOptions options;
  };
  const std::vector<Case> cases{
      {{2, 2, 7}, {3, 2, 3}, {}},
      {{1, 2, 8}, {2, 1, 3}, {.stride = {2}, .padding = {1}, .dilation = {2}, .groups = 2}},
      {{2, 2, 5, 4}, {3, 2, 3, 2}, {.padding = {1}}},
      {{1, 2, 6, 5}, {4, 2, 3, 3}, {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}},
      {{1, 4, 5, 5}, {4, 2, 2, 2}, {.groups = 2}},
      {{2, 3, 4, 4}, {3, 1, 3, 3}, {.padding = {1}, .groups = 3}},  // depthwise
      {{1, 2, 3, 4, 4}, {2, 2, 2, 3, 2}, {.stride = {1, 2, 1}, .padding = {1, 0, 1}}},
  };
  for (const Case& c : cases) {
    INFO("input " << shape_to_string(c.input) << ", weight " << shape_to_string(c.weight));
    const auto conv = [&c](const Tensor& x, const Tensor& w, const Tensor& b) {
      if (c.input.size() == 3) return conv1d(x, w, b, c.options);
      if (c.input.size() == 4) return conv2d(x, w, b, c.options);
      return conv3d(x, w, b, c.options);
    };
    require_gradgradcheck([&](const std::vector<Tensor>& in) { return conv(in[0], in[1], in[2]); },
                          {leaf(c.input), leaf(c.weight), leaf({c.weight[0]})});
    // A nonlinearity after the convolution makes the second derivative in x nonzero.
    require_gradgradcheck([&](const std::vector<Tensor>& in) { return tanh(conv(in[0], in[1], Tensor())); },
                          {leaf(c.input), leaf(c.weight)});
  }
}

TEST_CASE("conv_transpose1d/2d/3d are twice differentiable in input, weight and bias", "[gradgrad][conv]") {
  manual_seed(9);
  struct Case {
    Shape input, weight;
    ConvTransposeOptions options;
  };
  const std::vector<Case> cases{
      {{2, 2, 4}, {2, 3, 3}, {}},
      {{1, 2, 4}, {2, 2, 3}, {.stride = {2}, .padding = {1}, .output_padding = {1}, .groups = 2}},
      {{1, 2, 3, 3}, {2, 2, 3, 2}, {.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0}}},
      {{1, 2, 3, 3}, {2, 1, 2, 2}, {.dilation = {2}, .groups = 2}},
      {{1, 2, 2, 3, 2}, {2, 2, 2, 2, 2}, {.stride = {2, 1, 1}, .padding = {0, 1, 0}}},
  };
  for (const Case& c : cases) {
    INFO("input " << shape_to_string(c.input) << ", weight " << shape_to_string(c.weight));
    const auto conv_t = [&c](const Tensor& x, const Tensor& w, const Tensor& b) {
      if (c.input.size() == 3) return conv_transpose1d(x, w, b, c.options);
      if (c.input.size() == 4) return conv_transpose2d(x, w, b, c.options);
      return conv_transpose3d(x, w, b, c.options);
    };
    const std::int64_t out_channels = c.weight[1] * c.options.groups;
    require_gradgradcheck([&](const std::vector<Tensor>& in) { return tanh(conv_t(in[0], in[1], in[2])); },
                          {leaf(c.input), leaf(c.weight), leaf({out_channels})});
  }
}

TEST_CASE("max, average and adaptive pooling are twice differentiable", "[gradgrad][pool]") {
  manual_seed(10);
  // tanh before the pooling makes the second derivative through it nonzero.
  const std::vector<std::pair<std::string, Fn>> cases{
      {"max_pool1d", [](const std::vector<Tensor>& in) { return max_pool1d(tanh(in[0].select(2, 0)), {.kernel = {2}}); }},
      {"max_pool2d", [](const std::vector<Tensor>& in) { return pow(max_pool2d(tanh(in[0]), {.kernel = {2}}), 2.0); }},
      {"max_pool2d stride 1 padding dilation ceil",
       [](const std::vector<Tensor>& in) {
         return pow(max_pool2d(in[0], {.kernel = {2}, .stride = {1}, .padding = {1}, .dilation = {2}, .ceil_mode = true}),
                    3.0);
       }},
      {"max_pool3d", [](const std::vector<Tensor>& in) { return pow(max_pool3d(in[0].unsqueeze(2), {.kernel = {1, 2, 2}}), 2.0); }},
      {"avg_pool2d", [](const std::vector<Tensor>& in) { return pow(avg_pool2d(in[0], {.kernel = {2}}), 2.0); }},
      {"avg_pool2d padding ceil, no pad count",
       [](const std::vector<Tensor>& in) {
         return pow(avg_pool2d(in[0], {.kernel = {3}, .stride = {2}, .padding = {1}, .ceil_mode = true,
                                       .count_include_pad = false}),
                    2.0);
       }},
      {"avg_pool1d", [](const std::vector<Tensor>& in) { return pow(avg_pool1d(in[0].select(3, 1), {.kernel = {3}, .stride = {1}}), 2.0); }},
      {"adaptive_avg_pool2d", [](const std::vector<Tensor>& in) { return pow(adaptive_avg_pool2d(in[0], {3, 2}), 2.0); }},
      {"adaptive_avg_pool3d", [](const std::vector<Tensor>& in) { return pow(adaptive_avg_pool3d(in[0].unsqueeze(2), {1, 2, 3}), 2.0); }},
      {"adaptive_max_pool2d", [](const std::vector<Tensor>& in) { return pow(adaptive_max_pool2d(in[0], {2, 3}), 3.0); }},
  };
  for (const Shape& shape : {Shape{1, 2, 4, 5}, Shape{2, 1, 5, 4}}) {
    const Tensor x = leaf(shape);
    for (const auto& [name, f] : cases) {
      INFO(name << " on " << shape_to_string(shape));
      require_gradgradcheck(f, {x});
    }
  }
}

TEST_CASE("batch norm (training and evaluation) and local response norm are twice differentiable",
          "[gradgrad][norm]") {
  manual_seed(11);
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 4}, Shape{2, 2, 3, 2}}) {
    const std::int64_t C = shape[1];
    const Tensor x = leaf(shape), w = leaf({C}), b = leaf({C});
    const Tensor mean = randn({C}, {.dtype = f64}), var = rand({C}, {.dtype = f64}) + 0.5;
    for (const bool training : {true, false}) {
      INFO("batch_norm on " << shape_to_string(shape) << ", training " << training);
      require_gradgradcheck(
          [&](const std::vector<Tensor>& in) {
            // Running statistics are copied per call: training updates them in place.
            return batch_norm(in[0], mean.clone(), var.clone(), in[1], in[2], {.training = training});
          },
          {x, w, b});
      require_gradgradcheck(
          [&](const std::vector<Tensor>& in) {
            return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), {.training = true}) * in[0];
          },
          {x});
    }
  }
  for (const std::int64_t size : {1, 2, 3, 5}) {
    INFO("local_response_norm size " << size);
    require_gradgradcheck(
        [size](const std::vector<Tensor>& in) {
          return local_response_norm(in[0], {.size = size, .alpha = 0.5, .beta = 0.75, .k = 1.5});
        },
        {leaf({2, 4, 3})});
  }
}

TEST_CASE("interpolate (bilinear and nearest) is twice differentiable", "[gradgrad][upsample]") {
  manual_seed(12);
  const Tensor x = leaf({1, 2, 3, 4});
  for (const std::vector<std::int64_t>& size : {std::vector<std::int64_t>{5, 7}, {2, 3}, {3, 4}}) {
    INFO("size " << shape_to_string(size));
    require_gradgradcheck([&](const std::vector<Tensor>& in) { return pow(upsample_nearest2d(in[0], size), 2.0); }, {x});
    for (const bool align_corners : {false, true})
      require_gradgradcheck(
          [&](const std::vector<Tensor>& in) { return pow(upsample_bilinear2d(in[0], size, align_corners), 2.0); },
          {x});
  }
  require_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        return tanh(interpolate(in[0], {.scale_factor = {1.7, 0.6}, .mode = "bilinear"}));
      },
      {x});
}
