// Higher-order reverse mode: create_graph through the engine, GradOptions,
// saved tensors that keep their place in the graph, once-differentiable nodes,
// custom Functions under double backward, and gradgradcheck with its negative
// controls. The per-op second-order grids are in test_ops_gradgrad.cpp.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using autograd::Context;
using autograd::GradOptions;

namespace {

Tensor cube_sum(const Tensor& x) { return pow(x, 3.0).sum(); }

// swish(x) = x * sigmoid(x) whose backward recomputes s from the saved x: written
// with ops, it is differentiable again.
struct Swish : Function<Swish> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * sigmoid(x);
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const Tensor x = ctx.saved_tensors()[0];
    const Tensor s = sigmoid(x);
    return {grads[0] * (s + x * s * (1.0 - s))};
  }
};

// The same, but saving s computed in forward: s is a constant to the second
// derivative, which comes out wrong while the first is right (pytorch#58509).
struct SwishSavedSigmoid : Function<SwishSavedSigmoid> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor s = sigmoid(x);
    ctx.save_for_backward({x, s});
    return x * s;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const auto saved = ctx.saved_tensors();
    const Tensor& x = saved[0];
    const Tensor& s = saved[1];
    return {grads[0] * (s + x * s * (1.0 - s))};
  }
};

// exp(x) saving its own output: under create_graph the saved output comes back
// with this node as its grad_fn, so the second derivative is exp(x) again.
struct Exp : Function<Exp> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor y = exp(x);
    ctx.save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    return {grads[0] * ctx.saved_tensors()[0]};
  }
};

// A backward computed from raw values, declared once differentiable.
struct RawSquare : Function<RawSquare> {
  static constexpr bool once_differentiable = true;
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const Tensor x = ctx.saved_tensors()[0];
    std::vector<double> g = grads[0].to_vector<double>(), v = x.to_vector<double>();
    for (std::size_t i = 0; i < g.size(); ++i) g[i] *= 2 * v[i];
    return {from_vector(g, x.shape(), {.dtype = x.dtype()})};
  }
};

// Values and a non-differentiable second output (sign as a float tensor).
struct WithSign : Function<WithSign> {
  static std::vector<Tensor> forward(Context& ctx, const Tensor& x) {
    Tensor sign = abs(x) / x;
    ctx.mark_non_differentiable({sign});
    return {x * 2.0, sign};
  }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) {
    CHECK(grads[1].to_vector<double>() == std::vector<double>(static_cast<std::size_t>(grads[1].numel()), 0.0));
    return {grads[0] * 2.0};
  }
};

}  // namespace

TEST_CASE("create_graph makes gradients differentiable to any order", "[autograd][higher]") {
  const Tensor x = f64_tensor({-1.5, 0.5, 2.0}, {3}, true);
  const Tensor y = cube_sum(x);
  const Tensor g = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  REQUIRE(g.requires_grad());
  require_values(g, {3 * 2.25, 3 * 0.25, 3 * 4.0});  // 3 x^2
  const Tensor gg = autograd::grad({g.sum()}, {x}, {}, {.create_graph = true})[0];
  require_values(gg, {-9, 3, 12});  // 6 x
  const Tensor ggg = autograd::grad({gg.sum()}, {x})[0];
  require_values(ggg, {6, 6, 6});
  CHECK_FALSE(ggg.requires_grad());
  // create_graph implies retain_graph: the first graph can be walked again.
  require_values(autograd::grad({y}, {x})[0], {6.75, 0.75, 12});
}

TEST_CASE("saved outputs come back connected under create_graph", "[autograd][higher]") {
  // exp, sqrt, tanh, sigmoid, softmax and div save their outputs: d2/dx2 exp(x) = exp(x).
  const Tensor x = f64_tensor({0.3, -0.7}, {2}, true);
  const Tensor g = autograd::grad({exp(x).sum()}, {x}, {}, {.create_graph = true})[0];
  require_values(autograd::grad({g.sum()}, {x})[0], values(exp(x.detach())));
  // d2/dx2 sqrt(x) = -x^(-3/2) / 4
  const Tensor p = f64_tensor({0.5, 2.0}, {2}, true);
  const Tensor gs = autograd::grad({sqrt(p).sum()}, {p}, {}, {.create_graph = true})[0];
  require_values(autograd::grad({gs.sum()}, {p})[0], {-0.25 * std::pow(0.5, -1.5), -0.25 * std::pow(2.0, -1.5)});
}

TEST_CASE("Tensor::backward and autograd::backward take GradOptions", "[autograd][higher]") {
  const Tensor x = f64_tensor({1.0, -2.0}, {2}, true);
  const Tensor y = cube_sum(x);
  y.backward(Tensor(), {.create_graph = true});
  const Tensor gx = x.grad();
  REQUIRE(gx.requires_grad());
  require_values(gx, {3, 12});
  // Differentiate the accumulated gradient: sum(3 x^2) -> 6 x.
  require_values(autograd::grad({gx.sum()}, {x})[0], {6, -12});
  // The graph survived (create_graph retains it) and accumulates as usual.
  x.set_grad(Tensor());  // .grad() held a graph that saves x: drop it (as PyTorch warns, a cycle otherwise)
  autograd::backward({y}, {}, GradOptions{.retain_graph = true});
  require_values(x.grad(), {3, 12});
  CHECK_FALSE(x.grad().requires_grad());
  y.backward();
  require_values(x.grad(), {6, 24});
}

