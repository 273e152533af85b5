// Element-wise ops: arithmetic with broadcasting and scalars, pow, math functions
// (exp, log, sqrt, abs, clamp), activations (relu, leaky_relu, sigmoid, tanh, gelu),
// sum_to and broadcast_shapes.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- input domains: map a randn sample into the region where an op is smooth ----

using Domain = std::function<double(double)>;

double anywhere(double v) { return v; }
// [0.5, inf): log, sqrt, fractional and negative powers, pow bases.
double positive(double v) { return 0.5 + std::abs(v); }
// |v| >= 0.5 with either sign: denominators.
double nonzero(double v) { return v >= 0 ? v + 0.5 : v - 0.5; }
// Moves v at least `gap` away from `kink`, keeping its side (gradcheck's eps is 1e-6).
Domain away_from(double kink, double gap = 0.1) {
  return [kink, gap](double v) { return v >= kink ? std::max(v, kink + gap) : std::min(v, kink - gap); };
}
Domain away_from_both(double lo, double hi) {
  return [lo, hi](double v) { return away_from(hi)(away_from(lo)(v)); };
}

// A contiguous float64 tensor of randn samples passed through `domain`.
Tensor sample(const Shape& shape, const Domain& domain, bool requires_grad) {
  Tensor t = randn(shape, {.dtype = f64});
  double* p = t.mutable_data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = domain(p[i]);
  t.requires_grad_(requires_grad);
  return t;
}

Tensor vec(const std::vector<double>& values, TensorOptions options = {.dtype = f64}) {
  return from_vector(values, {}, options);
}

// require_values with a relative tolerance: |got - want| <= rel * |want| + abs.
// (require_values's Approx keeps Catch's default relative epsilon of ~1.2e-5,
// too loose for references known to 16 digits.)
void require_close(const Tensor& t, const std::vector<double>& expected, double rel = 1e-15, double abs = 0) {
  const std::vector<double> got = values(t);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(got[i] == Approx(expected[i]).epsilon(rel).margin(abs));
  }
}

// ---- the ops under test -------------------------------------------------------

using UnaryFn = std::function<Tensor(const Tensor&)>;
using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;

struct UnaryCase {
  std::string name;
  UnaryFn op;
  Domain domain;
};

struct BinaryCase {
  std::string name;
  BinaryFn op;
  Domain domain_a;
  Domain domain_b;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"exp", [](const Tensor& x) { return xgrad::exp(x); }, anywhere},
      {"log", [](const Tensor& x) { return xgrad::log(x); }, positive},
      {"sqrt", [](const Tensor& x) { return xgrad::sqrt(x); }, positive},
      {"abs", [](const Tensor& x) { return xgrad::abs(x); }, away_from(0)},
      {"clamp min", [](const Tensor& x) { return xgrad::clamp(x, -0.3, std::nullopt); }, away_from(-0.3)},
      {"clamp max", [](const Tensor& x) { return xgrad::clamp(x, std::nullopt, 0.4); }, away_from(0.4)},
      {"clamp both", [](const Tensor& x) { return xgrad::clamp(x, -0.5, 0.7); }, away_from_both(-0.5, 0.7)},
      {"relu", [](const Tensor& x) { return xgrad::relu(x); }, away_from(0)},
      {"leaky_relu default", [](const Tensor& x) { return xgrad::leaky_relu(x); }, away_from(0)},
      {"leaky_relu 0.2", [](const Tensor& x) { return xgrad::leaky_relu(x, 0.2); }, away_from(0)},
      {"leaky_relu -1.5", [](const Tensor& x) { return xgrad::leaky_relu(x, -1.5); }, away_from(0)},
      {"sigmoid", [](const Tensor& x) { return xgrad::sigmoid(x); }, anywhere},
      {"tanh", [](const Tensor& x) { return xgrad::tanh(x); }, anywhere},
      {"gelu none", [](const Tensor& x) { return xgrad::gelu(x); }, anywhere},
      {"gelu tanh", [](const Tensor& x) { return xgrad::gelu(x, "tanh"); }, anywhere},
      {"neg", [](const Tensor& x) { return xgrad::neg(x); }, anywhere},
      {"unary minus", [](const Tensor& x) { return -x; }, anywhere},
      {"x + 2", [](const Tensor& x) { return x + 2.0; }, anywhere},
      {"2 + x", [](const Tensor& x) { return 2.0 + x; }, anywhere},
      {"x - 2", [](const Tensor& x) { return x - 2.0; }, anywhere},
      {"2 - x", [](const Tensor& x) { return 2.0 - x; }, anywhere},
      {"x * 3", [](const Tensor& x) { return x * 3.0; }, anywhere},
      {"3 * x", [](const Tensor& x) { return 3.0 * x; }, anywhere},
      {"x * 0", [](const Tensor& x) { return x * 0.0; }, anywhere},
      {"x / 3", [](const Tensor& x) { return x / 3.0; }, anywhere},
      {"3 / x", [](const Tensor& x) { return 3.0 / x; }, nonzero},
      {"add(x, -1.5)", [](const Tensor& x) { return xgrad::add(x, -1.5); }, anywhere},
      {"sub(x, 0.25)", [](const Tensor& x) { return xgrad::sub(x, 0.25); }, anywhere},
      {"mul(x, -2)", [](const Tensor& x) { return xgrad::mul(x, -2.0); }, anywhere},
      {"div(x, -4)", [](const Tensor& x) { return xgrad::div(x, -4.0); }, anywhere},
      {"rsub(x, 2)", [](const Tensor& x) { return xgrad::rsub(x, 2.0); }, anywhere},
      {"rdiv(x, -3)", [](const Tensor& x) { return xgrad::rdiv(x, -3.0); }, nonzero},
      {"pow 0", [](const Tensor& x) { return xgrad::pow(x, 0.0); }, positive},
      {"pow 1", [](const Tensor& x) { return xgrad::pow(x, 1.0); }, positive},
      {"pow 2", [](const Tensor& x) { return xgrad::pow(x, 2.0); }, positive},
      {"pow 0.5", [](const Tensor& x) { return xgrad::pow(x, 0.5); }, positive},
      {"pow -1.5", [](const Tensor& x) { return xgrad::pow(x, -1.5); }, positive},
      {"pow 3 mixed sign", [](const Tensor& x) { return xgrad::pow(x, 3.0); }, anywhere},
      {"pow 2 mixed sign", [](const Tensor& x) { return xgrad::pow(x, 2.0); }, anywhere},
  };
}

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return xgrad::add(a, b); }, anywhere, anywhere},
      {"sub", [](const Tensor& a, const Tensor& b) { return xgrad::sub(a, b); }, anywhere, anywhere},
      {"mul", [](const Tensor& a, const Tensor& b) { return xgrad::mul(a, b); }, anywhere, anywhere},
      {"div", [](const Tensor& a, const Tensor& b) { return xgrad::div(a, b); }, anywhere, nonzero},
      {"pow", [](const Tensor& a, const Tensor& b) { return xgrad::pow(a, b); }, positive, anywhere},
      {"a + b", [](const Tensor& a, const Tensor& b) { return a + b; }, anywhere, anywhere},
      {"a - b", [](const Tensor& a, const Tensor& b) { return a - b; }, anywhere, anywhere},
      {"a * b", [](const Tensor& a, const Tensor& b) { return a * b; }, anywhere, anywhere},
      {"a / b", [](const Tensor& a, const Tensor& b) { return a / b; }, anywhere, nonzero},
      {"a.pow(b)", [](const Tensor& a, const Tensor& b) { return a.pow(b); }, positive, anywhere},
  };
}

