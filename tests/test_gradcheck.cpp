// gradcheck itself: it passes right gradients, fails wrong ones and says where.

#include <chrono>

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

// ---- the checks beside first order (GradcheckOptions) -------------------------------

namespace {

// Each of these is right at first order but breaks one of the other checks.

// Adds noise to its gradient: two backwards disagree.
struct NoisyGradient : Function<NoisyGradient> {
  static Tensor forward(Context&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) {
    static Generator noise(5);
    double a = 0, b = 0;
    noise.normal_pair(a, b);
    return {grads[0] * 2.0 + a * 1e-9};
  }
};

// A gradient even for a zero grad output (special-casing it, as a backward that
// mishandles an undefined gradient would).
struct ConstantInGradient : Function<ConstantInGradient> {
  static Tensor forward(Context&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) {
    if (grads[0].abs().sum().item() == 0.0) return {ones_like(grads[0])};
    return {grads[0] * 2.0};
  }
};

// Reads its saved input's memory as if it were contiguous.
struct AssumesContiguous : Function<AssumesContiguous> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    const Tensor x = ctx.saved_tensors()[0];
    std::vector<double> v(static_cast<std::size_t>(x.numel()));
    const double* p = x.strided_data<double>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 2 * p[i];
    return {grads[0] * from_vector(v, x.shape())};
  }
};

// Writes only the first half of its gradient buffer.
struct HalfWritten : Function<HalfWritten> {
  static Tensor forward(Context&, const Tensor& x) { return x * 3.0; }
  static std::vector<Tensor> backward(Context&, const std::vector<Tensor>& grads) {
    const Tensor g = grads[0].contiguous();
    Tensor out = empty(g.shape(), {.dtype = g.dtype()});
    double* o = out.mutable_data<double>();
    const double* in = g.data<double>();
    for (std::int64_t i = 0; i < g.numel() / 2; ++i) o[i] = 3 * in[i];
    return {out};
  }
};

// Overwrites the input's .grad() instead of returning its gradient.
struct OverwritesGrad : Function<OverwritesGrad> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.saved_data["x"] = x;
    return x * 3.0;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    std::any_cast<Tensor>(ctx.saved_data.at("x")).set_grad(grads[0] * 3.0);
    return {zeros_like(grads[0])};
  }
};

// x^2 with a jvp that is off by a factor.
struct WrongJvp : Function<WrongJvp> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
    return {grads[0] * 2.0 * ctx.saved_tensors()[0]};
  }
  static std::vector<Tensor> jvp(Context& ctx, const std::vector<Tensor>& tangents) {
    return {tangents[0] * 2.1 * ctx.saved_tensors()[0]};
  }
};

template <class F>
GradcheckReport check_op(const Tensor& x, GradcheckOptions options = {}) {
  return gradcheck([](const std::vector<Tensor>& in) { return F::apply(in[0]); }, {x}, options);
}

}  // namespace

TEST_CASE("each check names itself when it fails", "[gradcheck][options]") {
  manual_seed(6);
  const Tensor x = leaf({2, 3});
  auto expect = [](const GradcheckReport& r, const std::string& check) {
    INFO(r.message);
    CHECK_FALSE(r.ok);
    CHECK(r.failed_check == check);
    CHECK(r.message.find("(" + check + ")") != std::string::npos);
  };
  expect(check_op<NoisyGradient>(x), "repeatability");
  CHECK(check_op<NoisyGradient>(x, {.nondet_tol = 1e-6}).ok);
  expect(check_op<ConstantInGradient>(x), "undefined grad");
  CHECK(check_op<ConstantInGradient>(x, {.check_undefined_grad = false}).ok);
  expect(check_op<AssumesContiguous>(x), "non-contiguous");
  CHECK(check_op<AssumesContiguous>(x, {.check_noncontiguous = false}).ok);
  expect(check_op<HalfWritten>(x), "unassigned gradient");
  expect(check_op<OverwritesGrad>(x), "accumulation");
  expect(check_op<WrongJvp>(x, {.check_forward_ad = true}), "forward mode");
  CHECK(check_op<WrongJvp>(x).ok);  // its backward is right
  expect(gradcheck([](const std::vector<Tensor>& in) { return WrongAtIndexThree::apply(in[0]); },
                   {from_vector(std::vector<double>{0.5, -1, 1.5, 2, -0.25, 3}, {2, 3}, {.requires_grad = true})}),
         "first order");
}

TEST_CASE("check_forward_ad passes the built-in ops", "[gradcheck][options][forward]") {
  manual_seed(7);
  const GradcheckOptions options{.check_forward_ad = true};
  require_gradcheck([](const std::vector<Tensor>& in) { return gelu(in[0]) * tanh(in[1]).sum(); },
                    {leaf({2, 3}), leaf({3})}, options);
  require_gradcheck(
      [](const std::vector<Tensor>& in) { return max_pool2d(conv2d(in[0], in[1], {}, {.padding = {1}}), {.kernel = {2}}); },
      {leaf({1, 2, 4, 4}), leaf({3, 2, 3, 3})}, options);
}

TEST_CASE("fast mode agrees with the full check", "[gradcheck][options][fast]") {
  manual_seed(8);
  const std::vector<std::pair<std::string, GradcheckFunction>> fns{
      {"tanh mul", [](const std::vector<Tensor>& in) { return (in[0] * in[1]).tanh(); }},
      {"conv", [](const std::vector<Tensor>& in) { return conv2d(in[0].reshape({1, 1, 3, 2}), in[1].reshape({1, 1, 2, 1})); }},
      {"softmax", [](const std::vector<Tensor>& in) { return softmax(in[0] * in[1], 1); }},
      {"wrong at index three", [](const std::vector<Tensor>& in) { return WrongAtIndexThree::apply(in[0]) * in[1]; }},
      {"half gradient", [](const std::vector<Tensor>& in) { return HalfGradient::apply(in[0]) * in[1]; }},
  };
  for (const auto& [name, f] : fns) {
    INFO(name);
    const std::vector<Tensor> inputs{leaf({3, 2}), leaf({2})};
    const GradcheckReport full = gradcheck(f, inputs);
    const GradcheckReport fast = gradcheck(f, inputs, {.fast_mode = true});
    INFO(full.message);
    INFO(fast.message);
    CHECK(full.ok == fast.ok);
    CHECK(fast.checked_elements == 2);  // one projection per input
    if (!fast.ok) CHECK(fast.failed_check == "fast mode");
  }
}

// The figure quoted in docs/autograd.md: full and fast mode on a conv layer with
// 10^4 inputs. Hidden (run by hand: test_gradcheck "[.fast-timing]").
TEST_CASE("fast mode timing on a conv layer", "[.fast-timing]") {
  manual_seed(9);
  const Tensor x = leaf({1, 4, 50, 50}), w = randn({4, 4, 3, 3}, {.dtype = f64});
  const GradcheckFunction f = [&](const std::vector<Tensor>& in) { return conv2d(in[0], w, {}, {.padding = {1}}); };
  const auto time = [&](GradcheckOptions options) {
    const auto start = std::chrono::steady_clock::now();
    const GradcheckReport r = gradcheck(f, {x}, options);
    CHECK(r.ok);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double fast = time({.fast_mode = true}), full = time({});
  WARN("conv2d with " << x.numel() << " inputs: full " << full << " s, fast " << fast << " s, ratio " << full / fast);
}
