// Forward mode: dual levels, make_dual / unpack_dual, jvps of the built-in ops
// against central differences of the op along the tangent, custom Functions
// with and without jvp, and tangents that are differentiable in reverse mode.

#include <functional>
#include <string>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using autograd::Context;
namespace fwd = xgrad::autograd::forward_ad;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// (f(x + eps u) - f(x - eps u)) / (2 eps), all inputs moved along their tangents.
Tensor numeric_jvp(const Fn& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& us, double eps = 1e-6) {
  NoGradGuard no_grad;
  std::vector<Tensor> plus, minus;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    plus.push_back(us[i].defined() ? xs[i] + us[i] * eps : xs[i]);
    minus.push_back(us[i].defined() ? xs[i] - us[i] * eps : xs[i]);
  }
  return (f(plus) - f(minus)) / (2 * eps);
}

// The tangent of f at xs along us (undefined entries carry none).
Tensor forward_jvp(const Fn& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& us) {
  fwd::DualLevel level;
  std::vector<Tensor> duals;
  for (std::size_t i = 0; i < xs.size(); ++i) duals.push_back(us[i].defined() ? fwd::make_dual(xs[i], us[i]) : xs[i]);
  const fwd::UnpackedDual out = fwd::unpack_dual(f(duals));
  REQUIRE(out.tangent.defined());
  return out.tangent;
}

void require_jvp(const Fn& f, const std::vector<Tensor>& xs) {
  std::vector<Tensor> us;
  for (const Tensor& x : xs) us.push_back(randn(x.shape(), {.dtype = x.dtype()}));
  const Tensor analytic = forward_jvp(f, xs, us);
  const Tensor numeric = numeric_jvp(f, xs, us);
  REQUIRE(analytic.shape() == numeric.shape());
  require_values(analytic, values(numeric), 1e-6);
}

// require_jvp naming the line of the failing case.
#define XGRAD_REQUIRE_JVP(...)   \
  do {                           \
    INFO("line " << __LINE__);   \
    require_jvp(__VA_ARGS__);    \
  } while (false)

Tensor away_from_zero(const Shape& shape) {
  const Tensor x = randn(shape, {.dtype = f64});
  return x + (abs(x) / x) * 0.2;
}

// x^2 with a hand-written jvp, one that is wrong, and one without.
struct Square : Function<Square> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    return {grads[0] * 2.0 * ctx.saved_tensors()[0]};
  }
  static std::vector<Tensor> jvp(Context& ctx, const std::vector<Tensor>& tangents) {
    return {tangents[0] * 2.0 * ctx.saved_tensors()[0]};
  }
};

struct NoJvp : Function<NoJvp> {
  static Tensor forward(Context&, const Tensor& x) { return x * 3.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) { return {grads[0] * 3.0}; }
};

// a * x + y with a non-tensor argument: tangents come one per Tensor argument.
struct Axpy : Function<Axpy> {
  static Tensor forward(Context& ctx, double a, const Tensor& x, const Tensor& y) {
    ctx.saved_data["a"] = a;
    return x * a + y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const double a = std::any_cast<double>(ctx.saved_data.at("a"));
    return {Tensor(), grads[0] * a, grads[0]};
  }
  static std::vector<Tensor> jvp(Context& ctx, const std::vector<Tensor>& tangents) {
    REQUIRE(tangents.size() == 2);
    const double a = std::any_cast<double>(ctx.saved_data.at("a"));
    Tensor t = tangents[0].defined() ? tangents[0] * a : Tensor();
    if (tangents[1].defined()) t = t.defined() ? t + tangents[1] : tangents[1];
    return {t};
  }
};

}  // namespace

