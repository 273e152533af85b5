// The GEMM kernel against its reference loop; matmul and linear: values by hand,
// broadcasting, strided inputs, gradients and errors.

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "kernels/gemm.hpp"
#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(normal(gen));
  return v;
}

template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-12;
}

// Runs gemm and gemm_reference on the same operands, with every leading dim
// padded by `pad` elements, and compares the results element by element.
template <class T>
void check_against_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
                             T beta, std::int64_t pad, std::mt19937& gen) {
  const std::int64_t lda = (trans_a ? M : K) + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  const std::vector<T> A = random_values<T>(static_cast<std::size_t>((trans_a ? K : M) * lda), gen);
  const std::vector<T> B = random_values<T>(static_cast<std::size_t>((trans_b ? N : K) * ldb), gen);
  const std::vector<T> C0 = random_values<T>(static_cast<std::size_t>(M * ldc), gen);
  std::vector<T> got = C0, want = C0;
  if (beta == T(0)) std::fill(got.begin(), got.end(), std::numeric_limits<T>::quiet_NaN());  // must not be read
  kernels::gemm<T>(trans_a, trans_b, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, got.data(), ldc);
  kernels::gemm_reference<T>(trans_a, trans_b, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
  // One assertion per call (not per element) keeps the size sweep fast.
  std::int64_t mismatches = 0;
  std::ostringstream first;
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      const auto at = static_cast<std::size_t>(i * ldc + j);
      const double g = got[at], w = want[at];
      if (std::abs(g - w) <= tolerance<T>() * (1 + std::abs(w))) continue;
      if (mismatches++ == 0) first << "(" << i << ", " << j << "): got " << g << ", want " << w;
    }
  INFO("trans " << trans_a << trans_b << " M N K " << M << " " << N << " " << K << " alpha " << alpha << " beta "
                << beta << " pad " << pad << "; first mismatch " << first.str());
  REQUIRE(mismatches == 0);
}

Tensor f64_matrix(const std::vector<double>& values, const Shape& shape) {
  return from_vector(values, shape, {.dtype = f64});
}

}  // namespace

// ---- the kernel -------------------------------------------------------------------

TEMPLATE_TEST_CASE("gemm matches the reference loop for every size 0..17 and all transposes", "[gemm]", float, double) {
  std::mt19937 gen(1);
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (std::int64_t M = 0; M <= 17; ++M)
        for (std::int64_t N = 0; N <= 17; ++N)
          for (std::int64_t K = 0; K <= 17; ++K)
            check_against_reference<TestType>(trans_a, trans_b, M, N, K, TestType(1), TestType(0), 0, gen);
}

TEMPLATE_TEST_CASE("gemm applies alpha and beta and honours padded leading dims", "[gemm]", float, double) {
  std::mt19937 gen(2);
  using T = TestType;
  const std::vector<std::pair<T, T>> scales{
      {T(1), T(1)}, {T(0.5), T(-2)}, {T(-1.5), T(0)}, {T(0), T(0.25)}, {T(2), T(1)}};
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (auto [alpha, beta] : scales)
        for (std::int64_t pad : {0, 3})
          for (auto [M, N, K] : {std::array<std::int64_t, 3>{1, 1, 1}, {3, 5, 7}, {7, 1, 3}, {1, 9, 4}, {5, 4, 0}})
            check_against_reference<T>(trans_a, trans_b, M, N, K, alpha, beta, pad, gen);
}

TEMPLATE_TEST_CASE("gemm is right across its cache blocks", "[gemm]", float, double) {
  std::mt19937 gen(3);
  // Larger than one 128 x 256 panel of op(B) in both directions, with ragged edges.
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      check_against_reference<TestType>(trans_a, trans_b, 9, 261, 133, TestType(0.5), TestType(0.5), 1, gen);
}

TEST_CASE("gemm reads a zero leading dim as one repeated row", "[gemm]") {
  const std::vector<double> row{1, 2, 3};         // op(A) = [[1, 2, 3], [1, 2, 3]]
  const std::vector<double> B{1, 0, 0, 1, 1, 1};  // [3, 2]
  std::vector<double> C(4);
  kernels::gemm<double>(false, false, 2, 2, 3, 1.0, row.data(), 0, B.data(), 2, 0.0, C.data(), 2);
  CHECK(C == std::vector<double>{4, 5, 4, 5});
}

// ---- matmul forward -----------------------------------------------------------------