const std::vector<Shape> kShapes = {{}, {1}, {5}, {2, 3}, {3, 1, 4}, {2, 1, 3, 2}};

// Each pair is also checked in the other order (sub, div and pow are not symmetric).
const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{3, 1}, {4}}, {{2, 3}, {1, 3}}, {{2, 1, 3}, {4, 1}}, {{}, {2, 2}}, {{1}, {3}}};

enum class Needs { both, first, second };

void check_binary(const BinaryCase& c, const Shape& sa, const Shape& sb, Needs needs) {
  INFO(c.name << " " << shape_to_string(sa) << " with " << shape_to_string(sb) << ", grad for "
              << (needs == Needs::both ? "both" : needs == Needs::first ? "first only" : "second only"));
  const Tensor a = sample(sa, c.domain_a, needs != Needs::second);
  const Tensor b = sample(sb, c.domain_b, needs != Needs::first);
  require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
}

// Largest |got - want| / |want| (|want| floored at `floor`).
double max_relative_error(const std::vector<double>& got, const std::vector<double>& want, double floor = 1e-300) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(std::abs(want[i]), floor));
  return worst;
}

// The gradient of sum(fn(x)) at the given f64 values.
Tensor grad_of_sum(const UnaryFn& fn, const std::vector<double>& at) {
  Tensor x = vec(at, {.dtype = f64, .requires_grad = true});
  fn(x).sum().backward();
  return x.grad();
}

}  // namespace

// =============================================================================
// Gradient checks
// =============================================================================

TEST_CASE("unary ops pass gradcheck over a grid of shapes", "[elementwise][gradcheck]") {
  manual_seed(1);
  for (const UnaryCase& c : unary_cases())
    for (const Shape& shape : kShapes) {
      INFO(c.name << " on " << shape_to_string(shape));
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {sample(shape, c.domain, true)});
    }
}

TEST_CASE("tensor methods pass gradcheck", "[elementwise][gradcheck]") {
  manual_seed(2);
  const std::vector<UnaryCase> methods = {
      {"x.neg()", [](const Tensor& x) { return x.neg(); }, anywhere},
      {"x.exp()", [](const Tensor& x) { return x.exp(); }, anywhere},
      {"x.log()", [](const Tensor& x) { return x.log(); }, positive},
      {"x.sqrt()", [](const Tensor& x) { return x.sqrt(); }, positive},
      {"x.abs()", [](const Tensor& x) { return x.abs(); }, away_from(0)},
      {"x.pow(2.5)", [](const Tensor& x) { return x.pow(2.5); }, positive},
      {"x.clamp(-0.2, 0.3)", [](const Tensor& x) { return x.clamp(-0.2, 0.3); }, away_from_both(-0.2, 0.3)},
      {"x.relu()", [](const Tensor& x) { return x.relu(); }, away_from(0)},
      {"x.sigmoid()", [](const Tensor& x) { return x.sigmoid(); }, anywhere},
      {"x.tanh()", [](const Tensor& x) { return x.tanh(); }, anywhere},
  };
  for (const UnaryCase& c : methods) {
    INFO(c.name);
    require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {sample({2, 3}, c.domain, true)});
  }
}

TEST_CASE("unary ops pass gradcheck on non-contiguous inputs", "[elementwise][gradcheck][views]") {
  manual_seed(3);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    {
      INFO("transposed");
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].t()); },
                        {sample({3, 4}, c.domain, true)});
    }
    {
      INFO("sliced with offset 1 and step 2");
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].slice(1, 1, 6, 2)); },
                        {sample({3, 6}, c.domain, true)});
    }
    {
      INFO("expanded (stride 0)");
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].expand({3, 4})); },
                        {sample({3, 1}, c.domain, true)});
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].expand({2, 3, 4})); },
                        {sample({4}, c.domain, true)});
    }
    {
      INFO("a non-contiguous leaf (a transposed, offset view of its storage)");
      Tensor base = sample({5, 3}, c.domain, false);
      Tensor x = base.slice(0, 1, 5).t();  // [3, 4], strides [1, 3], offset 3
      REQUIRE_FALSE(x.is_contiguous());
      x.requires_grad_();
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
    }
  }
}

TEST_CASE("binary ops pass gradcheck on equal shapes", "[elementwise][gradcheck]") {
  manual_seed(4);
  for (const BinaryCase& c : binary_cases())
    for (const Shape& shape : kShapes)
      for (Needs needs : {Needs::both, Needs::first, Needs::second}) check_binary(c, shape, shape, needs);
}

TEST_CASE("binary ops pass gradcheck with broadcasting", "[elementwise][gradcheck][broadcast]") {
  manual_seed(5);
  for (const BinaryCase& c : binary_cases())
    for (const auto& [sa, sb] : kBroadcastPairs)
      for (Needs needs : {Needs::both, Needs::first, Needs::second}) {
        check_binary(c, sa, sb, needs);
        check_binary(c, sb, sa, needs);
      }
}