TEST_CASE("make_dual and unpack_dual", "[forward]") {
  const Tensor x = f64_tensor({1, 2, 3}), u = f64_tensor({0.5, -1, 2});
  {
    fwd::DualLevel level;
    const Tensor d = fwd::make_dual(x, u);
    const fwd::UnpackedDual unpacked = fwd::unpack_dual(d);
    require_values(unpacked.primal, {1, 2, 3});
    require_values(unpacked.tangent, {0.5, -1, 2});
    CHECK_FALSE(fwd::unpack_dual(unpacked.primal).tangent.defined());
    CHECK_FALSE(fwd::unpack_dual(x).tangent.defined());
    // y = x^2 + 3x: tangent (2x + 3) u
    require_values(fwd::unpack_dual(d * d + d * 3.0).tangent, {2.5, -7, 18});
    XGRAD_REQUIRE_THROWS_WITH(fwd::DualLevel(), AutogradError, "already active");
    XGRAD_REQUIRE_THROWS_WITH(fwd::make_dual(x, f64_tensor({1, 2})), ShapeError, "make_dual", "[2]", "[3]");
    XGRAD_REQUIRE_THROWS_WITH(fwd::make_dual(x, u.to(f32)), DTypeError, "make_dual");
  }
  XGRAD_REQUIRE_THROWS_WITH(fwd::make_dual(x, u), AutogradError, "no dual level");
  // A tangent from an ended level is gone.
  Tensor kept;
  {
    fwd::DualLevel level;
    kept = fwd::make_dual(x, u);
  }
  fwd::DualLevel again;
  CHECK_FALSE(fwd::unpack_dual(kept * 2.0).tangent.defined());
}

TEST_CASE("forward mode needs no reverse graph and works under NoGradGuard", "[forward]") {
  const Tensor x = f64_tensor({0.3, -0.4});
  fwd::DualLevel level;
  NoGradGuard no_grad;
  const Tensor y = exp(fwd::make_dual(x, ones_like(x)));
  CHECK_FALSE(y.requires_grad());
  require_values(fwd::unpack_dual(y).tangent, values(exp(x)));
}

TEST_CASE("jvps of element-wise ops, arithmetic and reductions match central differences", "[forward]") {
  manual_seed(1);
  const std::vector<std::pair<std::string, Fn>> cases{
      {"exp log sqrt", [](const std::vector<Tensor>& in) { return exp(in[0]) + log(abs(in[0]) + 1.0) * sqrt(abs(in[1]) + 0.5); }},
      {"pow", [](const std::vector<Tensor>& in) { return pow(abs(in[0]) + 0.5, in[1]) + pow(in[1], 3.0); }},
      {"div rdiv", [](const std::vector<Tensor>& in) { return in[0] / in[1] + 2.0 / in[1]; }},
      {"activations",
       [](const std::vector<Tensor>& in) {
         return relu(in[0]) + leaky_relu(in[1], 0.1) + sigmoid(in[0]) * tanh(in[1]) + gelu(in[0]) + gelu(in[1], "tanh");
       }},
      {"abs clamp", [](const std::vector<Tensor>& in) { return abs(in[0]) * clamp(in[1], -0.5, 0.5); }},
      {"broadcast", [](const std::vector<Tensor>& in) { return in[0] * in[1].sum(0, true) - in[1].mean(1, true); }},
      {"max min", [](const std::vector<Tensor>& in) { return in[0].amax(1) + in[1].amin(0).sum() + in[0].max(1).values * in[1].min(1).values; }},
      {"softmax", [](const std::vector<Tensor>& in) { return softmax(in[0], 1) + log_softmax(in[1], 0); }},
      {"matmul linear", [](const std::vector<Tensor>& in) { return matmul(in[0], in[1].t()) + linear(in[0], in[1]); }},
      {"views joins",
       [](const std::vector<Tensor>& in) {
         return cat({in[0].transpose(0, 1).reshape({-1}), in[1].slice(1, 0, 3, 2).flatten(), pad(in[0], {1, 1}).sum(1)}, 0);
       }},
  };
  const Tensor a = away_from_zero({3, 4}), b = away_from_zero({3, 4});
  for (const auto& [name, f] : cases) {
    INFO(name);
    require_jvp(f, {a, b});
  }
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 3, 1});
  require_jvp([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], labels); }, {a});
  require_jvp([&](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); }, {a, b});
}

