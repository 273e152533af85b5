// Saliency: CAM and Grad-CAM against maps computed by hand, the Grad-CAM / CAM
// identity, the relu rules of guided backpropagation and the deconvnet, no side
// effects on the model, errors, and ResNet / DenseNet smoke runs.

#include <functional>
#include <memory>

#include "saliency/support.hpp"
#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// conv (1x1 or 3x3 with padding) -> relu -> global average pooling -> fc:
// the network CAM was made for, small enough to work out by hand.
struct GapNet : nn::Module {
  GapNet(std::int64_t in_channels, std::int64_t channels, std::int64_t classes, std::int64_t kernel = 1,
         std::int64_t stride = 1)
      : Module("GapNet") {
    conv = register_module("conv",
                           std::make_shared<nn::Conv2d>(in_channels, channels, Spatial{kernel},
                                                        Conv2dOptions{.stride = {stride}, .padding = {kernel / 2}}));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    pool = register_module("pool", std::make_shared<nn::AdaptiveAvgPool2d>(Spatial{1, 1}));
    fc = register_module("fc", std::make_shared<nn::Linear>(channels, classes));
    to(f64);
  }
  Tensor forward(const Tensor& x) override { return (*fc)(flatten((*pool)((*relu)((*conv)(x))), 1)); }

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::AdaptiveAvgPool2d> pool;
  std::shared_ptr<nn::Linear> fc;
};

void set(const Tensor& parameter, const std::vector<double>& v) {
  NoGradGuard no_grad;
  Tensor(parameter).copy_(from_vector(v, parameter.shape(), {.dtype = parameter.dtype()}));
}

// conv 1 -> 2 channels, 1x1, weights {1, -1}, biases {0, 0.5}; fc [[2, -1], [-1, 3]], biases {0.1, -0.2}.
std::shared_ptr<GapNet> hand_set_net() {
  auto net = std::make_shared<GapNet>(1, 2, 2);
  set(net->conv->weight, {1, -1});
  set(net->conv->bias, {0, 0.5});
  set(net->fc->weight, {2, -1, -1, 3});
  set(net->fc->bias, {0.1, -0.2});
  return net;
}

// One image [1, 1, 2, 3].
Tensor hand_input() { return f64_tensor({1, -2, 3, 0.5, -1, 2}, {1, 1, 2, 3}); }

void require_unit_range(const Tensor& map) {
  CHECK(map.min().item() >= 0.0);
  CHECK(map.max().item() <= 1.0);
}

// relu(relu(x) * s) * c summed, as the one class score [1, 1] of an image [1, 1, 1, 5].
struct ReluChain : nn::Module {
  ReluChain() : Module("ReluChain") {
    first = register_module("first", std::make_shared<nn::ReLU>());
    second = register_module("second", std::make_shared<nn::ReLU>());
  }
  Tensor forward(const Tensor& x) override {
    const Tensor s = f64_tensor({-1, 2, 1, -3, 1}, {1, 1, 1, 5});
    const Tensor c = f64_tensor({2, 2, -1, 5, 3}, {1, 1, 1, 5});
    return ((*second)((*first)(x)*s) * c).sum().reshape({1, 1});
  }
  std::shared_ptr<nn::ReLU> first, second;
};

Tensor chain_input() { return f64_tensor({1, -2, 3, -0.5, 2}, {1, 1, 1, 5}); }

}  // namespace

// Hand computation. The feature maps (relu of the 1x1 convolution):
//   A0 = relu(x)       = [[1, 0, 3], [0.5, 0, 2]]
//   A1 = relu(0.5 - x) = [[0, 2.5, 0], [0, 1.5, 0]]
// CAM class 0 = 2 A0 - A1 = [[2, -2.5, 6], [1, -1.5, 4]] -> (v + 2.5) / 8.5
// CAM class 1 = 3 A1 - A0 = [[-1, 7.5, -3], [-0.5, 4.5, -2]] -> (v + 3) / 10.5
TEST_CASE("CAM equals the classifier's weights applied to the last maps, by hand", "[saliency][cam]") {
  const auto net = hand_set_net();
  const Tensor x = hand_input();
  const Tensor map0 = saliency::cam(*net, x, 0);
  CHECK(map0.shape() == Shape{2, 3});
  require_values(map0, {4.5 / 8.5, 0, 1, 3.5 / 8.5, 1 / 8.5, 6.5 / 8.5});
  require_values(saliency::cam(*net, x, 1), {2 / 10.5, 1, 0, 2.5 / 10.5, 7.5 / 10.5, 1 / 10.5});
  // Naming the modules gives the same map.
  require_values(saliency::cam(*net, x, 1, {.features = "relu", .classifier = "fc"}),
                 {2 / 10.5, 1, 0, 2.5 / 10.5, 7.5 / 10.5, 1 / 10.5});
}

