// gradcheck itself: it passes right gradients, fails wrong ones and says where.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using autograd::Context;

namespace {

// Correct forward (x^2) with a backward that is wrong for one element only.
struct WrongAtIndexThree : Function<WrongAtIndexThree> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    Tensor g = grads[0] * ctx.saved_tensors()[0] * 2.0;
    Tensor bump = zeros_like(g);
    bump.mutable_data<double>()[3] = 0.5;
    return {g + bump};
  }
};

// Off by a constant factor everywhere.
struct HalfGradient : Function<HalfGradient> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx.save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    return {grads[0] * ctx.saved_tensors()[0] * 0.5};  // exp' = exp, halved
  }
};

}  // namespace

TEST_CASE("gradcheck passes a correct gradient and reports its errors", "[gradcheck]") {
  manual_seed(4);
  Tensor a = leaf({3, 2});
  Tensor b = leaf({2});
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return (in[0] * in[1]).tanh(); }, {a, b});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.accumulates);
  CHECK(r.checked_elements == 8);
  CHECK(r.max_abs_error < 1e-7);
  CHECK(r.message.find("passed") != std::string::npos);
}

TEST_CASE("gradcheck fails a wrong backward and names the worst element", "[gradcheck]") {
  Tensor x = from_vector(std::vector<double>{0.5, -1, 1.5, 2, -0.25, 3}, {2, 3}, {.requires_grad = true});
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return WrongAtIndexThree::apply(in[0]); }, {x});
  INFO(r.message);
  CHECK_FALSE(r.ok);
  CHECK(r.worst_input == 0);
  CHECK(r.worst_index == 3);
  CHECK(r.worst_position == Shape{1, 0});
  CHECK(r.worst_analytic - r.worst_numeric == Approx(0.5).epsilon(1e-4));
  CHECK(r.message.find("FAILED") != std::string::npos);
  CHECK(r.message.find("element 3 at [1, 0]") != std::string::npos);

  const GradcheckReport h = gradcheck([](const std::vector<Tensor>& in) { return HalfGradient::apply(in[0]); },
                                      {leaf({4})});
  CHECK_FALSE(h.ok);
  CHECK(h.max_rel_error == Approx(0.5).epsilon(1e-3));
}

TEST_CASE("gradcheck proves that backward accumulates", "[gradcheck]") {
  Tensor x = leaf({3});
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[0]; }, {x});
  CHECK(r.accumulates);
  CHECK(r.ok);
}

TEST_CASE("gradcheck leaves inputs, gradients and the random stream as found", "[gradcheck]") {
  Tensor x = from_vector(std::vector<double>{1, 2}, {}, {.requires_grad = true});
  x.set_grad(full({2}, 7.0, {.dtype = f64}));
  manual_seed(9);
  const std::string state = default_generator().state();
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {x});
  CHECK(r.ok);
  CHECK(default_generator().state() == state);
  require_values(x, {1, 2});
  require_values(x.grad(), {7, 7});
}

TEST_CASE("gradcheck checks only inputs that require grad", "[gradcheck]") {
  Tensor x = leaf({2});
  Tensor c = randn({2}, {.dtype = f64});
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {x, c});
  CHECK(r.ok);
  CHECK(r.checked_elements == 2);
}

TEST_CASE("gradcheck refuses float32 unless tolerances are given", "[gradcheck][errors]") {
  Tensor x = randn({3}, {.requires_grad = true});
  auto fn = [](const std::vector<Tensor>& in) { return in[0] * 2.0; };
  XGRAD_REQUIRE_THROWS_WITH(gradcheck(fn, {x}), DTypeError, "float32", "atol", "rtol");
  const GradcheckReport r = gradcheck(fn, {x}, {.eps = 1e-2, .atol = 1e-2, .rtol = 1e-2});
  INFO(r.message);
  CHECK(r.ok);
  XGRAD_REQUIRE_THROWS_WITH(gradcheck(fn, {randn({2}, {.dtype = f64})}), ValueError, "no input requires grad");
  Tensor nonleaf = leaf({2}) * 2.0;
  XGRAD_REQUIRE_THROWS_WITH(gradcheck(fn, {nonleaf}), ValueError, "not a leaf");
}
