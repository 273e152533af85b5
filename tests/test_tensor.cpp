// Tensor core: factories, views sharing storage, broadcasting, conversions, printing.

#include <sstream>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("factories give the requested shape, dtype and values", "[tensor]") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == f32);
  CHECK(z.numel() == 6);
  require_values(z, {0, 0, 0, 0, 0, 0});
  require_values(ones({2}, {.dtype = f64}), {1, 1});
  require_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  require_values(arange(5), {0, 1, 2, 3, 4});
  require_values(arange(1, 2, 0.25, {.dtype = f64}), {1, 1.25, 1.5, 1.75});
  CHECK(arange(3, {.dtype = i64}).dtype() == i64);
  CHECK(scalar_tensor(4).shape().empty());
  CHECK(scalar_tensor(4).item() == 4);

  Tensor d = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, {.dtype = f64, .requires_grad = true});
  CHECK(d.dtype() == f64);
  CHECK(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(from_vector(std::vector<std::int64_t>{1, 2}).dtype() == i64);
  CHECK(from_vector(std::vector<float>{1, 2}).dtype() == f32);
  CHECK(from_vector(std::vector<double>{1, 2}, {}, {.dtype = f32}).dtype() == f32);
}

TEST_CASE("bad factory arguments throw clear errors", "[tensor][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(zeros({2, -1}), ShapeError, "zeros", "-1");
  XGRAD_REQUIRE_THROWS_WITH(from_vector(std::vector<double>{1, 2, 3}, {2, 2}), ShapeError, "from_vector", "3 values",
                            "[2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(randn({2}, {.dtype = i64}), DTypeError, "randn", "i64");
  XGRAD_REQUIRE_THROWS_WITH(zeros({2}, {.dtype = i64, .requires_grad = true}), DTypeError, "requires_grad_");
  XGRAD_REQUIRE_THROWS_WITH(zeros({2, 2}).item(), ValueError, "item", "[2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(zeros({2}).data<double>(), DTypeError, "f32", "f64");
}

TEST_CASE("manual_seed makes random tensors reproducible", "[tensor][random]") {
  manual_seed(7);
  const auto a = values(randn({5}));
  const auto u = values(rand({1000}));
  manual_seed(7);
  CHECK(values(randn({5})) == a);
  CHECK(values(rand({1000})) == u);
  for (double v : u) REQUIRE((v >= 0.0 && v < 1.0));

  Generator& g = default_generator();
  const std::string state = g.state();
  const auto next = values(randn({3}));
  g.set_state(state);
  CHECK(values(randn({3})) == next);

  manual_seed(1);
  const auto many = values(randn({20000}, {.dtype = f64}));
  double mean = 0, sq = 0;
  for (double v : many) mean += v;
  mean /= static_cast<double>(many.size());
  for (double v : many) sq += (v - mean) * (v - mean);
  CHECK(std::abs(mean) < 0.03);
  CHECK(std::sqrt(sq / static_cast<double>(many.size())) == Approx(1.0).epsilon(0.03));
}

TEST_CASE("views share storage with their base", "[tensor][views]") {
  Tensor x = arange(24, {.dtype = f64}).reshape({2, 3, 4});
  Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.select(0, 1).select(0, 2).select(0, 1).item() == x.select(0, 1).select(0, 2).select(0, 1).item());

  Tensor row = x.select(0, 1).select(0, 0);  // x[1, 0, :]
  require_values(row, {12, 13, 14, 15});
  row.fill_(-1);
  require_values(x.select(0, 1).select(0, 0), {-1, -1, -1, -1});

  Tensor s = x.slice(2, 1, 4, 2);  // x[:, :, 1::2]
  CHECK(s.shape() == Shape{2, 3, 2});
  require_values(s.select(0, 0).select(0, 0), {1, 3});
  require_values(x.slice(1, -2, 100).select(0, 0).select(1, 0), {4, 8});

  Tensor n = x.narrow(1, 1, 2);
  CHECK(n.shape() == Shape{2, 2, 4});
  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == x.shape());
  CHECK(zeros({1, 3, 1}).squeeze().shape() == Shape{3});
  CHECK(x.permute({2, 0, 1}).shape() == Shape{4, 2, 3});
  CHECK(x.flatten(1).shape() == Shape{2, 12});
  CHECK(x.reshape({-1, 4}).shape() == Shape{6, 4});
  CHECK(x.view({6, 4}).shares_storage(x));

  Tensor e = ones({3, 1}).expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides()[0] == 0);
  XGRAD_REQUIRE_THROWS_WITH(e.fill_(1), ValueError, "expanded");
}