TEST_CASE("binary ops pass gradcheck on non-contiguous and expanded inputs", "[elementwise][gradcheck][views]") {
  manual_seed(6);
  for (const BinaryCase& c : binary_cases()) {
    INFO(c.name);
    // a: transposed [3, 4]; b: every other column of [3, 8], offset 1.
    require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].t(), in[1].slice(1, 1, 8, 2)); },
                      {sample({4, 3}, c.domain_a, true), sample({3, 8}, c.domain_b, true)});
    // An expanded operand broadcast again against a transposed one.
    require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].expand({3, 4}), in[1].t()); },
                      {sample({1, 4}, c.domain_a, true), sample({4, 3}, c.domain_b, true)});
  }
}

TEST_CASE("an input used twice gets both contributions", "[elementwise][gradcheck]") {
  manual_seed(7);
  const Tensor x = sample({2, 3}, nonzero, true);
  require_gradchecks([](const std::vector<Tensor>& in) { return in[0] + in[0]; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return in[0] - in[0]; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return in[0] * in[0]; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return in[0] / in[0]; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return in[0] * in[0].t().t(); }, {x});
  const Tensor p = sample({2, 3}, positive, true);
  require_gradchecks([](const std::vector<Tensor>& in) { return xgrad::pow(in[0], in[0]); }, {p});
  require_gradchecks([](const std::vector<Tensor>& in) { return xgrad::sigmoid(in[0]) * xgrad::tanh(in[0]); }, {x});

  Tensor y = vec({1, 2, 3}, {.dtype = f64, .requires_grad = true});
  (y * y + y).sum().backward();
  require_close(y.grad(), {3, 5, 7});  // 2y + 1
}

TEST_CASE("compositions of element-wise ops pass gradcheck", "[elementwise][gradcheck]") {
  manual_seed(8);
  const Tensor a = sample({3, 1}, anywhere, true);
  const Tensor b = sample({4}, positive, true);
  const Tensor c = sample({2, 1, 1}, anywhere, true);
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        const Tensor h = xgrad::tanh(in[0] * in[1] - in[2]);
        return xgrad::gelu(h, "tanh") + xgrad::log(in[1] + 1.0).sqrt() / (1.0 + xgrad::exp(in[0]));
      },
      {a, b, c});
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return xgrad::pow(xgrad::sigmoid(in[0]) + 0.5, in[1] * in[0]); }, {a, c});
}

TEST_CASE("sum_to passes gradcheck and inverts broadcasting", "[elementwise][gradcheck][broadcast]") {
  manual_seed(9);
  const std::vector<Shape> targets = {{2, 3, 4}, {3, 1}, {1, 4}, {4}, {}, {1}, {2, 1, 1}, {1, 3, 4}, {1, 1, 1}};
  for (const Shape& target : targets) {
    INFO("sum_to [2, 3, 4] -> " << shape_to_string(target));
    require_gradchecks([&](const std::vector<Tensor>& in) { return sum_to(in[0], target); }, {leaf({2, 3, 4})});
    CHECK(sum_to(ones({2, 3, 4}, {.dtype = f64}), target).shape() == target);
  }
  // A transposed (non-contiguous) input.
  require_gradchecks([](const std::vector<Tensor>& in) { return sum_to(in[0].t(), {1, 3}); }, {leaf({3, 4})});
}

// =============================================================================
// Forward values
// =============================================================================

TEST_CASE("arithmetic forward values", "[elementwise][values]") {
  const Tensor a = vec({1, -2, 4});
  const Tensor b = vec({2, 4, -8});
  require_close(a + b, {3, 2, -4});
  require_close(a - b, {-1, -6, 12});
  require_close(a * b, {2, -8, -32});
  require_close(a / b, {0.5, -0.5, -0.5});
  require_close(xgrad::add(a, b), {3, 2, -4});
  require_close(xgrad::sub(a, b), {-1, -6, 12});
  require_close(xgrad::mul(a, b), {2, -8, -32});
  require_close(xgrad::div(a, b), {0.5, -0.5, -0.5});

  require_close(a + 2.0, {3, 0, 6});
  require_close(2.0 + a, {3, 0, 6});
  require_close(a - 2.0, {-1, -4, 2});
  require_close(2.0 - a, {1, 4, -2});
  require_close(a * 3.0, {3, -6, 12});
  require_close(3.0 * a, {3, -6, 12});
  require_close(a / 2.0, {0.5, -1, 2});
  require_close(4.0 / a, {4, -2, 1});
  require_close(xgrad::rsub(a, 2.0), {1, 4, -2});
  require_close(xgrad::rdiv(a, 4.0), {4, -2, 1});
  require_close(xgrad::neg(a), {-1, 2, -4});
  require_close(-a, {-1, 2, -4});
  require_close(a.neg(), {-1, 2, -4});

  // Broadcasting: [2, 1] op [3] -> [2, 3].
  const Tensor col = vec({10, 20}).reshape({2, 1});
  const Tensor row = vec({1, 2, 3});
  require_close(col + row, {11, 12, 13, 21, 22, 23});
  require_close(col - row, {9, 8, 7, 19, 18, 17});
  require_close(row - col, {-9, -8, -7, -19, -18, -17});
  require_close(col * row, {10, 20, 30, 20, 40, 60});
  require_close(row / col, {0.1, 0.2, 0.3, 0.05, 0.1, 0.15});
  CHECK((scalar_tensor(2, {.dtype = f64}) * row).shape() == Shape{3});
  require_close(scalar_tensor(2, {.dtype = f64}) * row, {2, 4, 6});

  // Non-contiguous operands.
  const Tensor m = arange(6, {.dtype = f64}).reshape({2, 3});
  require_close(m.t() + m.t(), {0, 6, 2, 8, 4, 10});
  require_close(m.slice(1, 0, 3, 2) * 2.0, {0, 4, 6, 10});
  require_close(m.select(1, 1).expand({2, 2}) - m.slice(1, 1, 3), {0, 2, -3, -1});

  // IEEE special values go through.
  const Tensor z = vec({0, 1, -1});
  const auto q = values(z / vec({0, 0, 0}));
  CHECK(std::isnan(q[0]));
  CHECK(q[1] == kInf);
  CHECK(q[2] == -kInf);
  const auto r = values(1.0 / z);
  CHECK(r[0] == kInf);
  CHECK(r[1] == 1);
  CHECK(r[2] == -1);
}

