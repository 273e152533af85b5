// gather, scatter_add, index_select, where, masked_fill, sort, topk, cumsum
// (ops/indexing.hpp) and max / min along a dim, logsumexp, norm (ops/reduction.hpp):
// values from PyTorch 1.13 on hand-sized inputs, gradchecks (first order, forward
// mode, second order) in float64, and the errors. tests/reference/ compares the
// same ops with PyTorch on random inputs.

#include <cmath>
#include <limits>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

const double nan_value = std::numeric_limits<double>::quiet_NaN();

Tensor i64_tensor(std::vector<std::int64_t> v, Shape shape) { return from_vector(v, shape); }

// The 2x4 matrix of the PyTorch values below.
Tensor sample() { return f64_tensor({3, -1, 4, 1, -5, 9, 2, 6}, {2, 4}); }

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

}  // namespace

TEST_CASE("max and min along a dim return PyTorch's values and indices", "[indexing][max][min]") {
  const auto [values, indices] = sample().max(1);
  require_values(values, {4, 9});
  require_values(indices, {2, 1});
  const auto [low, where_low] = min(sample(), 0);
  require_values(low, {-5, -1, 2, 1});
  require_values(where_low, {1, 0, 1, 0});
  CHECK(max(sample(), -1, true).values.shape() == Shape{2, 1});
  CHECK(max(sample(), -1, true).indices.shape() == Shape{2, 1});
  const auto with_nan = max(f64_tensor({1, nan_value, -2, 5}), 0);  // NaN is the maximum, as PyTorch
  CHECK(std::isnan(with_nan.values.item()));
  CHECK(with_nan.indices.item() == 1);
  // Ties: the first index, and the gradient to it alone (amax splits it).
  Tensor tied = f64_tensor({2, 2, 1}, {3}, true);
  const auto first = max(tied, 0);
  CHECK(first.indices.item() == 0);
  first.values.backward();
  require_values(tied.grad(), {1, 0, 0});
  const auto scalar = max(scalar_tensor(3, {.dtype = f64}), 0);
  CHECK(scalar.values.item() == 3);
  CHECK(scalar.indices.shape().empty());
}

TEST_CASE("sort and topk order as PyTorch, NaN above every number", "[indexing][sort][topk]") {
  auto [up, up_at] = sort(sample(), {.dim = 1});
  require_values(up, {-1, 1, 3, 4, -5, 2, 6, 9});
  require_values(up_at, {1, 3, 0, 2, 0, 2, 3, 1});
  auto [down, down_at] = sort(sample(), {.dim = 1, .descending = true});
  require_values(down, {4, 3, 1, -1, 9, 6, 2, -5});
  require_values(down_at, {2, 0, 3, 1, 1, 3, 2, 0});
  auto [top, top_at] = topk(sample(), 2);
  require_values(top, {4, 3, 9, 6});
  require_values(top_at, {2, 0, 1, 3});
  auto [low, low_at] = topk(sample(), 1, {.dim = 0, .largest = false});
  require_values(low, {-5, -1, 2, 1});
  require_values(low_at, {1, 0, 1, 0});
  const Tensor n = f64_tensor({1, nan_value, -2, 5});
  require_values(sort(n).indices, {2, 0, 3, 1});
  require_values(sort(n, {.descending = true}).indices, {1, 3, 0, 2});
  require_values(topk(n, 2).indices, {1, 3});
  // Stable: equal values keep their order.
  require_values(sort(f64_tensor({2, 1, 2, 1})).indices, {1, 3, 0, 2});
  CHECK(topk(sample(), 0).values.shape() == Shape{2, 0});
  CHECK(sort(sample().t(), {.dim = 0}).values.shape() == Shape{4, 2});  // a strided input
}

