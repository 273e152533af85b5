// View ops and cat/stack: values, gradients through single views and chains of
// views, and errors for bad dims and indices.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
Tensor grid() { return arange(12, {.dtype = f64}).reshape({3, 4}); }

Tensor no_grad_input(const Shape& shape) { return randn(shape, {.dtype = f64}); }

// gradcheck of `view` applied to one f64 leaf of `shape`.
template <class F>
void require_view_gradcheck(const Shape& shape, F view) {
  INFO("input shape " << shape_to_string(shape));
  require_gradchecks([view](const std::vector<Tensor>& in) { return view(in[0]); }, {leaf(shape)});
}

}  // namespace

// ---- values ------------------------------------------------------------------------

TEST_CASE("views show the base's elements in the right places", "[views]") {
  const Tensor x = grid();
  require_values(x.t(), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  require_values(x.permute({1, 0}), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  require_values(x.t().contiguous(), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  require_values(x.t().reshape({2, 6}), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(x.reshape({2, -1}).shape() == Shape{2, 6});
  CHECK(x.flatten().shape() == Shape{12});
  CHECK(x.view({4, 3}).shares_storage(x));

  require_values(x.slice(1, 0, 4, 3), {0, 3, 4, 7, 8, 11});   // x[:, ::3]
  require_values(x.slice(1, -3, 4, 2), {1, 3, 5, 7, 9, 11});  // x[:, -3::2]
  require_values(x.slice(0, -2, 100), {4, 5, 6, 7, 8, 9, 10, 11});
  require_values(x.slice(1, 1, -1), {1, 2, 5, 6, 9, 10});  // x[:, 1:-1]
  CHECK(x.slice(1, 3, 1).shape() == Shape{3, 0});          // empty, not an error
  require_values(x.narrow(1, -2, 2), {2, 3, 6, 7, 10, 11});
  require_values(x.select(1, -1), {3, 7, 11});
  require_values(x.select(0, -3), {0, 1, 2, 3});
  CHECK(x.select(0, 1).select(0, 2).shape().empty());

  require_values(x.select(0, 1).unsqueeze(1).expand({4, 3}), {4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7});
  require_values(x.narrow(0, 0, 1).expand({2, -1}), {0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(x.unsqueeze(0).unsqueeze(-1).shape() == Shape{1, 3, 4, 1});
  CHECK(x.unsqueeze(0).unsqueeze(-1).squeeze().shape() == Shape{3, 4});
  CHECK(x.unsqueeze(1).squeeze(-2).shape() == Shape{3, 4});
  CHECK(x.squeeze(0).shape() == Shape{3, 4});  // size 3: unchanged
}

TEST_CASE("chains of views compose", "[views]") {
  const Tensor x = grid();
  // x.t() row-major is 0 4 8 1 5 9 2 6 10 3 7 11; as [6, 2] rows 1, 3, 5 are [8 1] [2 6] [7 11].
  require_values(x.t().reshape({6, 2}).slice(0, 1, 6, 2), {8, 1, 2, 6, 7, 11});
  require_values(x.permute({1, 0}).select(0, 2).slice(0, 0, 3, 2), {2, 10});
  require_values(x.slice(1, 1, 4, 2).t().flatten(), {1, 5, 9, 3, 7, 11});
  require_values(x.reshape({3, 2, 2}).transpose(0, 2).select(0, 1), {1, 5, 9, 3, 7, 11});

  // Writes through a chain land in the base.
  Tensor y = grid();
  y.t().slice(0, 1, 4, 2).select(1, 0).fill_(-1);  // y[0, 1::2]
  require_values(y.select(0, 0), {0, -1, 2, -1});
}

// ---- gradients through each view ------------------------------------------------------

TEST_CASE("reshape, view and flatten pass gradcheck", "[views][gradcheck]") {
  manual_seed(21);
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.reshape({4, -1}); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return reshape(x, {24}); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.transpose(0, 2).reshape({-1}); });  // copies
  require_view_gradcheck({1}, [](const Tensor& x) { return x.reshape({}); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.view({6, 4}); });
  require_view_gradcheck({2, 3}, [](const Tensor& x) { return view(x.t(), {3, 2, 1}); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.flatten(); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.flatten(1); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return flatten(x, 0, 1); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.flatten(-2, -1); });
}

TEST_CASE("transpose and permute pass gradcheck", "[views][gradcheck]") {
  manual_seed(22);
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.transpose(0, 2); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return transpose(x, -1, -2); });
  require_view_gradcheck({3, 2}, [](const Tensor& x) { return x.t(); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.permute({2, 0, 1}); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return permute(x, {-1, 0, 1}); });
}

TEST_CASE("squeeze, unsqueeze and expand pass gradcheck", "[views][gradcheck]") {
  manual_seed(23);
  require_view_gradcheck({1, 3, 1, 2}, [](const Tensor& x) { return x.squeeze(); });
  require_view_gradcheck({1, 3, 1, 2}, [](const Tensor& x) { return x.squeeze(2); });
  require_view_gradcheck({1, 3, 1, 2}, [](const Tensor& x) { return squeeze(x, -4); });
  require_view_gradcheck({1, 3, 1, 2}, [](const Tensor& x) { return x.squeeze(-1) * 1.0; });  // size 2: no-op
  require_view_gradcheck({3, 2}, [](const Tensor& x) { return x.unsqueeze(0); });
  require_view_gradcheck({3, 2}, [](const Tensor& x) { return unsqueeze(x, -1); });
  require_view_gradcheck({3, 2}, [](const Tensor& x) { return x.unsqueeze(1); });
  require_view_gradcheck({3, 1}, [](const Tensor& x) { return x.expand({2, 3, 4}); });
  require_view_gradcheck({1, 3}, [](const Tensor& x) { return expand(x, {5, -1}); });
  require_view_gradcheck({1}, [](const Tensor& x) { return x.expand({4}); });
}

TEST_CASE("narrow, slice, select and contiguous pass gradcheck", "[views][gradcheck]") {
  manual_seed(24);
  require_view_gradcheck({3, 5}, [](const Tensor& x) { return x.narrow(1, 1, 3); });
  require_view_gradcheck({3, 5}, [](const Tensor& x) { return narrow(x, 0, -2, 2); });
  require_view_gradcheck({3, 7}, [](const Tensor& x) { return x.slice(1, 0, 7, 2); });
  require_view_gradcheck({3, 7}, [](const Tensor& x) { return x.slice(-1, 1, 7, 3); });
  require_view_gradcheck({5, 2}, [](const Tensor& x) { return slice(x, 0, -4, 100, 2); });
  require_view_gradcheck({5, 2}, [](const Tensor& x) { return x.slice(0, 1, -1); });
  require_view_gradcheck({3, 4}, [](const Tensor& x) { return x.select(0, -1); });
  require_view_gradcheck({3, 4}, [](const Tensor& x) { return select(x, -1, -2); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) { return x.select(1, 1); });
  require_view_gradcheck({3, 4}, [](const Tensor& x) { return x.t().contiguous(); });
  require_view_gradcheck({3, 6}, [](const Tensor& x) { return contiguous(x.slice(1, 0, 6, 2)); });
}

TEST_CASE("gradients flow through chains of views", "[views][gradcheck]") {
  manual_seed(25);
  require_view_gradcheck({3, 4}, [](const Tensor& x) { return x.t().reshape({6, 2}).slice(0, 1, 6, 2); });
  require_view_gradcheck({2, 3, 4}, [](const Tensor& x) {
    return x.permute({2, 0, 1}).select(1, -1).unsqueeze(0).expand({2, -1, -1});
  });
  require_view_gradcheck({3, 4},
                         [](const Tensor& x) { return x.slice(1, 0, 4, 2).transpose(0, 1).flatten().narrow(0, 1, 3); });
  require_view_gradcheck({2, 3}, [](const Tensor& x) { return x.unsqueeze(1).expand({2, 4, 3}).reshape({8, 3}); });
  // Two views of one input: their gradients add up in the same leaf.
  require_view_gradcheck({2, 3, 3}, [](const Tensor& x) { return x.select(0, 0) * x.select(0, 1).t(); });
  require_view_gradcheck({4, 4}, [](const Tensor& x) { return x.slice(0, 0, 4, 2) + x.narrow(0, 1, 2); });
}

// ---- cat and stack -----------------------------------------------------------------

TEST_CASE("cat and stack join values along any dim", "[cat][stack]") {
  const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  const Tensor b = from_vector(std::vector<double>{5, 6}, {1, 2});
  const Tensor c = from_vector(std::vector<double>{7, 8}, {2, 1});

  Tensor rows = cat({a, b});
  CHECK(rows.shape() == Shape{3, 2});
  require_values(rows, {1, 2, 3, 4, 5, 6});
  require_values(cat({a, c}, 1), {1, 2, 7, 3, 4, 8});
  require_values(cat({c, a, c}, -1), {7, 1, 2, 7, 8, 3, 4, 8});
  require_values(cat({a.t(), b}, 0), {1, 3, 2, 4, 5, 6});  // strided input
  require_values(cat({zeros({2, 0}, {.dtype = f64}), a, zeros({2, 0}, {.dtype = f64})}, 1), {1, 2, 3, 4});
  CHECK(cat({zeros({0, 3}), zeros({0, 3})}).shape() == Shape{0, 3});

  Tensor ints = cat({arange(3, {.dtype = i64}), arange(2, {.dtype = i64})});
  CHECK(ints.dtype() == i64);
  CHECK(ints.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 0, 1});

  // cat copies: changing an input later leaves the result alone.
  Tensor copy = cat({a});
  CHECK_FALSE(copy.shares_storage(a));

  const Tensor u = from_vector(std::vector<double>{1, 2}), v = from_vector(std::vector<double>{3, 4});
  Tensor s0 = stack({u, v});
  CHECK(s0.shape() == Shape{2, 2});
  require_values(s0, {1, 2, 3, 4});
  Tensor s1 = stack({u, v}, 1);
  CHECK(s1.shape() == Shape{2, 2});
  require_values(s1, {1, 3, 2, 4});
  require_values(stack({u, v}, -1), {1, 3, 2, 4});
  Tensor s3 = stack({a, a * 2.0, a * 3.0}, -1);
  CHECK(s3.shape() == Shape{2, 2, 3});
  require_values(s3.select(0, 1).select(0, 0), {3, 6, 9});
  Tensor scalars = stack({scalar_tensor(1, {.dtype = f64}), scalar_tensor(2, {.dtype = f64})});
  CHECK(scalars.shape() == Shape{2});
  require_values(scalars, {1, 2});
}

TEST_CASE("cat passes gradcheck over dims 0, 1 and -1", "[cat][gradcheck]") {
  manual_seed(26);
  const auto cat_on = [](std::int64_t dim) { return [dim](const std::vector<Tensor>& in) { return cat(in, dim); }; };
  require_gradchecks(cat_on(0), {leaf({2, 3}), leaf({1, 3})});
  require_gradchecks(cat_on(0), {leaf({2, 3}), no_grad_input({1, 3}), leaf({3, 3})});
  require_gradchecks(cat_on(1), {leaf({2, 1}), leaf({2, 3})});
  require_gradchecks(cat_on(1), {no_grad_input({2, 2, 2}), leaf({2, 1, 2}), leaf({2, 3, 2})});
  require_gradchecks(cat_on(-1), {leaf({2, 2, 1}), no_grad_input({2, 2, 2}), leaf({2, 2, 3})});
  require_gradchecks(cat_on(-1), {leaf({3}), leaf({2})});
  require_gradchecks(cat_on(0), {leaf({2, 3}), leaf({0, 3})});  // zero-size pieces
  require_gradchecks(cat_on(1), {leaf({2, 0}), leaf({2, 3})});
  // The same input twice, and strided inputs.
  require_gradchecks([](const std::vector<Tensor>& in) { return cat({in[0], in[0] * 2.0}, 1); }, {leaf({2, 2})});
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return cat({in[0].t(), in[1].slice(0, 0, 4, 2)}, 0);
      },
      {leaf({3, 2}), leaf({4, 3})});
}