TEST_CASE("scalar operands take the tensor's dtype", "[elementwise][values]") {
  const Tensor x = from_vector(std::vector<float>{1, 2});
  for (const Tensor& y : {x + 0.1, 0.1 + x, x - 0.1, 0.1 - x, x * 0.1, 0.1 * x, x / 0.1, 0.1 / x, -x, x.pow(2.0)})
    CHECK(y.dtype() == f32);
  CHECK((x + 0.1).to_vector<float>()[0] == 1.0f + 0.1f);
  CHECK((vec({1}) + 0.1).item() == 1.0 + 0.1);
}

TEST_CASE("scalar division is correctly rounded, as tensor division is", "[elementwise][values]") {
  // x / s must equal x / full(s) exactly (IEEE division), not x * (1 / s), which is
  // off by one ulp for many values (49 * (1 / 49) = 0.9999999999999999).
  const Tensor x = vec({49, 1, 3, 7, 10, 0.1, 1e300, 5e-324 * 7});
  for (double s : {49.0, 10.0, 3.0, 0.1, 7.0, 1e-310}) {
    INFO("divisor " << s);
    const std::vector<double> want = values(x / full_like(x, s));
    const std::vector<double> got = values(x / s);
    for (std::size_t i = 0; i < want.size(); ++i) {
      INFO("element " << i << ": " << values(x)[i]);
      CHECK(got[i] == want[i]);
    }
  }
  CHECK((vec({49}) / 49.0).item() == 1.0);
}

TEST_CASE("pow forward values", "[elementwise][values][pow]") {
  const Tensor x = vec({4, 0.25, 1, 9});
  require_close(xgrad::pow(x, 0.0), {1, 1, 1, 1});
  require_close(xgrad::pow(x, 1.0), {4, 0.25, 1, 9});
  require_close(xgrad::pow(x, 2.0), {16, 0.0625, 1, 81});
  require_close(xgrad::pow(x, 0.5), {2, 0.5, 1, 3});
  require_close(xgrad::pow(x, -1.5), {0.125, 8, 1, 1.0 / 27});
  require_close(xgrad::pow(vec({-2, -0.5, 0, 3}), 3.0), {-8, -0.125, 0, 27});
  require_close(xgrad::pow(vec({-2, 0, 5}), 0.0), {1, 1, 1});  // 0^0 = 1, as PyTorch
  CHECK(std::isnan(xgrad::pow(vec({-4}), 0.5).item()));

  // Tensor exponent with broadcasting: [2] ** [2, 1] -> [2, 2].
  const Tensor base = vec({2, 3});
  const Tensor e = vec({1, 2}).reshape({2, 1});
  require_close(xgrad::pow(base, e), {2, 3, 4, 9});
  require_close(base.pow(vec({0.5, -1})), {std::sqrt(2.0), 1.0 / 3});
  require_close(xgrad::pow(scalar_tensor(2, {.dtype = f64}), vec({0, 1, 10})), {1, 2, 1024});
}

TEST_CASE("exp, log, sqrt, abs forward values", "[elementwise][values]") {
  require_close(xgrad::exp(vec({0, 1, -1})), {1, std::exp(1.0), std::exp(-1.0)});
  require_close(xgrad::log(vec({1, std::exp(1.0), 0.5})), {0, 1, std::log(0.5)});
  require_close(xgrad::sqrt(vec({0, 4, 2.25})), {0, 2, 1.5});
  require_close(xgrad::abs(vec({-2, 0, 3.5})), {2, 0, 3.5});
  CHECK(xgrad::exp(vec({1000})).item() == kInf);
  CHECK(xgrad::exp(vec({-1000})).item() == 0);
  CHECK(xgrad::log(vec({0})).item() == -kInf);
  CHECK(std::isnan(xgrad::log(vec({-1})).item()));
  CHECK(std::isnan(xgrad::sqrt(vec({-1})).item()));
  CHECK(xgrad::abs(vec({-kInf})).item() == kInf);
}

TEST_CASE("clamp forward values", "[elementwise][values][clamp]") {
  const Tensor x = vec({-2, -0.5, 0, 0.5, 2});
  require_close(xgrad::clamp(x, -0.5, 0.5), {-0.5, -0.5, 0, 0.5, 0.5});
  require_close(xgrad::clamp(x, 0.0, std::nullopt), {0, 0, 0, 0.5, 2});
  require_close(xgrad::clamp(x, std::nullopt, -1.0), {-2, -1, -1, -1, -1});
  require_close(xgrad::clamp(x, 1.0, 1.0), {1, 1, 1, 1, 1});  // min == max is allowed
  require_close(x.clamp(-1.0, 1.0), {-1, -0.5, 0, 0.5, 1});
  const auto special = values(xgrad::clamp(vec({kNaN, -kInf, kInf}), -1.0, 1.0));
  CHECK(std::isnan(special[0]));  // NaN propagates, as PyTorch
  CHECK(special[1] == -1);
  CHECK(special[2] == 1);
}

TEST_CASE("relu and leaky_relu forward values", "[elementwise][values][activation]") {
  const Tensor x = vec({-2, 0, 3});
  require_close(xgrad::relu(x), {0, 0, 3});
  require_close(x.relu(), {0, 0, 3});
  require_close(xgrad::leaky_relu(x), {-0.02, 0, 3});
  require_close(xgrad::leaky_relu(x, 0.1), {-0.2, 0, 3});
  CHECK(xgrad::leaky_relu(vec({-2}), 0.1).item() == Approx(-0.2).epsilon(1e-15));
  require_close(xgrad::leaky_relu(x, 0.0), {0, 0, 3});
  require_close(xgrad::leaky_relu(x, -1.0), {2, 0, 3});
  CHECK(xgrad::relu(vec({kInf})).item() == kInf);
  CHECK(std::isnan(xgrad::relu(vec({kNaN})).item()));  // NaN propagates, as PyTorch
  CHECK(xgrad::leaky_relu(vec({-kInf}), 0.1).item() == -kInf);
}

TEST_CASE("relu of -inf is 0", "[elementwise][values][activation]") {
  // max(-inf, 0) = 0 (PyTorch: relu(-inf) = 0); 0 * -inf would be NaN.
  CHECK(xgrad::relu(vec({-kInf})).item() == 0.0);
  CHECK(xgrad::relu(from_vector(std::vector<float>{-std::numeric_limits<float>::infinity()})).item() == 0.0);
}