TEST_CASE("a Hessian-vector product by double backward", "[autograd][higher]") {
  // f(x) = sum(tanh(A x)); H v = Aᵀ diag(-2 tanh(Ax)(1 - tanh(Ax)^2)) A v
  manual_seed(3);
  const Tensor a = randn({4, 3}, {.dtype = f64});
  const Tensor x = leaf({3});
  const Tensor v = randn({3}, {.dtype = f64});
  const Tensor g = autograd::grad({tanh(matmul(a, x)).sum()}, {x}, {}, {.create_graph = true})[0];
  const Tensor hv = autograd::grad({(g * v).sum()}, {x})[0];
  const Tensor t = tanh(matmul(a, x.detach()));
  const Tensor expected = matmul(a.t(), -2.0 * t * (1.0 - t * t) * matmul(a, v));
  require_values(hv, values(expected), 1e-12);
}

TEST_CASE("a once-differentiable built-in refuses a second derivative by name", "[autograd][higher]") {
  // relu under a saliency rule (guided backprop) has a backward that is not the
  // derivative of anything: it is once differentiable.
  manual_seed(4);
  const Tensor x = leaf({2, 3});
  Tensor g;
  {
    saliency::ReluGradientGuard guided(saliency::ReluGradient::guided);
    g = autograd::grad({(relu(x) * x).sum()}, {x}, {}, {.create_graph = true})[0];
  }
  REQUIRE(g.requires_grad());
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({g.sum()}, {x}), AutogradError, "GuidedReluBackward", "not differentiable",
                            "second derivative");
}

TEST_CASE("custom Functions under double backward", "[autograd][higher][function]") {
  manual_seed(5);
  const Tensor x = leaf({2, 3});
  SECTION("a backward written with ops is twice differentiable") {
    require_gradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0]); }, {x});
    const GradcheckReport r = gradgradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0]); }, {x});
    INFO(r.message);
    CHECK(r.ok);
  }
  SECTION("a saved output is differentiable through its own node") {
    const GradcheckReport r = gradgradcheck([](const std::vector<Tensor>& in) { return Exp::apply(in[0]); }, {x});
    INFO(r.message);
    CHECK(r.ok);
  }
  SECTION("negative control: a right backward with a wrong double backward fails, naming the element") {
    require_gradcheck([](const std::vector<Tensor>& in) { return SwishSavedSigmoid::apply(in[0]); }, {x});
    const GradcheckReport r =
        gradgradcheck([](const std::vector<Tensor>& in) { return SwishSavedSigmoid::apply(in[0]); }, {x});
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(r.worst_input == 0);
    CHECK(r.worst_index >= 0);
    CHECK(r.message.find("gradgradcheck") != std::string::npos);
    CHECK(r.message.find("FAILED") != std::string::npos);
  }
  SECTION("once_differentiable raises a clear error naming the Function") {
    require_gradcheck([](const std::vector<Tensor>& in) { return RawSquare::apply(in[0]); }, {x});
    const Tensor g = autograd::grad({RawSquare::apply(x).sum()}, {x}, {}, {.create_graph = true})[0];
    XGRAD_REQUIRE_THROWS_WITH(autograd::grad({g.sum()}, {x}), AutogradError, "RawSquare", "once_differentiable");
    XGRAD_REQUIRE_THROWS_WITH(
        gradgradcheck([](const std::vector<Tensor>& in) { return RawSquare::apply(in[0]); }, {x}), AutogradError,
        "RawSquare");
  }
  SECTION("mark_non_differentiable cuts an output from the graph") {
    const std::vector<Tensor> out = WithSign::apply(x);
    CHECK(out[0].requires_grad());
    CHECK_FALSE(out[1].requires_grad());
    (out[0].sum() + out[1].sum()).backward();
    require_values(x.grad(), std::vector<double>(6, 2.0));
  }
}

TEST_CASE("gradgradcheck passes composite functions of several inputs", "[autograd][higher][gradcheck]") {
  manual_seed(6);
  const Tensor a = leaf({3, 4}), b = leaf({4, 2}), c = leaf({2});
  const GradcheckReport r = gradgradcheck(
      [](const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1]) + in[2]) * sigmoid(in[0].sum(1, true)); },
      {a, b, c});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked_elements == 12 + 8 + 2 + 6);  // the inputs and the grad output [3, 2]
  // An input that does not require grad is not checked, and need not be a leaf.
  const GradcheckReport partial = gradgradcheck(
      [](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {leaf({3}), f64_tensor({1, 2, 3})});
  INFO(partial.message);
  CHECK(partial.ok);
  XGRAD_REQUIRE_THROWS_WITH(gradgradcheck([](const std::vector<Tensor>& in) { return in[0]; }, {f64_tensor({1})}),
                            ValueError, "gradgradcheck", "no input requires grad");
}