TEST_CASE("gather, scatter_add and index_select give PyTorch's values", "[indexing][gather]") {
  require_values(gather(sample(), 1, i64_tensor({0, 0, 1, 0}, {2, 2})), {3, 3, 9, -5});
  const Tensor scattered = scatter_add(zeros({2, 4}, {.dtype = f64}), 1, i64_tensor({0, 0, 3, 1, 1, 1}, {2, 3}),
                                       f64_tensor({1, 2, 3, 4, 5, 6}, {2, 3}));
  require_values(scattered, {3, 0, 0, 3, 0, 15, 0, 0});
  require_values(index_select(sample(), 1, i64_tensor({3, 0, 3}, {3})), {1, 3, 1, 6, -5, 6});
  require_values(index_select(sample(), 0, i64_tensor({1}, {})), {-5, 9, 2, 6});
  // An index smaller than src: the elements of src outside it are not read.
  const Tensor partial = scatter_add(zeros({3}, {.dtype = f64}), 0, i64_tensor({2}, {1}), f64_tensor({5, 7}));
  require_values(partial, {0, 0, 5});
}

TEST_CASE("where, masked_fill and cumsum give PyTorch's values", "[indexing][where]") {
  const Tensor x = sample();
  const Tensor positive = from_vector(std::vector<std::int64_t>{1, 0, 1, 1, 0, 1, 1, 1}, {2, 4});
  require_values(where(positive, x, scalar_tensor(-1, {.dtype = f64})), {3, -1, 4, 1, -1, 9, 2, 6});
  require_values(masked_fill(x, f64_tensor({1, 0, 0, 1}), 7), {7, -1, 4, 7, 7, 9, 2, 7});
  require_values(cumsum(x, 1), {3, 2, 6, 7, -5, 4, 6, 12});
  require_values(cumsum(x, 0), {3, -1, 4, 1, -2, 8, 6, 7});
  // The branch not taken does not leak: an infinite b where the condition holds.
  Tensor a = f64_tensor({1, 2}, {2}, true);
  Tensor b = f64_tensor({INFINITY, 3}, {2}, true);
  where(f64_tensor({1, 0}), a, b).sum().backward();
  require_values(a.grad(), {1, 0});
  require_values(b.grad(), {0, 1});
}

TEST_CASE("logsumexp and norm give PyTorch's values", "[indexing][logsumexp][norm]") {
  require_values(logsumexp(sample(), 1), {4.353753801129, 9.049456401101}, 1e-10);
  require_values(logsumexp(f64_tensor({1000, 1000}), 0), {1000 + std::log(2.0)}, 1e-12);
  require_values(logsumexp(f64_tensor({-INFINITY, -INFINITY}), 0), {-INFINITY});
  require_values(norm(sample()), {13.152946437966}, 1e-10);
  require_values(norm(sample(), 3, 1), {4.530654896083, 10.253518522376}, 1e-10);
  require_values(norm(sample(), INFINITY, 1), {4, 9});
  require_values(norm(sample(), 0), {8});
  // Zero norm: gradient 0, not NaN (as PyTorch).
  Tensor z = zeros({3}, {.dtype = f64, .requires_grad = true});
  norm(z).backward();
  require_values(z.grad(), {0, 0, 0});
}