TEST_CASE("signed zeros follow IEEE and PyTorch", "[elementwise][values]") {
  // relu of a negative number is +0 (max(x, 0)), so 1 / relu(x) is +inf, not -inf.
  CHECK_FALSE(std::signbit(xgrad::relu(vec({-3})).item()));
  // -(+0) is -0, as torch.neg and IEEE negation.
  CHECK(std::signbit(xgrad::neg(vec({0})).item()));
  CHECK(std::signbit((-vec({0})).item()));
  // (-1) * 0 is -0.
  CHECK(std::signbit((vec({-1}) * 0.0).item()));
}

TEST_CASE("sigmoid and tanh forward values, finite for large inputs", "[elementwise][values][activation]") {
  require_close(xgrad::sigmoid(vec({0, 1, -1, 2.5})),
                 {0.5, 0.73105857863000488, 0.26894142136999512, 0.92414181997875645}, 1e-15);
  const auto far = values(xgrad::sigmoid(vec({40, -40, 800, -800, 1e308, -1e308})));
  CHECK(far[0] == 1.0);
  CHECK(far[1] == Approx(4.248354255291589e-18).epsilon(1e-14));
  CHECK(far[2] == 1.0);
  CHECK(far[3] == 0.0);
  CHECK(far[4] == 1.0);
  CHECK(far[5] == 0.0);
  const auto far32 = xgrad::sigmoid(from_vector(std::vector<float>{100, -100, 1e30f, -1e30f})).to_vector<double>();
  CHECK(far32[0] == 1.0);
  CHECK(far32[1] == Approx(3.720075976020836e-44).epsilon(0.05));  // subnormal in f32
  CHECK(far32[2] == 1.0);
  CHECK(far32[3] == 0.0);
  CHECK(std::isnan(xgrad::sigmoid(vec({kNaN})).item()));

  require_close(xgrad::tanh(vec({0, 0.5, -0.5})), {0, 0.46211715726000976, -0.46211715726000976}, 1e-15);
  require_close(xgrad::tanh(vec({30, -30, 800, -800})), {1, -1, 1, -1});
  require_close(xgrad::tanh(from_vector(std::vector<float>{1e30f, -1e30f})), {1, -1});
}

TEST_CASE("gelu forward values", "[elementwise][values][activation]") {
  // Reference values from mpmath (x * Phi(x), and the tanh form).
  const Tensor x = vec({1, -1, 0.5, -3, 3, 0});
  require_close(xgrad::gelu(x),
                 {0.8413447460685429, -0.15865525393145705, 0.34573123063700655, -0.0040496940948902836,
                  2.9959503059051097, 0},
                 1e-13);
  require_close(xgrad::gelu(x, "none"), values(xgrad::gelu(x)), 0);
  require_close(xgrad::gelu(x, "tanh"),
                 {0.8411919906082768, -0.1588080093917233, 0.34571400982514392, -0.0036373920817730188,
                  2.996362607918227, 0},
                 1e-13);
  CHECK(xgrad::gelu(vec({1})).item() == Approx(0.8413447460685429).epsilon(1e-15));
  CHECK(xgrad::gelu(vec({1}), "tanh").item() == Approx(0.8411919906082768).epsilon(1e-15));
  // Far from 0: gelu(x) -> x and -> 0, finite.
  for (const char* approximate : {"none", "tanh"}) {
    INFO(approximate);
    require_close(xgrad::gelu(vec({800, -800, 40}), approximate), {800, 0, 40});
    require_close(xgrad::gelu(from_vector(std::vector<float>{1e4f, -1e4f}), approximate), {1e4, 0});
  }
}

TEST_CASE("unary ops read strided and expanded inputs correctly", "[elementwise][values][views]") {
  const Tensor m = arange(6, {.dtype = f64}).reshape({2, 3});
  require_close(xgrad::neg(m.t()), {0, -3, -1, -4, -2, -5});
  require_close(xgrad::exp(m.slice(1, 1, 3, 2)), {std::exp(1.0), std::exp(4.0)});
  require_close(xgrad::sqrt(m.select(1, 2).unsqueeze(1).expand({2, 3})), {std::sqrt(2.0), std::sqrt(2.0),
                                                                           std::sqrt(2.0), std::sqrt(5.0),
                                                                           std::sqrt(5.0), std::sqrt(5.0)});
  require_close(xgrad::relu(m.t() - 2.0), {0, 1, 0, 2, 0, 3});
  require_close(xgrad::clamp(m.t(), 1.0, 4.0), {1, 3, 1, 4, 2, 4});
  const Tensor out = xgrad::sigmoid(m.t());
  CHECK(out.is_contiguous());
  CHECK(out.shape() == Shape{3, 2});
}

TEST_CASE("empty tensors go through element-wise ops and their backward", "[elementwise][values]") {
  Tensor a = zeros({0, 3}, {.dtype = f64, .requires_grad = true});
  Tensor b = ones({3}, {.dtype = f64, .requires_grad = true});
  const Tensor y = xgrad::tanh(a * b + 1.0);
  CHECK(y.shape() == Shape{0, 3});
  CHECK(xgrad::exp(zeros({2, 0})).shape() == Shape{2, 0});
  y.sum().backward();
  CHECK(a.grad().shape() == Shape{0, 3});
  require_close(b.grad(), {0, 0, 0});
}

