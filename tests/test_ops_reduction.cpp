// Reductions: sum, mean, max, min (all elements or dims, keepdim), argmax, argmin.

#include <cmath>
#include <limits>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();


// 0, 1, ..., 5 as a [2, 3] f64 tensor.
Tensor counting() { return arange(6, {.dtype = f64}).reshape({2, 3}); }

struct ReduceCase {
  Shape shape;
  Dims dims;
};

// Shapes with odd sizes and size-1 dims, reduced over all, one, negative and several dims.
const std::vector<ReduceCase>& reduce_cases() {
  static const std::vector<ReduceCase> cases = {
      {{5}, {}},           {{5}, {0}},           {{5}, {-1}},        {{3, 4}, {}},    {{3, 4}, {0}},
      {{3, 4}, {1}},       {{3, 4}, {-1, -2}},   {{2, 3, 4}, {1}},   {{2, 3, 4}, {0, 2}},
      {{2, 3, 4}, {-1}},   {{1, 3, 1}, {0}},     {{1, 3, 1}, {1, 2}}, {{3, 1, 2}, {1}}, {{}, {}},
      {{}, {0}},           {{}, {-1}},
  };
  return cases;
}

using Reducer = Tensor (*)(const Tensor&, const Dims&, bool);

void check_reduction_gradients(Reducer reduce) {
  for (const ReduceCase& c : reduce_cases())
    for (bool keepdim : {false, true}) {
      INFO("shape " << shape_to_string(c.shape) << ", dims " << shape_to_string(c.dims.values) << ", keepdim "
                    << keepdim);
      require_gradchecks([&](const std::vector<Tensor>& in) { return reduce(in[0], c.dims, keepdim); },
                        {leaf(c.shape)});
    }
}

Tensor sum_of(const Tensor& x, const Dims& d, bool k) { return sum(x, d, k); }
Tensor mean_of(const Tensor& x, const Dims& d, bool k) { return mean(x, d, k); }
Tensor max_of(const Tensor& x, const Dims& d, bool k) { return amax(x, d, k); }
Tensor min_of(const Tensor& x, const Dims& d, bool k) { return amin(x, d, k); }

}  // namespace

// ---- sum and mean -------------------------------------------------------------

TEST_CASE("sum and mean give hand-computed values", "[reduction][sum][mean]") {
  const Tensor x = counting();  // [[0, 1, 2], [3, 4, 5]]
  CHECK(x.sum().shape().empty());
  CHECK(x.sum().item() == 15);
  require_values(x.sum(0), {3, 5, 7});
  require_values(x.sum(1), {3, 12});
  require_values(x.sum(-1), {3, 12});
  CHECK(x.sum(-1, true).shape() == Shape{2, 1});
  CHECK(x.sum(0, true).shape() == Shape{1, 3});
  CHECK(x.sum({0, 1}).shape().empty());
  CHECK(x.sum({0, 1}, true).shape() == Shape{1, 1});
  CHECK(x.sum({}, true).shape() == Shape{1, 1});
  CHECK(x.sum({1, 0}).item() == 15);
  CHECK(x.mean().item() == 2.5);
  require_values(x.mean(0), {1.5, 2.5, 3.5});
  require_values(x.mean(-1, true), {1, 4});
  CHECK(x.mean(-1, true).shape() == Shape{2, 1});

  const Tensor s = scalar_tensor(3, {.dtype = f64});
  CHECK(s.sum().item() == 3);
  CHECK(s.sum(0).shape().empty());
  CHECK(s.mean(-1, true).shape().empty());
  CHECK(s.mean().item() == 3);

  const Tensor cube = arange(24, {.dtype = f64}).reshape({2, 3, 4});
  require_values(cube.sum({0, 2}), {0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                    8 + 9 + 10 + 11 + 20 + 21 + 22 + 23});
  // A non-contiguous view reduces the same as its contiguous copy.
  require_values(cube.transpose(0, 2).sum(1), values(cube.transpose(0, 2).contiguous().sum(1)));
}

TEST_CASE("sum over a zero-size dim is 0, and mean over one throws", "[reduction][sum][mean][errors]") {
  const Tensor e = zeros({0, 3}, {.dtype = f64});
  require_values(e.sum(0), {0, 0, 0});
  CHECK(e.sum(1).shape() == Shape{0});
  CHECK(e.mean(1).shape() == Shape{0});
  XGRAD_REQUIRE_THROWS_WITH(e.mean(0), ValueError, "mean", "0 elements");
}