TEST_CASE("matmul computes products by hand for 2-D and 1-D operands", "[matmul]") {
  const Tensor a = f64_matrix({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = f64_matrix({7, 8, 9, 10, 11, 12}, {3, 2});
  Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  require_values(c, {58, 64, 139, 154});
  require_values(a.matmul(b), {58, 64, 139, 154});

  const Tensor v = f64_matrix({1, 0, -1}, {3});
  Tensor vm = matmul(v, b);  // [3] x [3, 2] -> [2]
  CHECK(vm.shape() == Shape{2});
  require_values(vm, {7 - 11, 8 - 12});
  Tensor mv = matmul(a, v);  // [2, 3] x [3] -> [2]
  CHECK(mv.shape() == Shape{2});
  require_values(mv, {-2, -2});
  Tensor vv = matmul(v, f64_matrix({4, 5, 6}, {3}));  // -> 0-d
  CHECK(vv.shape().empty());
  CHECK(vv.item() == -2);
}

TEST_CASE("matmul handles batches and broadcasts batch dims", "[matmul]") {
  const Tensor a0 = f64_matrix({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor a1 = f64_matrix({0, 1, 0, 1, 0, -1}, {2, 3});
  const Tensor b0 = f64_matrix({7, 8, 9, 10, 11, 12}, {3, 2});
  const Tensor b1 = f64_matrix({1, 0, 0, 1, 2, 2}, {3, 2});
  const Tensor a = stack({a0, a1}), b = stack({b0, b1});  // [2, 2, 3], [2, 3, 2]

  Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2, 2});
  require_values(c, {58, 64, 139, 154, 0, 1, -1, -2});

  SECTION("3-D x 2-D shares the matrix over the batch") {
    Tensor d = matmul(a, b0);
    CHECK(d.shape() == Shape{2, 2, 2});
    require_values(d, {58, 64, 139, 154, 9, 10, -4, -4});
  }
  SECTION("2-D x 3-D shares the matrix over the batch") {
    Tensor d = matmul(a0, b);
    CHECK(d.shape() == Shape{2, 2, 2});
    require_values(d, {58, 64, 139, 154, 7, 8, 16, 17});
  }
  SECTION("a batch of 1 broadcasts") {
    require_values(matmul(a0.unsqueeze(0), b), {58, 64, 139, 154, 7, 8, 16, 17});
    require_values(matmul(a, b1.unsqueeze(0)), {7, 8, 16, 17, 0, 1, -1, -2});
  }
  SECTION("1-D operands with a batch") {
    const Tensor v = f64_matrix({1, 0, -1}, {3});
    Tensor vb = matmul(v, b);  // [3] x [2, 3, 2] -> [2, 2]
    CHECK(vb.shape() == Shape{2, 2});
    require_values(vb, {-4, -4, -1, -2});
    Tensor av = matmul(a, v);  // [2, 2, 3] x [3] -> [2, 2]
    CHECK(av.shape() == Shape{2, 2});
    require_values(av, {-2, -2, 0, 2});
  }
  SECTION("more than one batch dim broadcasts as in NumPy") {
    Tensor d = matmul(a.unsqueeze(1), b);  // [2, 1, 2, 3] x [2, 3, 2] -> [2, 2, 2, 2]
    CHECK(d.shape() == Shape{2, 2, 2, 2});
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 2; ++j)
        require_values(d.select(0, i).select(0, j), values(matmul(a.select(0, i), b.select(0, j))));
  }
}

TEST_CASE("matmul reads strided views in place or copies them, with the same values", "[matmul]") {
  manual_seed(11);
  const Tensor a = randn({4, 5}, {.dtype = f64}), b = randn({5, 3}, {.dtype = f64});
  const std::vector<double> want = values(matmul(a, b));
  // Transposed views (rows unit-stride) go to the kernel's trans flags.
  require_values(matmul(a.t().contiguous().t(), b), want);
  require_values(matmul(a, b.t().contiguous().t()), want);
  require_values(matmul(a.t().contiguous().t(), b.t().contiguous().t()), want);
  // Neither stride 1: a step-2 slice is copied.
  const Tensor wide = randn({4, 10}, {.dtype = f64});
  const Tensor strided = wide.slice(1, 0, 10, 2);
  require_values(matmul(strided, b), values(matmul(strided.contiguous(), b)));
  // Stride 0 (an expanded row) is read in place.
  const Tensor row = randn({1, 5}, {.dtype = f64});
  require_values(matmul(row.expand({4, 5}), b), values(matmul(row.expand({4, 5}).contiguous(), b)));
  // A batch of transposed matrices, and a batch that is not laid out row block after row block.
  const Tensor batch = randn({3, 5, 4}, {.dtype = f64});
  const Tensor bt = batch.transpose(1, 2);  // [3, 4, 5], rows unit-stride
  require_values(matmul(bt, b), values(matmul(bt.contiguous(), b)));
  const Tensor mixed = randn({4, 3, 5}, {.dtype = f64}).transpose(0, 1);  // [3, 4, 5], batch stride 5
  require_values(matmul(mixed, b), values(matmul(mixed.contiguous(), b)));
}

TEST_CASE("matmul handles empty operands", "[matmul]") {
  CHECK(matmul(zeros({0, 3}), zeros({3, 2})).shape() == Shape{0, 2});
  require_values(matmul(ones({2, 0}), ones({0, 3})), {0, 0, 0, 0, 0, 0});
  CHECK(matmul(zeros({0, 2, 3}), zeros({3, 4})).shape() == Shape{0, 2, 4});
}

TEST_CASE("matmul in f32 agrees with f64", "[matmul]") {
  manual_seed(12);
  const Tensor a = randn({3, 7, 9}, {.dtype = f64}), b = randn({9, 5}, {.dtype = f64});
  const Tensor c32 = matmul(a.to(f32), b.to(f32));
  CHECK(c32.dtype() == f32);
  require_values(c32, values(matmul(a, b)), 1e-4);
}

// ---- matmul gradients ----------------------------------------------------------------

TEST_CASE("matmul gradients pass gradcheck for 2-D operands", "[matmul][gradcheck]") {
  manual_seed(13);
  const auto fn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  for (auto [M, K, N] : {std::array<std::int64_t, 3>{1, 1, 1}, {2, 3, 4}, {3, 1, 2}, {1, 4, 1}, {5, 2, 3}}) {
    INFO("M K N " << M << " " << K << " " << N);
    require_gradchecks(fn, {leaf({M, K}), leaf({K, N})});
  }
  // Only one side requires grad.
  require_gradchecks(fn, {leaf({2, 3}), randn({3, 2}, {.dtype = f64})});
  require_gradchecks(fn, {randn({2, 3}, {.dtype = f64}), leaf({3, 2})});
}

TEST_CASE("matmul gradients pass gradcheck for batches and broadcast batches", "[matmul][gradcheck]") {
  manual_seed(14);
  const auto fn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  for (auto [sa, sb] : {std::pair<Shape, Shape>{{2, 3, 4}, {2, 4, 2}},
                        {{2, 3, 4}, {4, 2}},
                        {{3, 4}, {2, 4, 2}},
                        {{1, 3, 4}, {2, 4, 2}},
                        {{2, 3, 4}, {1, 4, 2}},
                        {{2, 1, 2, 3}, {3, 3, 2}},
                        {{3}, {2, 3, 2}},
                        {{2, 2, 3}, {3}},
                        {{3}, {3, 2}},
                        {{2, 3}, {3}},
                        {{3}, {3}}}) {
    INFO("shapes " << shape_to_string(sa) << " x " << shape_to_string(sb));
    require_gradchecks(fn, {leaf(sa), leaf(sb)});
  }
}

TEST_CASE("matmul gradients flow through strided inputs", "[matmul][gradcheck]") {
  manual_seed(15);
  // Transposed views use the kernel's trans flags; their gradients go back through the view.
  require_gradchecks([](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); },
                    {leaf({3, 2}), leaf({4, 3})});
  require_gradchecks([](const std::vector<Tensor>& in) { return matmul(in[0].transpose(-1, -2), in[1]); },
                    {leaf({2, 3, 2}), leaf({3, 2})});
  // Step-2 slices are copied; an expanded operand is read with stride 0.
  require_gradchecks([](const std::vector<Tensor>& in) { return matmul(in[0].slice(1, 0, 6, 2), in[1]); },
                    {leaf({2, 6}), leaf({3, 2})});
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return matmul(in[0].expand({3, 4}), in[1]);
      },
      {leaf({1, 4}), leaf({4, 2})});
  // The output gradient itself is an expanded view when the product feeds a sum.
  require_gradchecks([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]).sum(); },
                    {leaf({2, 2, 3}), leaf({3, 2})});
}