TEST_CASE("float32 forward and backward agree with float64", "[elementwise][values][f32]") {
  manual_seed(10);
  // The f64 reference is computed from the f32-rounded inputs, so only the op's
  // own rounding counts. Arguments stay in [-2, 2] (or [0.5, 2.5]) where no op
  // cancels catastrophically.
  const auto moderate = [](const Domain& d) { return [d](double v) { return d(std::clamp(v, -2.0, 2.0)); }; };
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    const Tensor x32 = sample({64}, moderate(c.domain), false).to(f32);
    const Tensor x64 = x32.to(f64);
    const Tensor y32 = c.op(x32);
    CHECK(y32.dtype() == f32);
    CHECK(max_relative_error(values(y32), values(c.op(x64)), 1e-2) <= 1e-6);

    Tensor g32 = x32.detach().requires_grad_();
    Tensor g64 = x64.detach().requires_grad_();
    c.op(g32).sum().backward();
    c.op(g64).sum().backward();
    CHECK(g32.grad().dtype() == f32);
    CHECK(max_relative_error(values(g32.grad()), values(g64.grad()), 1e-2) <= 1e-5);
  }
  for (const BinaryCase& c : binary_cases()) {
    INFO(c.name);
    const Tensor a32 = sample({4, 1}, moderate(c.domain_a), false).to(f32);
    const Tensor b32 = sample({5}, moderate(c.domain_b), false).to(f32);
    const Tensor y32 = c.op(a32, b32);
    CHECK(y32.dtype() == f32);
    CHECK(max_relative_error(values(y32), values(c.op(a32.to(f64), b32.to(f64))), 1e-2) <= 1e-6);

    Tensor ga32 = a32.detach().requires_grad_(), gb32 = b32.detach().requires_grad_();
    Tensor ga64 = a32.to(f64).requires_grad_(), gb64 = b32.to(f64).requires_grad_();
    c.op(ga32, gb32).sum().backward();
    c.op(ga64, gb64).sum().backward();
    CHECK(ga32.grad().dtype() == f32);
    CHECK(gb32.grad().dtype() == f32);
    CHECK(max_relative_error(values(ga32.grad()), values(ga64.grad()), 1e-2) <= 1e-5);
    CHECK(max_relative_error(values(gb32.grad()), values(gb64.grad()), 1e-2) <= 1e-5);
  }
}

TEST_CASE("sum_to and broadcast_shapes values", "[elementwise][broadcast]") {
  const Tensor t = arange(24, {.dtype = f64}).reshape({2, 3, 4});
  require_close(sum_to(t, {3, 1}), {0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                     8 + 9 + 10 + 11 + 20 + 21 + 22 + 23});
  require_close(sum_to(t, {4}), {60, 66, 72, 78});
  require_close(sum_to(t, {}), {276});
  CHECK(sum_to(t, {}).shape().empty());
  require_close(sum_to(t, {2, 1, 1}), {66, 210});
  CHECK(sum_to(t, {2, 3, 4}).is_same(t));
  require_close(sum_to(zeros({0, 3}, {.dtype = f64}), {3}), {0, 0, 0});

  CHECK(broadcast_shapes("t", {3, 1}, {4}) == Shape{3, 4});
  CHECK(broadcast_shapes("t", {2, 1, 3}, {4, 1}) == Shape{2, 4, 3});
  CHECK(broadcast_shapes("t", {4, 1}, {2, 1, 3}) == Shape{2, 4, 3});
  CHECK(broadcast_shapes("t", {}, {}) == Shape{});
  CHECK(broadcast_shapes("t", {}, {2, 2}) == Shape{2, 2});
  CHECK(broadcast_shapes("t", {1}, {3}) == Shape{3});
  CHECK(broadcast_shapes("t", {0}, {1}) == Shape{0});
  CHECK(broadcast_shapes("t", {2, 3}, {2, 3}) == Shape{2, 3});
}

// =============================================================================
// Gradients at kinks, as PyTorch defines them, and broadcasting backward
// =============================================================================

TEST_CASE("gradients at kinks follow PyTorch", "[elementwise][kinks]") {
  const std::vector<double> at = {-1, 0, 2};
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::relu(x); }, at), {0, 0, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::relu(x); }, {-0.0}), {0});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::abs(x); }, at), {-1, 0, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::abs(x); }, {-0.0}), {0});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::leaky_relu(x, 0.1); }, at), {0.1, 0.1, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::leaky_relu(x); }, at), {0.01, 0.01, 1});

  // clamp: 1 inside [min, max], bounds included; 0 outside.
  const std::vector<double> around = {-1, -0.5, 0, 0.5, 1};
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::clamp(x, -0.5, 0.5); }, around), {0, 1, 1, 1, 0});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::clamp(x, -0.5, std::nullopt); }, around),
                 {0, 1, 1, 1, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::clamp(x, std::nullopt, 0.5); }, around),
                 {1, 1, 1, 1, 0});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::clamp(x, 0.5, 0.5); }, around), {0, 0, 0, 1, 0});

  // pow: x^0 has gradient 0 everywhere (also at 0); x^1 has gradient 1; x^2 is 0 at 0.
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::pow(x, 0.0); }, {-2, 0, 3}), {0, 0, 0});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::pow(x, 1.0); }, {-2, 0, 3}), {1, 1, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::pow(x, 2.0); }, {-2, 0, 3}), {-4, 0, 6});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::pow(x, 3.0); }, {-2, 0, 3}), {12, 0, 27});
  // sqrt'(0) = +inf, as PyTorch.
  CHECK(grad_of_sum([](const Tensor& x) { return xgrad::sqrt(x); }, {0}).item() == kInf);
}

TEST_CASE("clamp passes the gradient at float32 bounds that float32 cannot represent", "[elementwise][kinks][f32]") {
  // The bounds are compared in the tensor's dtype, as PyTorch does: a float32 value
  // equal to float(bound) is at the bound (forward leaves it unchanged), so it gets
  // gradient 1. 0.7f < 0.7 and 0.2f > 0.2 in double.
  Tensor lo = from_vector(std::vector<float>{0.7f}, {}, {.requires_grad = true});
  const Tensor out_lo = xgrad::clamp(lo, 0.7, std::nullopt);
  CHECK(out_lo.to_vector<float>()[0] == 0.7f);
  out_lo.sum().backward();
  CHECK(lo.grad().item() == 1.0);

  Tensor hi = from_vector(std::vector<float>{0.2f}, {}, {.requires_grad = true});
  const Tensor out_hi = xgrad::clamp(hi, std::nullopt, 0.2);
  CHECK(out_hi.to_vector<float>()[0] == 0.2f);
  out_hi.sum().backward();
  CHECK(hi.grad().item() == 1.0);
}

TEST_CASE("pow(tensor, tensor) with a zero exponent has zero base gradient, also at base 0", "[elementwise][kinks]") {
  // As pow(x, 0.0) and PyTorch: d(b^0)/db = 0 everywhere (0 * 0^-1 would be NaN).
  Tensor base = vec({0, 2}, {.dtype = f64, .requires_grad = true});
  const Tensor e = vec({0, 0});
  const Tensor y = xgrad::pow(base, e);
  require_close(y, {1, 1});
  y.sum().backward();
  require_close(base.grad(), {0, 0});
}