// Grad-CAM at "relu": d score / d A_k = w_k / 6 everywhere (global average over
// 6 pixels), so the map is relu(CAM / 6) = [[2, 0, 6], [1, 0, 4]] / 6.
// At "conv" (before the relu, Z0 = x, Z1 = 0.5 - x): d score / d Z_k =
// w_k / 6 where Z_k > 0, so alpha_0 = 2/6 * 4/6 = 8/36 and alpha_1 = -1/6 * 2/6
// = -2/36; relu(8 Z0 - 2 Z1) / 36 = [[9, 0, 29], [4, 0, 19]] / 36.
TEST_CASE("Grad-CAM equals the gradient-weighted maps, by hand", "[saliency][grad_cam]") {
  const auto net = hand_set_net();
  const Tensor x = hand_input();
  require_values(saliency::grad_cam(*net, "relu", x, 0), {2.0 / 6, 0, 1, 1.0 / 6, 0, 4.0 / 6});
  require_values(saliency::grad_cam(*net, "conv", x, 0), {9.0 / 29, 0, 1, 4.0 / 29, 0, 19.0 / 29});
}

TEST_CASE("Grad-CAM of a GAP + linear network is CAM up to scale", "[saliency][grad_cam][cam]") {
  manual_seed(1);
  GapNet net(3, 4, 3, /*kernel=*/3);
  {
    // Non-negative classifier weights on post-relu maps: CAM >= 0, so relu(CAM / hw) = CAM / hw.
    NoGradGuard no_grad;
    Tensor(net.fc->weight).copy_(net.fc->weight.abs());
  }
  const Tensor x = randn({1, 3, 5, 6}, {.dtype = f64});
  for (std::int64_t c = 0; c < 3; ++c) {
    INFO("class " << c);
    require_values(saliency::grad_cam(net, "relu", x, c), values(saliency::cam(net, x, c)), 1e-10);
  }
}

TEST_CASE("maps have the input's size and lie in [0, 1]", "[saliency][shape]") {
  manual_seed(2);
  GapNet net(2, 3, 4, /*kernel=*/3, /*stride=*/2);  // 7x9 -> 4x5 maps, upsampled back
  const Tensor x = randn({1, 2, 7, 9}, {.dtype = f64});
  for (const Tensor& map :
       {saliency::cam(net, x, 1), saliency::grad_cam(net, "relu", x, 1), saliency::grad_cam(net, "conv", x, 3)}) {
    CHECK(map.shape() == Shape{7, 9});
    require_unit_range(map);
  }
  // The 4x5 map, bilinearly upsampled (align_corners false) and normalised.
  const Tensor features = net.relu->forward(net.conv->forward(x));  // [1, 3, 4, 5]
  const Tensor raw = matmul(net.fc->weight.select(0, 1).unsqueeze(0), features.reshape({3, 20})).reshape({1, 1, 4, 5});
  require_values(saliency::cam(net, x, 1), values(saliency::normalize(upsample_bilinear2d(raw, {7, 9}))), 1e-12);

  const Tensor gradient = saliency::guided_grad_cam(net, "relu", x, 2);
  CHECK(gradient.shape() == x.shape());
  CHECK(saliency::gradient_image(gradient).shape() == Shape{2, 7, 9});
  CHECK(saliency::gradient_magnitude(gradient).shape() == Shape{7, 9});
}

