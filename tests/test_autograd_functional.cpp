// autograd::functional (vjp, jvp, jacobian, hessian, hvp, vhp, with their
// multi-input twins and both modes) on functions with known derivatives, and
// gradient checkpointing (checkpoint, nn::checkpoint_sequential).

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fn = xgrad::autograd::functional;

namespace {

Tensor diag(const Tensor& v) {
  const std::int64_t n = v.numel();
  std::vector<double> d(static_cast<std::size_t>(n * n), 0.0);
  const std::vector<double> values = v.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) d[static_cast<std::size_t>(i * n + i)] = values[static_cast<std::size_t>(i)];
  return from_vector(d, {n, n}, {.dtype = v.dtype()});
}

}  // namespace

TEST_CASE("hessian of known functions, reverse over reverse and reverse over forward", "[functional]") {
  manual_seed(1);
  const Tensor x = randn({4}, {.dtype = f64});
  const auto cube = [](const Tensor& t) { return pow(t, 3.0).sum(); };
  for (const bool forward_mode : {false, true}) {
    INFO("forward_mode " << forward_mode);
    // sum(x^3) -> diag(6 x)
    const Tensor h = fn::hessian(cube, x, {.forward_mode = forward_mode});
    REQUIRE(h.shape() == Shape{4, 4});
    require_values(h, values(diag(x * 6.0)), 1e-12);
    // x^T A x -> A + A^T
    const Tensor a = randn({4, 4}, {.dtype = f64});
    const Tensor q = fn::hessian([&](const Tensor& t) { return (t * matmul(a, t)).sum(); }, x,
                                 {.forward_mode = forward_mode});
    require_values(q, values(a + a.t()), 1e-12);
    // A matrix input: shape x.shape ++ x.shape.
    const Tensor m = randn({2, 3}, {.dtype = f64});
    CHECK(fn::hessian(cube, m, {.forward_mode = forward_mode}).shape() == Shape{2, 3, 2, 3});
  }
  XGRAD_REQUIRE_THROWS_WITH(fn::hessian([](const Tensor& t) { return t * 2.0; }, x), ShapeError, "hessian",
                            "single element");
}

TEST_CASE("hvp and vhp equal the hessian times v", "[functional]") {
  manual_seed(2);
  const Tensor x = randn({5}, {.dtype = f64}), v = randn({5}, {.dtype = f64});
  const auto f = [](const Tensor& t) { return (tanh(t) * t.sum() + sigmoid(t * t)).sum(); };
  const Tensor h = fn::hessian(f, x);
  const Tensor expected = matmul(h, v);
  require_values(fn::hvp(f, x, v), values(expected), 1e-10);
  require_values(fn::vhp(f, x, v), values(matmul(v, h)), 1e-10);
  require_values(h, values(h.t()), 1e-10);  // symmetric
}

TEST_CASE("vjp, jvp and jacobian agree with each other and with the definition", "[functional]") {
  manual_seed(3);
  const Tensor w = randn({3, 4}, {.dtype = f64});
  const auto f = [&](const Tensor& t) { return tanh(matmul(w, t)) * t.sum(); };
  const Tensor x = randn({4}, {.dtype = f64});
  const Tensor j = fn::jacobian(f, x);
  REQUIRE(j.shape() == Shape{3, 4});
  require_values(fn::jacobian(f, x, {.forward_mode = true}), values(j), 1e-12);
  const Tensor u = randn({4}, {.dtype = f64}), v = randn({3}, {.dtype = f64});
  require_values(fn::jvp(f, x, u), values(matmul(j, u)), 1e-12);
  require_values(fn::vjp(f, x, v), values(matmul(v, j)), 1e-12);
  // Central differences, column by column.
  for (std::int64_t c = 0; c < 4; ++c) {
    Tensor e = zeros({4}, {.dtype = f64});
    e.narrow(0, c, 1).fill_(1e-6);
    require_values(j.select(1, c), values((f(x + e) - f(x - e)) / 2e-6), 1e-6);
  }
  // The caller's tensor is untouched and nothing requires grad.
  CHECK_FALSE(x.requires_grad());
  CHECK_FALSE(j.requires_grad());
  XGRAD_REQUIRE_THROWS_WITH(fn::vjp(f, x, randn({4}, {.dtype = f64})), ShapeError, "vjp", "[4]", "[3]");
  XGRAD_REQUIRE_THROWS_WITH(fn::jvp(f, x, randn({3}, {.dtype = f64})), ShapeError, "jvp", "[3]", "[4]");
}

