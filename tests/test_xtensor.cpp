// xtensor interop: views without copies, tensors from expressions.

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support.hpp"
#include "xgrad/xtensor.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("as_xtensor views a tensor, strides included, without copying", "[xtensor]") {
  Tensor x = arange(6, {.dtype = f64}).reshape({2, 3});
  auto a = as_xtensor<double>(x);
  CHECK(a.shape()[0] == 2);
  CHECK(a(1, 2) == 5);
  CHECK(xt::sum(a)() == 15);

  auto t = as_xtensor<double>(x.t());  // [3, 2] transposed view
  CHECK(t.shape()[0] == 3);
  CHECK(t(2, 1) == 5);
  CHECK(t(0, 1) == 3);

  auto s = as_xtensor<double>(x.slice(1, 0, 3, 2));  // columns 0 and 2
  CHECK(s(1, 1) == 5);

  x.fill_(1);  // the view sees later writes: it borrows the storage
  CHECK(xt::sum(a)() == 6);
  XGRAD_REQUIRE_THROWS_WITH(as_xtensor<float>(x), DTypeError, "f64", "f32");
}

TEST_CASE("from_xtensor copies an expression into a tensor", "[xtensor]") {
  xt::xarray<double> a = xt::arange<double>(6);
  a.reshape({2, 3});
  Tensor t = from_xtensor(a * 2.0);
  CHECK(t.dtype() == f64);
  CHECK(t.shape() == Shape{2, 3});
  require_values(t, {0, 2, 4, 6, 8, 10});
  Tensor f = from_xtensor(xt::view(a, 1, xt::all()), {.dtype = f32});
  CHECK(f.dtype() == f32);
  require_values(f, {3, 4, 5});
  Tensor s = from_xtensor(xt::xarray<double>(7.0));
  CHECK(s.shape().empty());
  CHECK(s.item() == 7);
}