// Chain x -> h = relu(x) -> u = h * s -> o = relu(u), score = sum(o * c), with
// x = [1, -2, 3, -0.5, 2], s = [-1, 2, 1, -3, 1], c = [2, 2, -1, 5, 3]:
// u = [-1, 0, 3, 0, 2].
//   standard:  d/du = c (u > 0) = [0, 0, -1, 0, 3]; d/dh = * s; d/dx = * (x > 0) = [0, 0, -1, 0, 3]
//   guided:    d/du = max(c, 0) (u > 0) = [0, 0, 0, 0, 3]; * s; max(., 0) (x > 0) = [0, 0, 0, 0, 3]
//   deconvnet: d/du = max(c, 0) = [2, 2, 0, 5, 3]; * s = [-2, 4, 0, -15, 3]; max(., 0) = [0, 4, 0, 0, 3]
TEST_CASE("relu's gradient rules on a relu chain, by hand", "[saliency][relu]") {
  ReluChain chain;
  const Tensor x = chain_input();
  require_values(saliency::input_gradient(chain, x, 0), {0, 0, -1, 0, 3});
  require_values(saliency::guided_backprop(chain, x, 0), {0, 0, 0, 0, 3});
  require_values(saliency::deconvnet(chain, x, 0), {0, 4, 0, 0, 3});
  CHECK(saliency::deconvnet(chain, x, 0).shape() == x.shape());

  // The rule is the one in force when relu runs forward, not at backward; guards nest.
  struct Run {
    Tensor input, score;
  };
  const auto forward = [&] {
    Tensor leaf_x = x.detach();
    leaf_x.requires_grad_();
    return Run{leaf_x, chain.forward(leaf_x)};
  };
  const auto gradient = [](const Run& run) {
    run.score.backward();
    return values(run.input.grad());
  };
  {
    const saliency::ReluGradientGuard guided(saliency::ReluGradient::guided);
    const Run recorded_guided = forward();
    {
      const saliency::ReluGradientGuard deconv(saliency::ReluGradient::deconvnet);
      CHECK(gradient(forward()) == std::vector<double>{0, 4, 0, 0, 3});
      CHECK(gradient(recorded_guided) == std::vector<double>{0, 0, 0, 0, 3});
    }
    CHECK(gradient(forward()) == std::vector<double>{0, 0, 0, 0, 3});  // the outer guard's rule is back
  }
  CHECK(gradient(forward()) == std::vector<double>{0, 0, -1, 0, 3});
}

TEST_CASE("input_gradient equals what backward gives", "[saliency][input_gradient]") {
  manual_seed(3);
  GapNet net(2, 3, 4, /*kernel=*/3);
  const Tensor x = randn({1, 2, 4, 5}, {.dtype = f64});
  Tensor leaf_x = x.detach();
  leaf_x.requires_grad_();
  net.forward(leaf_x).select(1, 2).sum().backward();
  const std::vector<double> expected = values(leaf_x.grad());
  net.zero_grad();
  require_values(saliency::input_gradient(net, x, 2), expected);
  CHECK(!x.requires_grad());
}

TEST_CASE("saliency leaves the model as it found it", "[saliency][side_effects]") {
  manual_seed(4);
  GapNet net(2, 3, 4, /*kernel=*/3);
  net.conv->bias.requires_grad_(false);  // a frozen parameter stays frozen
  net.fc->weight.set_grad(full_like(net.fc->weight, 7.0));
  const Tensor x = randn({1, 2, 4, 5}, {.dtype = f64});
  const auto untouched = [&] {
    CHECK(values(net.fc->weight.grad()) == values(full_like(net.fc->weight, 7.0)));
    CHECK(!net.conv->weight.grad().defined());
    CHECK(net.conv->weight.requires_grad());
    CHECK(!net.conv->bias.requires_grad());
    CHECK(net.fc->weight.requires_grad());
    CHECK(is_grad_enabled());
  };
  (void)saliency::cam(net, x, 0);
  (void)saliency::grad_cam(net, "relu", x, 1);
  (void)saliency::input_gradient(net, x, 2);
  (void)saliency::guided_backprop(net, x, 3);
  (void)saliency::deconvnet(net, x, 0);
  (void)saliency::guided_grad_cam(net, "conv", x, 1);
  untouched();

  // Also when an exception leaves mid-way: fc's output is no feature map, and
  // class 9 is found out of range only once the model has run.
  CHECK_THROWS_AS(saliency::grad_cam(net, "fc", x, 0), ValueError);
  CHECK_THROWS_AS(saliency::input_gradient(net, x, 9), ValueError);
  CHECK_THROWS_AS(saliency::cam(net, x, 9), ValueError);
  untouched();

  // Grad mode off at the caller's: the same map, and grad mode stays off.
  const std::vector<double> expected = values(saliency::grad_cam(net, "relu", x, 1));
  {
    NoGradGuard no_grad;
    CHECK(values(saliency::grad_cam(net, "relu", x, 1)) == expected);
    CHECK(!is_grad_enabled());
  }
}