TEST_CASE("the jacobian of a convolution is its Toeplitz matrix", "[functional][conv]") {
  manual_seed(4);
  // conv1d of one channel, kernel 3, padding 1 on length 5: J[o, i] = w[i - o + 1].
  const Tensor w = randn({1, 1, 3}, {.dtype = f64});
  const Tensor x = randn({1, 1, 5}, {.dtype = f64});
  const auto conv = [&](const Tensor& t) { return conv1d(t, w, {}, {.padding = {1}}); };
  const std::vector<double> k = w.to_vector<double>();
  std::vector<double> toeplitz(25, 0.0);
  for (int o = 0; o < 5; ++o)
    for (int i = 0; i < 5; ++i)
      if (i - o + 1 >= 0 && i - o + 1 < 3) toeplitz[static_cast<std::size_t>(o * 5 + i)] = k[static_cast<std::size_t>(i - o + 1)];
  for (const bool forward_mode : {false, true}) {
    const Tensor j = fn::jacobian(conv, x, {.forward_mode = forward_mode});
    REQUIRE(j.shape() == Shape{1, 1, 5, 1, 1, 5});
    require_values(j, toeplitz, 1e-14);
  }
  // A 2-D one: every column is the convolution of a one-hot image.
  const Tensor w2 = randn({2, 1, 2, 2}, {.dtype = f64});
  const Tensor x2 = randn({1, 1, 3, 3}, {.dtype = f64});
  const Tensor j2 = fn::jacobian([&](const Tensor& t) { return conv2d(t, w2); }, x2);
  for (std::int64_t e = 0; e < 9; ++e) {
    Tensor one = zeros({9}, {.dtype = f64});
    one.narrow(0, e, 1).fill_(1.0);
    require_values(j2.reshape({8, 9}).select(1, e), values(conv2d(one.reshape({1, 1, 3, 3}), w2).reshape({8})), 1e-14);
  }
}

TEST_CASE("multi-input twins and create_graph", "[functional]") {
  manual_seed(5);
  const Tensor a = randn({3}, {.dtype = f64}), b = randn({3}, {.dtype = f64});
  const auto f = [](const std::vector<Tensor>& in) { return (in[0] * in[0] * in[1]).sum(); };
  // d/da = 2ab, d/db = a^2; H = [[2 diag(b), 2 diag(a)], [2 diag(a), 0]]
  const std::vector<Tensor> g = fn::vjp(f, {a, b}, scalar_tensor(1.0, {.dtype = f64}));
  require_values(g[0], values(a * b * 2.0));
  require_values(g[1], values(a * a));
  for (const bool forward_mode : {false, true}) {
    INFO("forward_mode " << forward_mode);
    const auto h = fn::hessian(f, {a, b}, {.forward_mode = forward_mode});
    require_values(h[0][0], values(diag(b * 2.0)), 1e-12);
    require_values(h[0][1], values(diag(a * 2.0)), 1e-12);
    require_values(h[1][0], values(diag(a * 2.0)), 1e-12);
    require_values(h[1][1], std::vector<double>(9, 0.0), 1e-12);
    const auto j = fn::jacobian([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b},
                                {.forward_mode = forward_mode});
    require_values(j[0], values(diag(b)), 1e-12);
    require_values(j[1], values(diag(a)), 1e-12);
  }
  const Tensor u = randn({3}, {.dtype = f64});
  require_values(fn::jvp(f, {a, b}, {u, Tensor()}), {(a * b * 2.0 * u).sum().item()}, 1e-12);
  const std::vector<Tensor> hv = fn::hvp(f, {a, b}, {u, u});
  require_values(hv[0], values((b * u + a * u) * 2.0), 1e-12);
  require_values(hv[1], values(a * u * 2.0), 1e-12);
  // create_graph: the result is differentiable in an input that requires grad.
  const Tensor x = f64_tensor({0.5, -1.0}, {2}, true);
  const Tensor gx = fn::vjp([](const Tensor& t) { return pow(t, 3.0).sum(); }, x, scalar_tensor(1.0, {.dtype = f64}),
                            {.create_graph = true});
  REQUIRE(gx.requires_grad());
  require_values(autograd::grad({gx.sum()}, {x})[0], {3.0, -6.0});
}