// ---- linear ------------------------------------------------------------------------

TEST_CASE("linear computes x·Wᵀ + b by hand", "[linear]") {
  const Tensor x = f64_matrix({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor w = f64_matrix({1, 0, 0, 0, 1, -1}, {2, 3});
  const Tensor b = f64_matrix({10, 20}, {2});
  Tensor y = linear(x, w, b);
  CHECK(y.shape() == Shape{2, 2});
  require_values(y, {11, 19, 14, 19});
  require_values(linear(x, w), {1, -1, 4, -1});

  Tensor v = linear(f64_matrix({1, 2, 3}, {3}), w, b);  // 1-D x
  CHECK(v.shape() == Shape{2});
  require_values(v, {11, 19});

  Tensor x3 = stack({x, x * 2.0});  // [2, 2, 3]
  Tensor y3 = linear(x3, w, b);
  CHECK(y3.shape() == Shape{2, 2, 2});
  require_values(y3, {11, 19, 14, 19, 12, 18, 18, 18});

  // A transposed weight view and a non-contiguous input give the same values.
  require_values(linear(x, w.t().contiguous().t(), b), {11, 19, 14, 19});
  require_values(linear(x.t().contiguous().t(), w, b), {11, 19, 14, 19});
  require_values(linear(x3.transpose(0, 1).contiguous().transpose(0, 1), w, b), values(y3));
}

TEST_CASE("linear in f32 agrees with f64, and with matmul", "[linear]") {
  manual_seed(16);
  const Tensor x = randn({4, 6}, {.dtype = f64}), w = randn({3, 6}, {.dtype = f64}), b = randn({3}, {.dtype = f64});
  const std::vector<double> want = values(matmul(x, w.t()) + b);
  require_values(linear(x, w, b), want, 1e-12);
  require_values(linear(x.to(f32), w.to(f32), b.to(f32)), want, 1e-4);
  CHECK(linear(zeros({0, 6}), w.to(f32)).shape() == Shape{0, 3});
}

TEST_CASE("linear gradients pass gradcheck with and without bias and for any leading dims", "[linear][gradcheck]") {
  manual_seed(17);
  const auto with_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  const auto without_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); };
  for (const Shape& xs : {Shape{3}, Shape{1, 3}, Shape{4, 3}, Shape{2, 2, 3}, Shape{2, 1, 2, 3}}) {
    INFO("x shape " << shape_to_string(xs));
    require_gradchecks(with_bias, {leaf(xs), leaf({2, 3}), leaf({2})});
    require_gradchecks(without_bias, {leaf(xs), leaf({2, 3})});
  }
  require_gradchecks(with_bias, {leaf({3, 1}), leaf({1, 1}), leaf({1})});
  // Only some inputs require grad.
  require_gradchecks(with_bias, {randn({3, 3}, {.dtype = f64}), leaf({2, 3}), leaf({2})});
  require_gradchecks(with_bias, {leaf({3, 3}), randn({2, 3}, {.dtype = f64}), randn({2}, {.dtype = f64})});
  // Strided views: a transposed weight, a transposed input, a step-2 input.
  require_gradchecks([](const std::vector<Tensor>& in) { return linear(in[0], in[1].t(), in[2]); },
                    {leaf({2, 3}), leaf({3, 4}), leaf({4})});
  require_gradchecks([](const std::vector<Tensor>& in) { return linear(in[0].t(), in[1], in[2]); },
                    {leaf({3, 2}), leaf({4, 3}), leaf({4})});
  require_gradchecks([](const std::vector<Tensor>& in) { return linear(in[0].slice(1, 0, 6, 2), in[1]); },
                    {leaf({2, 6}), leaf({2, 3})});
}