TEST_CASE("activations have finite gradients at large inputs", "[elementwise][kinks][activation]") {
  const std::vector<double> far = {-800, -40, 40, 800};
  const std::vector<std::pair<std::string, UnaryFn>> ops = {
      {"sigmoid", [](const Tensor& x) { return xgrad::sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return xgrad::tanh(x); }},
      {"gelu none", [](const Tensor& x) { return xgrad::gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return xgrad::gelu(x, "tanh"); }},
  };
  for (const auto& [name, op] : ops) {
    INFO(name);
    for (double g : values(grad_of_sum(op, far))) CHECK(std::isfinite(g));
  }
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::sigmoid(x); }, far), {0, 4.248354255291589e-18, 0, 0},
                 1e-14);
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::gelu(x); }, far), {0, 0, 1, 1});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::gelu(x, "tanh"); }, far), {0, 0, 1, 1});
  // Derivatives at moderate points (mpmath).
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::gelu(x); }, {1, -1, 0.5, -2}),
                 {1.0833154705876863, -0.083315470587686298, 0.86749512465616284, -0.085231801078196897}, 1e-13);
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::gelu(x, "tanh"); }, {1, -1, 0.5, -2}),
                 {1.0829640838457826, -0.082964083845782555, 0.86736990353464231, -0.086099256623618382}, 1e-13);
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::sigmoid(x); }, {0}), {0.25});
  require_close(grad_of_sum([](const Tensor& x) { return xgrad::tanh(x); }, {0}), {1});
}

TEST_CASE("broadcasting backward sums the gradient back to each input's shape", "[elementwise][broadcast]") {
  Tensor a = vec({1, 2, 3}, {.dtype = f64, .requires_grad = true});
  Tensor b = vec({10, 20, 30, 40}, {.dtype = f64, .requires_grad = true});
  Tensor a31 = a.detach().reshape({3, 1}).requires_grad_();

  SECTION("add") {
    const Tensor y = a31 + b;
    CHECK(y.shape() == Shape{3, 4});
    y.sum().backward();
    CHECK(a31.grad().shape() == Shape{3, 1});
    require_close(a31.grad(), {4, 4, 4});
    CHECK(b.grad().shape() == Shape{4});
    require_close(b.grad(), {3, 3, 3, 3});
  }
  SECTION("sub with an explicit cotangent") {
    const Tensor y = a31 - b;
    y.backward(arange(12, {.dtype = f64}).reshape({3, 4}));
    require_close(a31.grad(), {0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9 + 10 + 11});
    require_close(b.grad(), {-(0 + 4 + 8), -(1 + 5 + 9), -(2 + 6 + 10), -(3 + 7 + 11)});
  }
  SECTION("mul") {
    (a31 * b).sum().backward();
    require_close(a31.grad(), {100, 100, 100});  // sum of b
    require_close(b.grad(), {6, 6, 6, 6});       // sum of a
  }
  SECTION("div") {
    (a31 / b).sum().backward();
    const double inv = 1.0 / 10 + 1.0 / 20 + 1.0 / 30 + 1.0 / 40;
    require_close(a31.grad(), {inv, inv, inv});
    const double sa = 6;
    require_close(b.grad(), {-sa / 100, -sa / 400, -sa / 900, -sa / 1600});
  }
  SECTION("scalar-shaped operand") {
    Tensor s = scalar_tensor(2, {.dtype = f64, .requires_grad = true});
    (s * b).sum().backward();
    CHECK(s.grad().shape().empty());
    require_close(s.grad(), {100});
  }
  SECTION("only one input requires grad") {
    const Tensor c = vec({1, 2, 3, 4});
    (a31 * c).sum().backward();
    require_close(a31.grad(), {10, 10, 10});
    CHECK_FALSE(c.grad().defined());
  }
}

TEST_CASE("gradients accumulate over repeated backward calls", "[elementwise][autograd]") {
  Tensor x = vec({1, 2}, {.dtype = f64, .requires_grad = true});
  (x * 3.0).sum().backward();
  (x * 3.0).sum().backward();
  require_close(x.grad(), {6, 6});
  (x + 1.0).sum().backward();  // a pass-through gradient must not alias x.grad()
  require_close(x.grad(), {7, 7});
  Tensor g = vec({1, 1});
  (x + 0.0).backward(g);
  (x + 0.0).backward(g);
  require_close(g, {1, 1});  // the caller's cotangent is untouched
  require_close(x.grad(), {9, 9});
}

TEST_CASE("ops record nothing without grad, and name their nodes", "[elementwise][autograd]") {
  Tensor x = vec({1, 2}, {.dtype = f64, .requires_grad = true});
  {
    NoGradGuard no_grad;
    CHECK_FALSE(xgrad::exp(x).requires_grad());
    CHECK_FALSE((x * x).requires_grad());
    CHECK_FALSE((x + 1.0).requires_grad());
  }
  CHECK_FALSE(xgrad::exp(vec({1})).requires_grad());
  CHECK(xgrad::exp(x).grad_fn()->name() == "ExpBackward");
  CHECK((x * x).grad_fn()->name() == "MulBackward");
  CHECK((x + x).grad_fn()->name() == "AddBackward");
  CHECK(xgrad::relu(x).grad_fn()->name() == "ReluBackward");
  CHECK(xgrad::gelu(x, "tanh").grad_fn()->name() == "GeluTanhBackward");
  CHECK(xgrad::pow(x, x).grad_fn()->name() == "PowBackward");
}

TEST_CASE("modifying a saved input in place is caught at backward", "[elementwise][autograd]") {
  Tensor w = vec({1, 2}, {.dtype = f64, .requires_grad = true});
  Tensor a = vec({3, 4});
  const Tensor y = a * w;  // saves a
  a.mul_(2.0);
  XGRAD_REQUIRE_THROWS_WITH(y.sum().backward(), AutogradError, "MulBackward");
}

// =============================================================================
// Errors
// =============================================================================