// ---- checkpointing ------------------------------------------------------------------

namespace {

std::shared_ptr<nn::Sequential> small_net(bool with_dropout) {
  manual_seed(7);
  auto net = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 4, Spatial{3}, Conv2dOptions{.padding = {1}}), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}),
      std::make_shared<nn::Conv2d>(4, 4, Spatial{3}), std::make_shared<nn::Tanh>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Dropout>(with_dropout ? 0.5 : 0.0), std::make_shared<nn::Linear>(16, 3)});
  return net;
}

std::vector<std::vector<float>> parameter_gradients(nn::Module& net) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : net.parameters()) out.push_back(p.grad().to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("checkpointed gradients equal plain ones bit for bit", "[checkpoint]") {
  auto net = small_net(false);
  manual_seed(8);
  const Tensor x = randn({2, 1, 8, 8}, {.requires_grad = true});
  net->forward(x).pow(2.0).sum().backward();
  const auto plain = parameter_gradients(*net);
  const std::vector<float> plain_x = x.grad().to_vector<float>();
  net->zero_grad();
  x.set_grad(Tensor());
  for (const std::size_t segments : {1, 2, 3, 8}) {
    INFO("segments " << segments);
    nn::checkpoint_sequential(*net, segments, x).pow(2.0).sum().backward();
    CHECK(parameter_gradients(*net) == plain);
    CHECK(x.grad().to_vector<float>() == plain_x);
    net->zero_grad();
    x.set_grad(Tensor());
  }
  // A segment whose input needs no gradient still gives its parameters theirs.
  const Tensor data = x.detach();
  const Tensor y = autograd::checkpoint([&](const std::vector<Tensor>& in) { return net->forward(in[0]); }, {data});
  REQUIRE(y.requires_grad());
  y.pow(2.0).sum().backward();
  CHECK(parameter_gradients(*net) == plain);
  XGRAD_REQUIRE_THROWS_WITH(nn::checkpoint_sequential(*net, 0, x), ValueError, "checkpoint_sequential", "segments");
}

TEST_CASE("checkpoint replays the random state: dropout draws the same mask", "[checkpoint]") {
  auto net = small_net(true);
  net->train();
  manual_seed(9);
  const Tensor x = randn({2, 1, 8, 8});
  manual_seed(10);
  const Tensor plain_out = net->forward(x);
  plain_out.sum().backward();
  const auto plain = parameter_gradients(*net);
  net->zero_grad();
  manual_seed(10);
  const Tensor out = nn::checkpoint_sequential(*net, 2, x);
  CHECK(out.to_vector<float>() == plain_out.to_vector<float>());
  out.sum().backward();
  CHECK(parameter_gradients(*net) == plain);
  // The backward's replay leaves the user's stream where the forward left it,
  // which is where a plain forward leaves it.
  manual_seed(10);
  (void)net->forward(x);
  const double next_plain = rand({1}).item();
  manual_seed(10);
  const Tensor again = nn::checkpoint_sequential(*net, 2, x);
  again.sum().backward();
  CHECK(rand({1}).item() == next_plain);
}

TEST_CASE("checkpoint is once differentiable and refuses a second derivative by name", "[checkpoint]") {
  const Tensor x = f64_tensor({0.5, 2.0}, {2}, true);
  const Tensor y = autograd::checkpoint([](const std::vector<Tensor>& in) { return pow(in[0], 3.0).sum(); }, {x});
  const Tensor g = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  require_values(g, {0.75, 12.0});
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({g.sum()}, {x}), AutogradError, "CheckpointBackward");
}