TEST_CASE("indexing ops pass gradcheck, forward mode and gradgradcheck", "[indexing][gradcheck]") {
  manual_seed(5);
  const Tensor x = leaf({3, 4});
  const Tensor index = i64_tensor({2, 0, 1, 1, 3, 3, 0, 2, 1}, {3, 3});
  require_gradchecks([&](const std::vector<Tensor>& in) { return gather(in[0], 1, index); }, {x});
  require_gradchecks([&](const std::vector<Tensor>& in) { return gather(in[0].t(), 0, index.t().contiguous()); }, {x});
  const Tensor src = leaf({3, 3});
  require_gradchecks([&](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, index, in[1]); }, {x, src});
  require_gradchecks(
      [&](const std::vector<Tensor>& in) { return index_select(in[0], 0, i64_tensor({2, 0, 2}, {3})); }, {x});
  const Tensor condition = from_vector(std::vector<std::int64_t>{1, 0, 0, 1}, {4});
  require_gradchecks([&](const std::vector<Tensor>& in) { return where(condition, in[0], in[1]); },
                     {x, leaf({3, 1})});
  require_gradchecks([&](const std::vector<Tensor>& in) { return masked_fill(in[0], condition, 2.5); }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return cumsum(in[0], 1); }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return cumsum(in[0], 0); }, {leaf({5})});
  require_gradchecks([](const std::vector<Tensor>& in) { return sort(in[0], {.dim = 0}).values; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return topk(in[0], 2, {.largest = false}).values; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return max(in[0], 1).values * min(in[0], 1).values; }, {x});
  require_gradchecks([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0, 1}); }, {leaf({2, 3, 2})});
  for (double p : {2.0, 1.0, 3.0, 1.5, static_cast<double>(INFINITY)}) {
    INFO("p = " << p);
    require_gradchecks([p](const std::vector<Tensor>& in) { return norm(in[0], p, 1, true); }, {x});
  }
}

TEST_CASE("indexing ops refuse bad input, naming the op and the values", "[indexing][errors]") {
  const Tensor x = sample();
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 1, i64_tensor({0, 4}, {2, 1})), ValueError, "gather", "index 4", "size 4");
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 1, i64_tensor({-1, 0}, {2, 1})), ValueError, "gather", "index -1");
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 1, i64_tensor({0, 0}, {2})), ShapeError, "gather", "rank 2", "[2]");
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 1, f64_tensor({0, 0}, {2, 1})), DTypeError, "gather", "i64", "f64");
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 1, i64_tensor({0, 0, 0}, {3, 1})), ShapeError, "gather", "[3, 1]");
  XGRAD_REQUIRE_THROWS_WITH(gather(x, 2, i64_tensor({0, 0}, {2, 1})), ValueError, "gather", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(scatter_add(x, 0, i64_tensor({0, 0}, {1, 2}), f64_tensor({1}, {1, 1})), ShapeError,
                            "scatter_add", "src");
  XGRAD_REQUIRE_THROWS_WITH(scatter_add(x, 0, i64_tensor({0}, {1, 1}), x.to(f32)), DTypeError, "scatter_add");
  XGRAD_REQUIRE_THROWS_WITH(index_select(x, 0, i64_tensor({2}, {1})), ValueError, "index_select", "index 2");
  XGRAD_REQUIRE_THROWS_WITH(index_select(x, 0, i64_tensor({0, 1}, {1, 2})), ShapeError, "index_select", "1-D");
  XGRAD_REQUIRE_THROWS_WITH(where(f64_tensor({1, 0, 1}), x, x), ShapeError, "where");
  XGRAD_REQUIRE_THROWS_WITH(where(f64_tensor({1}), x, x.to(f32)), DTypeError, "where");
  XGRAD_REQUIRE_THROWS_WITH(masked_fill(f64_tensor({1, 2}), f64_tensor({1, 0}, {2, 1}), 0), ShapeError,
                            "masked_fill", "[2, 1]");
  XGRAD_REQUIRE_THROWS_WITH(topk(x, 5), ValueError, "topk", "k = 5", "size 4");
  XGRAD_REQUIRE_THROWS_WITH(topk(x, -1), ValueError, "topk", "k = -1");
  XGRAD_REQUIRE_THROWS_WITH(sort(x, {.dim = 2}), ValueError, "sort", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(cumsum(x, -3), ValueError, "cumsum", "dim -3");
  XGRAD_REQUIRE_THROWS_WITH(norm(x, -2), ValueError, "norm", "-2");
  XGRAD_REQUIRE_THROWS_WITH(norm(arange(3, {.dtype = i64})), DTypeError, "norm");
  XGRAD_REQUIRE_THROWS_WITH(logsumexp(arange(3, {.dtype = i64}), 0), DTypeError, "logsumexp");
}