TEST_CASE("jvps of convolutions, pooling, normalisation and interpolate match central differences", "[forward]") {
  manual_seed(2);
  const Tensor x = randn({2, 2, 5, 5}, {.dtype = f64}), w = randn({3, 2, 3, 3}, {.dtype = f64});
  const Tensor b = randn({3}, {.dtype = f64});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], {.stride = {2}, .padding = {1}}); },
              {x, w, b});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], {}, {.stride = {2}}); },
              {x, randn({2, 3, 2, 2}, {.dtype = f64})});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], {}, {.dilation = {2}, .groups = 2}); },
              {randn({1, 2, 7}, {.dtype = f64}), randn({2, 1, 3}, {.dtype = f64})});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return conv3d(in[0], in[1]); },
              {randn({1, 2, 3, 3, 3}, {.dtype = f64}), randn({2, 2, 2, 2, 2}, {.dtype = f64})});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return max_pool2d(in[0], {.kernel = {2}}); }, {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {.kernel = {3}, .stride = {2}, .padding = {1}}); },
              {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {2, 3}) + adaptive_max_pool2d(in[0], {2, 3}); },
              {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return global_avg_pool(in[0]); }, {x});
  const Tensor gamma = randn({2}, {.dtype = f64}), beta = randn({2}, {.dtype = f64});
  for (const bool training : {true, false})
    XGRAD_REQUIRE_JVP(
        [training](const std::vector<Tensor>& in) {
          return batch_norm(in[0], zeros({2}, {.dtype = f64}), ones({2}, {.dtype = f64}), in[1], in[2],
                            {.training = training});
        },
        {x, gamma, beta});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return local_response_norm(in[0], {.size = 2, .alpha = 0.5}); }, {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return group_norm(in[0], 1, in[1], in[2]); }, {x, gamma, beta});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return instance_norm(in[0], {}, {}, in[1], in[2]); },
                    {x, gamma, beta});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return layer_norm(in[0], {in[0].size(-1)}); }, {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return upsample_bilinear2d(in[0], {7, 4}) ; }, {x});
  XGRAD_REQUIRE_JVP([](const std::vector<Tensor>& in) { return upsample_nearest2d(in[0], {7, 4}); }, {x});
  XGRAD_REQUIRE_JVP(
      [](const std::vector<Tensor>& in) {
        Generator gen(3);
        return dropout(in[0], {.p = 0.5}, &gen);
      },
      {x});
}

TEST_CASE("custom Functions in forward mode", "[forward][function]") {
  const Tensor x = f64_tensor({1.5, -2}), y = f64_tensor({0.5, 4}), u = f64_tensor({1, 3});
  fwd::DualLevel level;
  require_values(fwd::unpack_dual(Square::apply(fwd::make_dual(x, u))).tangent, {3, -12});
  // One tangent per Tensor argument, undefined where an input carries none.
  require_values(fwd::unpack_dual(Axpy::apply(2.0, fwd::make_dual(x, u), y)).tangent, {2, 6});
  require_values(fwd::unpack_dual(Axpy::apply(2.0, x, fwd::make_dual(y, u))).tangent, {1, 3});
  XGRAD_REQUIRE_THROWS_WITH(NoJvp::apply(fwd::make_dual(x, u)), AutogradError, "NoJvp", "jvp");
  // Without a tangent, a Function without jvp is fine inside a level.
  require_values(NoJvp::apply(x), {4.5, -6});
}

TEST_CASE("tangents are differentiable in reverse mode (reverse over forward)", "[forward][higher]") {
  // f(x) = sum(x^3); its tangent along u is 3 x^2 . u, whose gradient in x is 6 x * u = H u.
  const Tensor x = f64_tensor({1, -2, 0.5}, {3}, true);
  const Tensor u = f64_tensor({2, 1, -4});
  Tensor tangent;
  {
    fwd::DualLevel level;
    tangent = fwd::unpack_dual(pow(fwd::make_dual(x, u), 3.0).sum()).tangent;
  }
  REQUIRE(tangent.requires_grad());
  require_values(tangent, {3 * 1 * 2 + 3 * 4 * 1 + 3 * 0.25 * -4});
  require_values(autograd::grad({tangent}, {x})[0], {12, -12, -12});
}

TEST_CASE("a gradient computed inside a dual level carries no tangent", "[forward]") {
  const Tensor x = f64_tensor({1, 2}, {2}, true);
  fwd::DualLevel level;
  const Tensor d = fwd::make_dual(x, f64_tensor({1, 1}));
  const Tensor g = autograd::grad({(d * d).sum()}, {x})[0];
  require_values(g, {2, 4});
  CHECK_FALSE(fwd::unpack_dual(g).tangent.defined());
}