TEST_CASE("hooks are removed on every exit, exceptions included", "[saliency][hooks]") {
  auto relu = std::make_shared<nn::ReLU>();
  int calls = 0;
  const auto counting = [&calls](nn::Module&, const Tensor&, const Tensor&) { ++calls; };
  try {
    saliency::detail::ScopedHooks hooks;
    hooks.add(*relu, counting);
    hooks.add(*relu, counting);
    (void)(*relu)(zeros({2}));
    CHECK(calls == 2);
    throw ValueError("leaving");
  } catch (const ValueError&) {
  }
  (void)(*relu)(zeros({2}));
  CHECK(calls == 2);

  // Through the public functions: after each failure the model runs clean
  // (a hook left behind would point at a finished call's locals).
  const auto net = hand_set_net();
  const Tensor x = hand_input();
  const std::vector<double> expected = values(saliency::grad_cam(*net, "relu", x, 0));
  CHECK_THROWS_AS(saliency::grad_cam(*net, "fc", x, 0), ValueError);
  CHECK_THROWS_AS(saliency::cam(*net, x, 0, {.features = "fc", .classifier = "fc"}), ValueError);
  CHECK_THROWS_AS(saliency::cam(*net, zeros({1, 3, 2, 3}, {.dtype = f64}), 0), Error);  // conv refuses 3 channels
  CHECK(values(saliency::grad_cam(*net, "relu", x, 0)) == expected);
  CHECK(net->forward(x).requires_grad());  // the parameters require grad again
}

TEST_CASE("saliency errors name the function and the values at fault", "[saliency][errors]") {
  const auto net = hand_set_net();
  const Tensor x = hand_input();
  XGRAD_REQUIRE_THROWS_WITH(saliency::grad_cam(*net, "nope", x, 0), ValueError, "grad_cam", "\"nope\"",
                            "valid names: conv, relu, pool, fc");
  XGRAD_REQUIRE_THROWS_WITH(saliency::cam(*net, x, 0, {.features = "nope"}), ValueError, "cam", "valid names");
  XGRAD_REQUIRE_THROWS_WITH(saliency::cam(*net, x, 0, {.classifier = "relu"}), ValueError, "cam",
                            "classifier \"relu\" is a ReLU, not a Linear");
  XGRAD_REQUIRE_THROWS_WITH(saliency::cam(*net, x, 0, {.features = "fc"}), ValueError, "cam", "\"fc\"", "[1, 2]",
                            "[1, 2, h, w]");
  XGRAD_REQUIRE_THROWS_WITH(saliency::grad_cam(*net, "fc", x, 0), ValueError, "grad_cam", "layer \"fc\"", "[1, 2]",
                            "[1, K, h, w]");

  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, std::int64_t)>>> functions{
      {"cam", [&](const Tensor& in, std::int64_t c) { return saliency::cam(*net, in, c); }},
      {"grad_cam", [&](const Tensor& in, std::int64_t c) { return saliency::grad_cam(*net, "relu", in, c); }},
      {"guided_grad_cam",
       [&](const Tensor& in, std::int64_t c) { return saliency::guided_grad_cam(*net, "relu", in, c); }},
      {"input_gradient", [&](const Tensor& in, std::int64_t c) { return saliency::input_gradient(*net, in, c); }},
      {"guided_backprop", [&](const Tensor& in, std::int64_t c) { return saliency::guided_backprop(*net, in, c); }},
      {"deconvnet", [&](const Tensor& in, std::int64_t c) { return saliency::deconvnet(*net, in, c); }}};
  for (const auto& [name, fn] : functions) {
    INFO(name);
    XGRAD_REQUIRE_THROWS_WITH(fn(zeros({1, 2, 3}, {.dtype = f64}), 0), ShapeError, name, "[1, C, H, W]", "[1, 2, 3]");
    XGRAD_REQUIRE_THROWS_WITH(fn(zeros({2, 1, 2, 3}, {.dtype = f64}), 0), ShapeError, name, "[2, 1, 2, 3]");
    XGRAD_REQUIRE_THROWS_WITH(fn(zeros({1, 1, 2, 3}, {.dtype = i64}), 0), DTypeError, name, "i64");
    XGRAD_REQUIRE_THROWS_WITH(fn(x, -1), ValueError, name, "class_index", "-1");
    XGRAD_REQUIRE_THROWS_WITH(fn(x, 2), ValueError, name, "class_index 2", "2 classes");
  }
  XGRAD_REQUIRE_THROWS_WITH(saliency::normalize(Tensor()), Error, "normalize");
  XGRAD_REQUIRE_THROWS_WITH(saliency::gradient_image(zeros({2, 2})), ShapeError, "gradient_image", "[2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(saliency::gradient_magnitude(zeros({2, 1, 2, 2})), ShapeError, "gradient_magnitude",
                            "[2, 1, 2, 2]");
}