TEST_CASE("reshape copies only when a view is impossible", "[tensor][views]") {
  Tensor x = arange(6, {.dtype = f64}).reshape({2, 3});
  Tensor t = x.t();
  XGRAD_REQUIRE_THROWS_WITH(t.view({6}), ShapeError, "view", "[3, 2]", "reshape");
  Tensor r = t.reshape({6});
  require_values(r, {0, 3, 1, 4, 2, 5});
  CHECK(r.is_contiguous());
  // A transposed tensor can still be viewed with its dims split.
  Tensor split = t.view({3, 2, 1});
  CHECK(split.shares_storage(x));
  XGRAD_REQUIRE_THROWS_WITH(x.reshape({4, -1}), ShapeError, "reshape", "[2, 3]", "6 elements");
  XGRAD_REQUIRE_THROWS_WITH(x.reshape({-1, -1}), ShapeError, "only one dim");
}

TEST_CASE("contiguous, clone and to() copy, and data<T> needs contiguous", "[tensor]") {
  Tensor x = arange(6, {.dtype = f64}).reshape({2, 3});
  Tensor t = x.t();
  XGRAD_REQUIRE_THROWS_WITH(t.data<double>(), ValueError, "not contiguous");
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.data<double>()[1] == 3);
  CHECK(x.contiguous().is_same(x));
  Tensor k = x.clone();
  k.fill_(9);
  CHECK(x.data<double>()[0] == 0);
  Tensor f = x.to(f32);
  CHECK(f.dtype() == f32);
  CHECK(f.to_vector<float>()[5] == 5.0f);
  CHECK(x.to(i64).to_vector<std::int64_t>()[4] == 4);
}

TEST_CASE("broadcasting follows NumPy's rules", "[tensor][broadcast]") {
  Tensor a = arange(3, {.dtype = f64}).reshape({3, 1});
  Tensor b = arange(4, {.dtype = f64});
  Tensor c = a + b;
  CHECK(c.shape() == Shape{3, 4});
  require_values(c.select(0, 2), {2, 3, 4, 5});
  CHECK(broadcast_shapes("t", {5, 1, 4}, {3, 1}) == Shape{5, 3, 4});
  CHECK(broadcast_shapes("t", {}, {2, 2}) == Shape{2, 2});
  XGRAD_REQUIRE_THROWS_WITH(zeros({2, 3}) + zeros({4}), ShapeError, "add", "[2, 3]", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(zeros({2}) * zeros({2}, {.dtype = f64}), DTypeError, "mul", "f32", "f64");
  require_values(2.0 - arange(3, {.dtype = f64}), {2, 1, 0});
  require_values(6.0 / (arange(3, {.dtype = f64}) + 1), {6, 3, 2});
}

TEST_CASE("in-place updates: add_, mul_, copy_, zero_", "[tensor]") {
  Tensor x = ones({2, 2}, {.dtype = f64});
  x.add_(arange(2, {.dtype = f64}), 2.0);
  require_values(x, {1, 3, 1, 3});
  x.mul_(0.5);
  require_values(x, {0.5, 1.5, 0.5, 1.5});
  x.copy_(arange(4).reshape({2, 2}));  // converts f32 to f64
  require_values(x, {0, 1, 2, 3});
  x.t().copy_(x.clone());  // overlapping source handled
  require_values(x, {0, 2, 1, 3});
  x.zero_();
  require_values(x, {0, 0, 0, 0});
}

TEST_CASE("printing shows values, shape and dtype", "[tensor][print]") {
  Tensor x = from_vector(std::vector<double>{1, 2.5, -3, 4}, {2, 2});
  const std::string s = to_string(x);
  CHECK(s == "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2], dtype=f64)");
  CHECK(to_string(scalar_tensor(3)) == "tensor(3.0000, shape=[], dtype=f32)");
  CHECK(to_string(arange(3, {.dtype = i64})) == "tensor([0, 1, 2], shape=[3], dtype=i64)");
  const std::string big = to_string(zeros({100, 100}));
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.size() < 600);
  std::ostringstream os;
  os << ones({1}, {.requires_grad = true});
  CHECK(os.str().find("requires_grad=true") != std::string::npos);
  CHECK(to_string(Tensor()) == "tensor(undefined)");
}
