// User-defined differentiable ops through autograd::Function<T>.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using autograd::Context;

namespace {

// swish(x) = x * sigmoid(x); swish' = s + x s (1 - s)
struct Swish : Function<Swish> {
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

// a * x + b * y with a non-tensor scale a kept in saved_data.
struct ScaledSum : Function<ScaledSum> {
  static Tensor forward(Context& ctx, const Tensor& x, double a, const Tensor& y) {
    ctx.saved_data["a"] = a;
    return x * a + y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const double a = std::any_cast<double>(ctx.saved_data.at("a"));
    return {ctx.needs_input_grad(0) ? grads[0] * a : Tensor(), Tensor(),
            ctx.needs_input_grad(2) ? grads[0] : Tensor()};
  }
};

// Two outputs: (x + y, x * y).
struct SumAndProduct : Function<SumAndProduct> {
  static std::vector<Tensor> forward(Context& ctx, const Tensor& x, const Tensor& y) {
    ctx.save_for_backward({x, y});
    return {x + y, x * y};
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const auto saved = ctx.saved_tensors();
    return {grads[0] + grads[1] * saved[1], grads[0] + grads[1] * saved[0]};
  }
};

struct Identity : Function<Identity> {
  static Tensor forward(Context&, const Tensor& x) { return x; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) { return {grads[0]}; }
};

struct WrongCount : Function<WrongCount> {
  static Tensor forward(Context&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) { return {grads[0], grads[0]}; }
};

struct WrongShape : Function<WrongShape> {
  static Tensor forward(Context&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) { return {grads[0].sum()}; }
};

}  // namespace

TEST_CASE("a custom Function records a node and passes gradcheck", "[function]") {
  manual_seed(1);
  Tensor x = leaf({2, 3});
  Tensor y = Swish::apply(x);
  CHECK(y.requires_grad());
  CHECK(y.grad_fn()->name().find("Swish") != std::string::npos);
  require_gradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0]); }, {x});
  // Composes with built-in ops on both sides.
  require_gradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0] * 2.0).exp(); }, {leaf({4})});
}

TEST_CASE("non-tensor arguments, saved_data and needs_input_grad", "[function]") {
  manual_seed(2);
  Tensor x = leaf({3});
  Tensor y = leaf({3});
  require_gradcheck([](const std::vector<Tensor>& in) { return ScaledSum::apply(in[0], 2.5, in[1]); }, {x, y});
  Tensor c = randn({3}, {.dtype = f64});  // needs no gradient
  ScaledSum::apply(x, 3.0, c).sum().backward();
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("a Function with several outputs", "[function]") {
  manual_seed(3);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto out = SumAndProduct::apply(in[0], in[1]);
        return out[0] * 3.0 + out[1];
      },
      {leaf({2, 2}), leaf({2, 2})});
  // Only one output used: the other gets zeros.
  require_gradcheck([](const std::vector<Tensor>& in) { return SumAndProduct::apply(in[0], in[1])[1]; },
                    {leaf({3}), leaf({3})});
}

TEST_CASE("a Function returning its input keeps the input a leaf", "[function]") {
  Tensor x = leaf({2});
  Tensor y = Identity::apply(x);
  CHECK_FALSE(y.is_same(x));
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  (y * 2.0).sum().backward();
  require_values(x.grad(), {2, 2});
}

TEST_CASE("without grad, a Function records nothing", "[function]") {
  Tensor x = leaf({2});
  NoGradGuard no_grad;
  CHECK(Swish::apply(x).grad_fn() == nullptr);
}

TEST_CASE("mistakes in a custom backward are reported clearly", "[function][errors]") {
  Tensor x = leaf({3});
  XGRAD_REQUIRE_THROWS_WITH(WrongCount::apply(x).sum().backward(), AutogradError, "WrongCount", "2 gradients",
                            "1 arguments");
  XGRAD_REQUIRE_THROWS_WITH(WrongShape::apply(x).sum().backward(), AutogradError, "WrongShape", "shape []",
                            "[3]");
  Tensor y = Swish::apply(x);
  y.backward(ones_like(y));
  XGRAD_REQUIRE_THROWS_WITH(y.backward(ones_like(y)), AutogradError, "Swish", "second time");
}