TEST_CASE("sum and mean in f32 agree with f64", "[reduction][sum][mean]") {
  manual_seed(11);
  const Tensor x = randn({3, 17, 5}, {.dtype = f64});
  const Tensor x32 = x.to(f32);
  require_values(x32.sum({0, 2}), values(x.sum({0, 2})), 1e-5);
  require_values(x32.mean(1), values(x.mean(1)), 1e-6);
  CHECK(x32.sum().dtype() == f32);
}

TEST_CASE("sum and mean gradients pass gradcheck", "[reduction][sum][mean][gradcheck]") {
  manual_seed(1);
  check_reduction_gradients(sum_of);
  check_reduction_gradients(mean_of);
}

TEST_CASE("sum and mean reject bad dims and integer tensors", "[reduction][errors]") {
  const Tensor x = counting();
  XGRAD_REQUIRE_THROWS_WITH(x.sum(2), ValueError, "sum", "dim 2", "out of range");
  XGRAD_REQUIRE_THROWS_WITH(x.mean(-3), ValueError, "mean", "dim -3");
  XGRAD_REQUIRE_THROWS_WITH(x.sum({1, -1}), ValueError, "sum", "more than once");
  XGRAD_REQUIRE_THROWS_WITH(arange(3, {.dtype = i64}).sum(), DTypeError, "sum", "i64");
  XGRAD_REQUIRE_THROWS_WITH(arange(3, {.dtype = i64}).mean(), DTypeError, "mean", "i64");
}

// ---- max and min --------------------------------------------------------------