// ---- errors ------------------------------------------------------------------------

TEST_CASE("matmul errors name the shapes and dtypes at fault", "[matmul][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}), zeros({4, 5})), ShapeError,
                            "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  XGRAD_REQUIRE_THROWS_WITH(matmul(zeros({3}), zeros({4})), ShapeError, "[3] and [4]", "3 != 4");
  XGRAD_REQUIRE_THROWS_WITH(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), ShapeError, "matmul", "[2, 3, 4]", "[3, 4, 5]",
                            "batch");
  XGRAD_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}), zeros({3, 2}, {.dtype = f64})), DTypeError, "matmul", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(matmul(zeros({2, 2}, {.dtype = i64}), zeros({2, 2}, {.dtype = i64})), DTypeError, "matmul",
                            "i64");
  XGRAD_REQUIRE_THROWS_WITH(matmul(scalar_tensor(2), zeros({2})), ShapeError, "matmul", "at least 1 dim");
  XGRAD_REQUIRE_THROWS_WITH(matmul(Tensor(), zeros({2})), Error, "matmul", "undefined");
}

TEST_CASE("linear errors name the shapes at fault", "[linear][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(linear(zeros({2, 5}), zeros({3, 4})), ShapeError,
                            "linear: input has 5 features but weight expects 4 (input [2, 5], weight [3, 4])");
  XGRAD_REQUIRE_THROWS_WITH(linear(zeros({2, 4}), zeros({3, 4}), zeros({4})), ShapeError, "linear", "bias", "[4]",
                            "[3, 4]", "[3]");
  XGRAD_REQUIRE_THROWS_WITH(linear(zeros({2, 4}), zeros({4})), ShapeError, "linear", "2-D", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(linear(scalar_tensor(1), zeros({3, 1})), ShapeError, "linear", "at least 1 dim");
  XGRAD_REQUIRE_THROWS_WITH(linear(zeros({2, 4}), zeros({3, 4}, {.dtype = f64})), DTypeError, "linear", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(linear(zeros({2, 4}), zeros({3, 4}), zeros({3}, {.dtype = f64})), DTypeError, "linear");
}