TEST_CASE("dtype mismatches name the op and both dtypes", "[elementwise][errors]") {
  const Tensor a = zeros({2});
  const Tensor b = zeros({2}, {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH(a + b, DTypeError, "add", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(b - a, DTypeError, "sub", "f64", "f32");
  XGRAD_REQUIRE_THROWS_WITH(a * b, DTypeError, "mul", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(a / b, DTypeError, "div", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::pow(a, b), DTypeError, "pow", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(a + zeros({2}, {.dtype = i64}), DTypeError, "add", "f32", "i64");
}

TEST_CASE("shape mismatches name the op and both shapes", "[elementwise][errors]") {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({4});
  XGRAD_REQUIRE_THROWS_WITH(a + b, ShapeError, "add", "[2, 3]", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(a - b, ShapeError, "sub", "[2, 3]", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(b * a, ShapeError, "mul", "[4]", "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(a / b, ShapeError, "div", "[2, 3]", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::pow(a, b), ShapeError, "pow", "[2, 3]", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(zeros({2, 1, 3}) + zeros({4, 2}), ShapeError, "add", "[2, 1, 3]", "[4, 2]");
  XGRAD_REQUIRE_THROWS_WITH(broadcast_shapes("my_op", {3}, {0}), ShapeError, "my_op", "[3]", "[0]");
}

TEST_CASE("sum_to errors name sum_to and both shapes", "[elementwise][errors]") {
  const Tensor t = zeros({2, 3}, {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH(sum_to(t, {4, 3}), ShapeError, "sum_to", "[2, 3]", "[4, 3]");
  XGRAD_REQUIRE_THROWS_WITH(sum_to(t, {3, 2}), ShapeError, "sum_to", "[2, 3]", "[3, 2]");
  XGRAD_REQUIRE_THROWS_WITH(sum_to(t, {1, 2, 3}), ShapeError, "sum_to", "[2, 3]", "[1, 2, 3]");
}

TEST_CASE("sum_to refuses every shape the tensor was not broadcast from", "[elementwise][errors]") {
  // More dims than the tensor has (PyTorch's sum_to_size refuses these too).
  CHECK_THROWS_AS(sum_to(zeros({2, 3}), {1, 1, 1}), ShapeError);
  CHECK_THROWS_AS(sum_to(zeros({3}), {1, 3}), ShapeError);
  // The element counts match after summing the size-1 dim, but [3, 1, 2] is not a
  // broadcast source of [2, 2, 3]: a reshape would silently scramble the sums.
  CHECK_THROWS_AS(sum_to(zeros({2, 2, 3}), {3, 1, 2}), ShapeError);
}

TEST_CASE("bad arguments to gelu and clamp are refused", "[elementwise][errors]") {
  const Tensor x = zeros({2}, {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH(xgrad::gelu(x, "fast"), ValueError, "gelu", "\"fast\"", "none", "tanh");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::gelu(x, ""), ValueError, "gelu");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::gelu(x, "Tanh"), ValueError, "gelu", "Tanh");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::clamp(x, 0.75, 0.25), ValueError, "clamp", "0.75", "0.25");
  XGRAD_REQUIRE_THROWS_WITH(x.clamp(1.0, -1.0), ValueError, "clamp");
}

TEST_CASE("element-wise ops on i64 tensors throw DTypeError naming the op", "[elementwise][errors]") {
  const Tensor n = arange(3, {.dtype = i64});
  const std::vector<std::pair<std::string, std::function<Tensor()>>> calls = {
      {"exp", [&] { return xgrad::exp(n); }},
      {"log", [&] { return xgrad::log(n); }},
      {"sqrt", [&] { return xgrad::sqrt(n); }},
      {"abs", [&] { return xgrad::abs(n); }},
      {"clamp", [&] { return xgrad::clamp(n, 0.0, 1.0); }},
      {"relu", [&] { return xgrad::relu(n); }},
      {"leaky_relu", [&] { return xgrad::leaky_relu(n); }},
      {"sigmoid", [&] { return xgrad::sigmoid(n); }},
      {"tanh", [&] { return xgrad::tanh(n); }},
      {"gelu", [&] { return xgrad::gelu(n); }},
      {"gelu", [&] { return xgrad::gelu(n, "tanh"); }},
      {"neg", [&] { return -n; }},
      {"pow", [&] { return xgrad::pow(n, 2.0); }},
      {"pow", [&] { return xgrad::pow(n, n); }},
      {"add", [&] { return n + n; }},
      {"sub", [&] { return n - n; }},
      {"mul", [&] { return n * n; }},
      {"div", [&] { return n / n; }},
      {"add", [&] { return n + 1.0; }},
      {"sub", [&] { return n - 1.0; }},
      {"mul", [&] { return 2.0 * n; }},
      {"div", [&] { return n / 2.0; }},
      {"rsub", [&] { return 1.0 - n; }},
      {"rdiv", [&] { return 1.0 / n; }},
  };
  for (const auto& [op, call] : calls) {
    INFO(op);
    XGRAD_REQUIRE_THROWS_WITH(call(), DTypeError, op.c_str(), "i64");
  }
}

TEST_CASE("undefined tensors are refused with the op's name", "[elementwise][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(xgrad::exp(Tensor()), Error, "exp", "undefined");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::relu(Tensor()), Error, "relu", "undefined");
  XGRAD_REQUIRE_THROWS_WITH(Tensor() + zeros({1}), Error, "add", "undefined");
  XGRAD_REQUIRE_THROWS_WITH(zeros({1}) * Tensor(), Error, "mul", "undefined");
}


TEST_CASE("element-wise maps split over threads give the one-thread result", "[elementwise][threads]") {
  manual_seed(11);
  const Tensor x = randn({3, 301, 257});           // 232k elements: split over the outer dim
  const Tensor row = randn({257});                 // broadcast along the two outer dims
  const Tensor xt = randn({257, 301}).t();         // a transposed view: strided runs
  const Tensor flat = randn({300000});             // one run, split into pieces
  const auto results = [&] {
    return std::vector<Tensor>{exp(x), x * row, relu(x.select(0, 1) + xt), sqrt(abs(flat)), xt - 1.0};
  };
  const int threads = get_num_threads();
  set_num_threads(1);
  const std::vector<Tensor> one = results();
  set_num_threads(2);
  const std::vector<Tensor> two = results();
  set_num_threads(threads);
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i].to_vector<float>() == two[i].to_vector<float>());
}