TEST_CASE("display helpers: normalize, gradient_image, gradient_magnitude", "[saliency][display]") {
  require_values(saliency::normalize(f64_tensor({2, -1, 5, 1})), {0.5, 0, 1, 1.0 / 3});
  require_values(saliency::normalize(f64_tensor({3, 3, 3})), {0, 0, 0});
  const Tensor g = f64_tensor({1, -4, 0, 2, -1, 3, 0.5, -2}, {1, 2, 2, 2});
  const Tensor image = saliency::gradient_image(g);
  CHECK(image.shape() == Shape{2, 2, 2});
  require_values(image, {0.625, 0, 0.5, 0.75, 0.375, 0.875, 0.5625, 0.25});
  // max over channels of |g|: [1, 4, 0.5, 2] / 4
  require_values(saliency::gradient_magnitude(g), {0.25, 1, 0.125, 0.5});
  require_values(saliency::gradient_image(zeros({1, 2, 2}, {.dtype = f64})), {0.5, 0.5, 0.5, 0.5});
  require_values(saliency::gradient_magnitude(zeros({1, 2, 2}, {.dtype = f64})), {0, 0, 0, 0});
}

TEST_CASE("resnet20 smoke: CAM finds layer3, shared relus, guided Grad-CAM", "[saliency][models]") {
  manual_seed(5);
  const auto net = models::resnet20({.in_channels = 1});
  net->eval();
  const Tensor x = randn({1, 1, 32, 32});
  const Tensor map = saliency::cam(*net, x, 3);
  CHECK(map.shape() == Shape{32, 32});
  require_unit_range(map);
  CHECK(map.max().item() == 1.0);
  // The automatic choice is layer3's output (8x8), not avgpool's single pixel.
  CHECK(values(map) == values(saliency::cam(*net, x, 3, {.features = "layer3"})));
  // layer3.2.relu runs twice per forward; Grad-CAM reads its last output, the block's.
  CHECK(values(saliency::grad_cam(*net, "layer3.2.relu", x, 3)) == values(saliency::grad_cam(*net, "layer3.2", x, 3)));
  const Tensor guided = saliency::guided_grad_cam(*net, "layer2", x, 7);
  CHECK(guided.shape() == Shape{1, 1, 32, 32});
  require_unit_range(saliency::gradient_image(guided));
}

TEST_CASE("densenet121 smoke: CAM reads features (relu5), Grad-CAM a dense block", "[saliency][models]") {
  manual_seed(6);
  const auto net = models::densenet121({.num_classes = 10, .in_channels = 1});
  net->eval();
  const Tensor x = randn({1, 1, 64, 64});  // 2x2 final maps
  const Tensor map = saliency::cam(*net, x, 4);
  CHECK(map.shape() == Shape{64, 64});
  require_unit_range(map);
  CHECK(values(map) == values(saliency::cam(*net, x, 4, {.features = "features.relu5"})));
  const Tensor gc = saliency::grad_cam(*net, "features.denseblock3", x, 4);
  CHECK(gc.shape() == Shape{64, 64});
  require_unit_range(gc);
}