TEST_CASE("stack passes gradcheck over dims 0, 1 and -1", "[stack][gradcheck]") {
  manual_seed(27);
  const auto stack_on = [](std::int64_t dim) {
    return [dim](const std::vector<Tensor>& in) { return stack(in, dim); };
  };
  require_gradchecks(stack_on(0), {leaf({2, 3}), leaf({2, 3})});
  require_gradchecks(stack_on(1), {leaf({2, 3}), no_grad_input({2, 3}), leaf({2, 3})});
  require_gradchecks(stack_on(-1), {leaf({2, 3}), leaf({2, 3}), leaf({2, 3})});
  require_gradchecks(stack_on(2), {leaf({3, 1}), no_grad_input({3, 1})});
  require_gradchecks(stack_on(0), {leaf({}), leaf({})});
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return stack({in[0].select(0, 0), in[0].select(0, 1)}, -1);
      },
      {leaf({2, 3})});
}

// ---- errors ------------------------------------------------------------------------

TEST_CASE("views reject bad dims, indices and shapes", "[views][errors]") {
  const Tensor x = grid();
  XGRAD_REQUIRE_THROWS_WITH(x.transpose(0, 2), ValueError, "transpose", "dim 2", "out of range");
  XGRAD_REQUIRE_THROWS_WITH(x.permute({0, 0}), ValueError, "permute", "repeats");
  XGRAD_REQUIRE_THROWS_WITH(x.permute({0}), ValueError, "permute", "[3, 4]");
  XGRAD_REQUIRE_THROWS_WITH(x.select(0, 3), ValueError,
                            "select: index 3 is out of range for dim 0 of size 3 (shape [3, 4])");
  XGRAD_REQUIRE_THROWS_WITH(x.select(1, -5), ValueError, "select", "-5", "size 4");
  XGRAD_REQUIRE_THROWS_WITH(x.select(2, 0), ValueError, "select", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(x.narrow(1, 3, 2), ValueError, "narrow", "start 3", "length 2", "size 4");
  XGRAD_REQUIRE_THROWS_WITH(x.narrow(0, -4, 1), ValueError, "narrow");
  XGRAD_REQUIRE_THROWS_WITH(x.slice(1, 0, 4, 0), ValueError, "slice", "step");
  XGRAD_REQUIRE_THROWS_WITH(x.slice(-3, 0, 1), ValueError, "slice", "dim -3");
  XGRAD_REQUIRE_THROWS_WITH(x.squeeze(2), ValueError, "squeeze", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(x.unsqueeze(3), ValueError, "unsqueeze", "dim 3");
  XGRAD_REQUIRE_THROWS_WITH(x.t().view({12}), ShapeError, "view", "[4, 3]", "reshape");
  XGRAD_REQUIRE_THROWS_WITH(x.reshape({5, -1}), ShapeError, "reshape", "[3, 4]", "12 elements");
  XGRAD_REQUIRE_THROWS_WITH(x.reshape({-1, -1}), ShapeError, "reshape", "only one dim");
  XGRAD_REQUIRE_THROWS_WITH(x.expand({2, 4}), ShapeError, "expand", "[3, 4]", "[2, 4]");
  XGRAD_REQUIRE_THROWS_WITH(x.expand({4}), ShapeError, "expand", "fewer dims");
  XGRAD_REQUIRE_THROWS_WITH(x.expand({-1, 3, 4}), ShapeError, "expand", "-1");
  XGRAD_REQUIRE_THROWS_WITH(x.flatten(1, 0), ValueError, "flatten", "start_dim");
  XGRAD_REQUIRE_THROWS_WITH(arange(3).t(), ShapeError, "t:", "2-D");
}

TEST_CASE("cat and stack reject bad lists, dtypes and shapes", "[cat][stack][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(cat({}), ValueError, "cat", "non-empty");
  XGRAD_REQUIRE_THROWS_WITH(stack({}), ValueError, "stack", "non-empty");
  XGRAD_REQUIRE_THROWS_WITH(cat({zeros({2}), zeros({2}, {.dtype = f64})}), DTypeError, "cat", "tensor 1", "f64", "f32");
  XGRAD_REQUIRE_THROWS_WITH(stack({zeros({2}), zeros({2}), zeros({2}, {.dtype = i64})}), DTypeError, "stack",
                            "tensor 2", "i64");
  XGRAD_REQUIRE_THROWS_WITH(cat({zeros({3, 5}), zeros({2, 4})}, 0), ShapeError,
                            "cat: tensor 1 has shape [2, 4] but tensor 0 has shape [3, 5]", "dim 0");
  XGRAD_REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3}), zeros({2, 3, 1})}, 1), ShapeError, "cat", "tensor 2",
                            "[2, 3, 1]", "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3})}, 2), ValueError, "cat", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(cat({scalar_tensor(1), scalar_tensor(2)}), ShapeError, "cat", "0-d");
  XGRAD_REQUIRE_THROWS_WITH(stack({zeros({2, 3}), zeros({3, 2})}), ShapeError,
                            "stack: tensor 1 has shape [3, 2] but tensor 0 has shape [2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(stack({zeros({2, 3}), zeros({2, 3})}, 3), ValueError, "stack", "dim 3");
  XGRAD_REQUIRE_THROWS_WITH(stack({zeros({2, 3}), zeros({2, 3})}, -4), ValueError, "stack", "dim -4");
  XGRAD_REQUIRE_THROWS_WITH(cat({zeros({2}), Tensor()}), Error, "cat", "tensor 1", "undefined");
}

TEST_CASE("indexing ops refuse 0-d tensors", "[shape][errors]") {
  Tensor s = scalar_tensor(1.0);
  XGRAD_REQUIRE_THROWS_WITH(s.select(0, 0), ShapeError, "select", "0-d");
  XGRAD_REQUIRE_THROWS_WITH(s.slice(0, 0, 1), ShapeError, "slice", "0-d");
  XGRAD_REQUIRE_THROWS_WITH(s.narrow(0, 0, 1), ShapeError, "narrow", "0-d");
  XGRAD_REQUIRE_THROWS_WITH(arange(3).narrow(0, -4, 1), ValueError, "start -4");
}