TEST_CASE("max and min give hand-computed values", "[reduction][max][min]") {
  const Tensor x = f64_tensor({3, -1, 4, 1, -5, 9, 2, 6}, {2, 4});
  CHECK(x.max().item() == 9);
  CHECK(x.min().item() == -5);
  CHECK(x.max().shape().empty());
  require_values(x.amax(0), {3, 9, 4, 6});
  require_values(x.amin(1), {-1, -5});
  require_values(x.amax(-1), {4, 9});
  CHECK(x.amax(-1, true).shape() == Shape{2, 1});
  CHECK(x.amin(0, true).shape() == Shape{1, 4});
  CHECK(x.amax({0, 1}).item() == 9);
  CHECK(x.amin({}, true).shape() == Shape{1, 1});
  require_values(x.t().amax(0), {4, 9});  // a non-contiguous input
  CHECK(scalar_tensor(2, {.dtype = f64}).amax(0).item() == 2);
  CHECK(scalar_tensor(2, {.dtype = f64}).min().item() == 2);

  const Tensor cube = arange(24, {.dtype = f64}).reshape({2, 3, 4});
  require_values(cube.amax({0, 2}), {15, 19, 23});
  require_values(cube.amin({-1, 0}, true), {0, 4, 8});
  CHECK(cube.amin({-1, 0}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("max and min propagate NaN", "[reduction][max][min]") {
  const Tensor x = f64_tensor({1, nan_value, 3, 4, 5, 6}, {2, 3});
  CHECK(std::isnan(x.max().item()));
  CHECK(std::isnan(x.min().item()));
  const auto rows = values(x.amax(1));
  CHECK(std::isnan(rows[0]));
  CHECK(rows[1] == 6);
  const auto cols = values(x.amin(0));
  CHECK(cols[0] == 1);
  CHECK(std::isnan(cols[1]));
  CHECK(cols[2] == 3);

  // The gradient of a NaN result goes to the NaN it came from.
  Tensor v = f64_tensor({1, nan_value, 3}, {3}, true);
  v.max().backward();
  require_values(v.grad(), {0, 1, 0});
}

TEST_CASE("max and min in f32 agree with f64", "[reduction][max][min]") {
  manual_seed(12);
  const Tensor x = randn({4, 7, 3}, {.dtype = f64});
  require_values(x.to(f32).amax({0, 2}), values(x.amax({0, 2})), 1e-6);
  require_values(x.to(f32).amin(1, true), values(x.amin(1, true)), 1e-6);
  CHECK(x.to(f32).max().dtype() == f32);
}

TEST_CASE("max and min gradients pass gradcheck", "[reduction][max][min][gradcheck]") {
  manual_seed(2);  // randn values are distinct, so there are no ties
  check_reduction_gradients(max_of);
  check_reduction_gradients(min_of);
}

TEST_CASE("max and min split the gradient evenly among ties", "[reduction][max][min]") {
  Tensor x = f64_tensor({1, 3, 3, 2}, {4}, true);
  x.max().backward();
  require_values(x.grad(), {0, 0.5, 0.5, 0});

  Tensor m = f64_tensor({1, 1, 2, 0, 0, 0}, {2, 3}, true);
  // Row 0: max 2 at one place; row 1: three tied maxima. Upstream gradient [10, 30].
  m.amax(1).backward(f64_tensor({10, 30}, {2}));
  require_values(m.grad(), {0, 0, 10, 10, 10, 10});

  Tensor n = f64_tensor({1, 1, 2, 0, 0, 0}, {2, 3}, true);
  n.min().backward();  // the minimum 0 appears three times
  require_values(n.grad(), {0, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3});

  Tensor k = f64_tensor({5, 5, 1, 5}, {2, 2}, true);
  k.amin(0, true).backward(f64_tensor({4, 6}, {1, 2}));  // column 0: 5 vs 1; column 1: 5 vs 5 tie
  require_values(k.grad(), {0, 3, 4, 3});
}

TEST_CASE("max and min of a zero-size dim throw", "[reduction][max][min][errors]") {
  const Tensor e = zeros({0, 3}, {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH(e.max(), ValueError, "max", "zero-size", "[0, 3]");
  XGRAD_REQUIRE_THROWS_WITH(e.amin(0), ValueError, "min", "zero-size", "[0, 3]");
  CHECK(e.amax(1).shape() == Shape{0});  // nothing is reduced over an empty dim here
  XGRAD_REQUIRE_THROWS_WITH(counting().amax(2), ValueError, "max", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(arange(3, {.dtype = i64}).max(), DTypeError, "max", "i64");
}

// ---- argmax and argmin ----------------------------------------------------------

TEST_CASE("argmax and argmin give i64 positions of the first extreme", "[reduction][argmax]") {
  const Tensor x = f64_tensor({3, -1, 4, 4, -5, 9, 2, -5}, {2, 4});
  const Tensor rows = x.argmax(1);
  CHECK(rows.dtype() == i64);
  CHECK(rows.shape() == Shape{2});
  require_values(rows, {2, 1});  // row 0: 4 first at 2
  require_values(x.argmin(1), {1, 0});  // row 1: -5 first at 0
  require_values(x.argmax(0), {0, 1, 0, 0});
  require_values(x.argmin(-2), {1, 0, 1, 1});
  CHECK(x.argmax(-1, true).shape() == Shape{2, 1});
  require_values(x.argmax(-1, true), {2, 1});
  require_values(x.t().argmax(1), {0, 1, 0, 0});  // a non-contiguous input
  CHECK(scalar_tensor(7).argmax(0).item() == 0);
  CHECK(scalar_tensor(7).argmin(-1).shape().empty());

  // NaN counts as the extreme, as for max and min.
  require_values(f64_tensor({1, nan_value, 5, nan_value}).argmax(0), {1});
  require_values(f64_tensor({1, nan_value, -5}).argmin(0), {1});
  // f32 and i64 inputs work too.
  require_values(from_vector(std::vector<float>{2, 8, 8}).argmax(0), {1});
  require_values(from_vector(std::vector<std::int64_t>{4, -2, 7, -2}).argmin(0), {1});
}

TEST_CASE("argmax and argmin are not differentiable", "[reduction][argmax]") {
  Tensor x = f64_tensor({1, 2, 3}, {3}, true);
  const Tensor i = x.argmax(0);
  CHECK_FALSE(i.requires_grad());
  CHECK(i.grad_fn() == nullptr);
  CHECK_FALSE(x.argmin(0).requires_grad());
}

TEST_CASE("argmax and argmin reject zero-size and bad dims", "[reduction][argmax][errors]") {
  const Tensor e = zeros({2, 0});
  XGRAD_REQUIRE_THROWS_WITH(e.argmax(1), ValueError, "argmax", "zero-size", "[2, 0]");
  XGRAD_REQUIRE_THROWS_WITH(e.argmin(-1), ValueError, "argmin", "zero-size");
  CHECK(e.argmax(0).shape() == Shape{0});
  XGRAD_REQUIRE_THROWS_WITH(counting().argmax(2), ValueError, "argmax", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(counting().argmin(-3), ValueError, "argmin", "dim -3");
}
