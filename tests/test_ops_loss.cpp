// softmax, log_softmax and the losses nll_loss, cross_entropy and mse_loss without
// options added by #16 (class weights, soft targets, unbatched inputs, broadcasting:
// test_ops_loss_class.cpp, test_ops_loss_pointwise.cpp).

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "loss_support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// The 2 x 3 example worked out by hand:
//   logits [[1, 2, 3], [1, 0, -1]], targets [2, 1]
//   logsumexp row 0 = 3 + log(1 + e^-1 + e^-2) = 3.40760596444438,  row 1 = 1.40760596444438
//   log_softmax row 0 = [-2.4076..., -1.4076..., -0.4076...]
//   nll per row: 3.40760596 - 3 = 0.40760596;  1.40760596 - 0 = 1.40760596
//   mean (0.40760596 + 1.40760596) / 2 = 0.90760596;  sum 1.81521193
//   softmax row 0 = [0.09003057, 0.24472847, 0.66524096], row 1 the same reversed
//   smoothing 0.1: -mean_c log_softmax = lse - mean(logits): row 0 3.4076 - 2 = 1.4076, row 1 1.4076
//     so row 0: 0.9 * 0.40760596 + 0.1 * 1.40760596 = 0.50760596, row 1: 1.40760596
Tensor example_logits(bool requires_grad = false) {
  return f64_tensor({1, 2, 3, 1, 0, -1}, {2, 3}, requires_grad);
}
constexpr double lse0 = 3.40760596444438, lse1 = 1.40760596444438;
constexpr double p0 = 0.09003057317038046, p1 = 0.24472847105479764, p2 = 0.6652409557748219;

}  // namespace

// ---- softmax and log_softmax -------------------------------------------------------

TEST_CASE("softmax and log_softmax give hand-computed values", "[softmax]") {
  const Tensor x = f64_tensor({0, 1, 2});
  require_values(softmax(x, 0), {p0, p1, p2});
  require_values(log_softmax(x, 0), {-2.40760596444438, -1.40760596444438, -0.40760596444438});
  // Rows along dim 1 of the example: the second row is the first reversed.
  require_values(example_logits().softmax(1), {p0, p1, p2, p2, p1, p0});
  require_values(example_logits().log_softmax(-1), {1 - lse0, 2 - lse0, 3 - lse0, 1 - lse1, 0 - lse1, -1 - lse1});
  // Along dim 0 of [[0, 1], [2, 3]] (a strided row) every column is softmax([a, a + 2]).
  const double lo = 1 / (1 + std::exp(2.0));
  require_values(arange(4, {.dtype = f64}).reshape({2, 2}).softmax(0), {lo, lo, 1 - lo, 1 - lo});
  CHECK(softmax(scalar_tensor(5, {.dtype = f64}), 0).item() == 1);
  CHECK(log_softmax(scalar_tensor(5, {.dtype = f64}), -1).item() == 0);
}

TEST_CASE("softmax and log_softmax are stable for large logits", "[softmax]") {
  for (DType dtype : {f32, f64}) {
    INFO("dtype " << dtype_name(dtype));
    const double tol = dtype == f32 ? 1e-6 : 1e-12;
    const Tensor big = from_vector(std::vector<double>{1000, 1001, 1002}, {}, {.dtype = dtype});
    const Tensor small = from_vector(std::vector<double>{0, 1, 2}, {}, {.dtype = dtype});
    const Tensor tiny = from_vector(std::vector<double>{-1000, -999, -998}, {}, {.dtype = dtype});
    require_values(softmax(big, 0), values(softmax(small, 0)), tol);
    require_values(softmax(tiny, 0), values(softmax(small, 0)), tol);
    require_values(log_softmax(big, 0), values(log_softmax(small, 0)), tol);
    require_values(log_softmax(tiny, 0), values(log_softmax(small, 0)), tol);
  }
  // -inf logits get probability 0 (log-probability -inf); the rest is unaffected.
  require_values(softmax(f64_tensor({0, -inf, 0}), 0), {0.5, 0, 0.5});
  const auto logp = values(log_softmax(f64_tensor({0, -inf}), 0));
  CHECK(logp[0] == 0);
  CHECK(logp[1] == -inf);
}

TEST_CASE("softmax rows sum to 1 along any dim", "[softmax]") {
  manual_seed(21);
  const Tensor x = randn({2, 3, 4}, {.dtype = f64}) * 5.0;
  for (std::int64_t dim = -3; dim < 3; ++dim) {
    INFO("dim " << dim);
    const Tensor p = softmax(x, dim);
    CHECK(p.shape() == x.shape());
    require_values(p.sum(dim), values(ones_like(x.sum(dim))), 1e-12);
    require_values(log_softmax(x, dim).exp(), values(p), 1e-12);
    // A non-contiguous input gives the same result as its contiguous copy.
    require_values(softmax(x.transpose(0, 2), dim), values(softmax(x.transpose(0, 2).contiguous(), dim)));
  }
}

TEST_CASE("softmax and log_softmax in f32 agree with f64", "[softmax]") {
  manual_seed(22);
  const Tensor x = randn({3, 5, 2}, {.dtype = f64}) * 4.0;
  for (std::int64_t dim : {0, 1, -1}) {
    require_values(softmax(x.to(f32), dim), values(softmax(x, dim)), 1e-6);
    require_values(log_softmax(x.to(f32), dim), values(log_softmax(x, dim)), 1e-5);
    CHECK(softmax(x.to(f32), dim).dtype() == f32);
  }
}

TEST_CASE("softmax and log_softmax gradients pass gradcheck", "[softmax][gradcheck]") {
  manual_seed(23);
  const std::vector<Shape> shapes = {{5}, {3, 4}, {1, 4}, {4, 1}, {2, 3, 4}, {3, 1, 2}, {}};
  for (const Shape& shape : shapes) {
    const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(shape.size()));
    for (std::int64_t dim = -rank; dim < rank; ++dim) {
      INFO("shape " << shape_to_string(shape) << ", dim " << dim);
      Tensor x = leaf(shape);
      require_gradchecks([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x});
      require_gradchecks([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x});
    }
  }
  // Through a non-contiguous view, and composed with another op.
  Tensor y = leaf({3, 4});
  require_gradchecks([](const std::vector<Tensor>& in) { return softmax(in[0].t(), 1) * in[0].t(); }, {y});
  require_gradchecks([](const std::vector<Tensor>& in) { return log_softmax(in[0] * 3.0, 0).exp(); }, {y});
}

TEST_CASE("softmax and log_softmax reject bad dims and integer tensors", "[softmax][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(softmax(zeros({2, 3}), 2), ValueError, "softmax", "dim 2");
  XGRAD_REQUIRE_THROWS_WITH(log_softmax(zeros({2, 3}), -3), ValueError, "log_softmax", "dim -3");
  XGRAD_REQUIRE_THROWS_WITH(softmax(labels({1, 2}), 0), DTypeError, "softmax", "i64");
  XGRAD_REQUIRE_THROWS_WITH(log_softmax(Tensor(), 0), Error, "log_softmax", "undefined");
}

// ---- nll_loss ---------------------------------------------------------------------

TEST_CASE("nll_loss gives hand-computed values for every reduction", "[loss][nll]") {
  const Tensor logp = f64_tensor({-1, -2, -3, -0.5, -1.5, -2.5}, {2, 3});
  const Tensor t = labels({0, 2});
  require_values(nll_loss(logp, t, {.reduction = Reduction::none}), {1, 2.5});
  CHECK(nll_loss(logp, t, {.reduction = Reduction::none}).shape() == Shape{2});
  CHECK(nll_loss(logp, t, {.reduction = Reduction::sum}).item() == 3.5);
  CHECK(nll_loss(logp, t).item() == 1.75);  // mean is the default
  CHECK(nll_loss(logp, t).shape().empty());
  CHECK(nll_loss(logp, t).dtype() == f64);
}

TEST_CASE("nll_loss skips ignore_index in the value, the mean and the gradient", "[loss][nll]") {
  Tensor logp = f64_tensor({-1, -2, -3, -0.5, -1.5, -2.5, -4, -5, -6}, {3, 3}, true);
  const Tensor t = labels({0, -100, 1});
  require_values(nll_loss(logp, t, {.reduction = Reduction::none}), {1, 0, 5});
  CHECK(nll_loss(logp, t, {.reduction = Reduction::sum}).item() == 6);
  const Tensor loss = nll_loss(logp, t);  // (1 + 5) / 2 counted targets
  CHECK(loss.item() == 3);
  loss.backward();
  require_values(logp.grad(), {-0.5, 0, 0, 0, 0, 0, 0, -0.5, 0});

  // Another ignore_index, which may also be a valid class number.
  CHECK(nll_loss(logp, labels({0, 2, 2}), {.ignore_index = 2}).item() == 1);
}

TEST_CASE("mean over targets that are all ignored is NaN, as in PyTorch", "[loss][nll]") {
  Tensor logp = f64_tensor({-1, -2, -3, -4}, {2, 2}, true);
  const Tensor t = labels({-100, -100});
  const Tensor loss = nll_loss(logp, t);
  CHECK(std::isnan(loss.item()));
  loss.backward();
  require_values(logp.grad(), {0, 0, 0, 0});  // nothing reaches the input
  CHECK(nll_loss(logp, t, {.reduction = Reduction::sum}).item() == 0);
  CHECK(std::isnan(cross_entropy(logp, t, {.label_smoothing = 0.3}).item()));
}

TEST_CASE("nll_loss gradients pass gradcheck", "[loss][nll][gradcheck]") {
  manual_seed(31);
  for (const Shape& shape : class_shapes)
    for (Reduction reduction : all_reductions)
      for (std::int64_t ignore : ignore_cases(target_shape(shape))) {
        INFO("shape " << shape_to_string(shape) << ", reduction " << static_cast<int>(reduction) << ", ignore "
                      << ignore);
        const Tensor t = gradcheck_labels(shape, ignore);
        require_gradchecks(
            [&](const std::vector<Tensor>& in) {
              return nll_loss(in[0], t, {.reduction = reduction, .ignore_index = ignore});
            },
            {leaf(shape)});
      }
}

// ---- cross_entropy ----------------------------------------------------------------

TEST_CASE("cross_entropy gives hand-computed values and gradient", "[loss][cross_entropy]") {
  const Tensor t = labels({2, 1});
  require_values(cross_entropy(example_logits(), t, {.reduction = Reduction::none}), {lse0 - 3, lse1});
  CHECK(cross_entropy(example_logits(), t, {.reduction = Reduction::sum}).item() ==
        Approx(lse0 - 3 + lse1).epsilon(1e-14));
  CHECK(cross_entropy(example_logits(), t).item() == Approx(0.9076059644443802).epsilon(1e-14));

  // d mean / d logits = (softmax - onehot) / N.
  Tensor logits = example_logits(true);
  cross_entropy(logits, t).backward();
  require_values(logits.grad(), {p0 / 2, p1 / 2, (p2 - 1) / 2, p2 / 2, (p1 - 1) / 2, p0 / 2}, 1e-14);

  // Label smoothing 0.1 (worked out above).
  require_values(cross_entropy(example_logits(), t, {.reduction = Reduction::none, .label_smoothing = 0.1}),
                 {0.5076059644443801, 1.4076059644443804});
  CHECK(cross_entropy(example_logits(), t, {.label_smoothing = 0.1}).item() ==
        Approx((0.5076059644443801 + 1.4076059644443804) / 2).epsilon(1e-14));
  // Full smoothing leaves only the class-average term.
  require_values(cross_entropy(example_logits(), t, {.reduction = Reduction::none, .label_smoothing = 1.0}),
                 {lse0 - 2, lse1});
}

TEST_CASE("cross_entropy with label smoothing and ignore_index", "[loss][cross_entropy]") {
  // Row 1 ignored: it adds nothing to either term, and the mean counts one target.
  const Tensor t = labels({2, -100});
  require_values(cross_entropy(example_logits(), t, {.reduction = Reduction::none, .label_smoothing = 0.1}),
                 {0.5076059644443801, 0});
  CHECK(cross_entropy(example_logits(), t, {.label_smoothing = 0.1}).item() ==
        Approx(0.5076059644443801).epsilon(1e-14));
  Tensor logits = example_logits(true);
  cross_entropy(logits, t, {.label_smoothing = 0.1}).backward();
  // Row 0: softmax - (0.9 onehot + 0.1 / 3); row 1: nothing.
  require_values(logits.grad(), {p0 - 0.1 / 3, p1 - 0.1 / 3, p2 - 0.9 - 0.1 / 3, 0, 0, 0}, 1e-14);
}

TEST_CASE("cross_entropy is stable for large logits", "[loss][cross_entropy]") {
  for (DType dtype : {f32, f64}) {
    const Tensor big = from_vector(std::vector<double>{1000, 0, -1000, 1000}, {2, 2}, {.dtype = dtype});
    require_values(cross_entropy(big, labels({1, 1}), {.reduction = Reduction::none}), {1000, 0});
  }
}

TEST_CASE("cross_entropy over K-dim inputs equals the flattened [N*d1*d2, C] case", "[loss][cross_entropy]") {
  manual_seed(32);
  const Tensor logits = randn({2, 3, 4, 5}, {.dtype = f64});
  const Tensor t = random_labels({2, 4, 5}, 3);
  const Tensor flat_logits = logits.permute({0, 2, 3, 1}).reshape({-1, 3});
  const Tensor flat_t = t.reshape({-1});
  for (Reduction reduction : all_reductions)
    for (double smoothing : {0.0, 0.25}) {
      INFO("reduction " << static_cast<int>(reduction) << ", smoothing " << smoothing);
      const CrossEntropyOptions options{.reduction = reduction, .label_smoothing = smoothing};
      const Tensor loss = cross_entropy(logits, t, options);
      CHECK(loss.shape() == (reduction == Reduction::none ? Shape{2, 4, 5} : Shape{}));
      require_values(loss, values(cross_entropy(flat_logits, flat_t, options)), 1e-12);
    }
  // Targets may be a non-contiguous view.
  const Tensor t_view = t.transpose(1, 2).contiguous().transpose(1, 2);
  CHECK_FALSE(t_view.is_contiguous());
  CHECK(cross_entropy(logits, t_view).item() == Approx(cross_entropy(logits, t).item()).epsilon(1e-14));
}

TEST_CASE("cross_entropy equals log_softmax followed by nll_loss", "[loss][cross_entropy]") {
  manual_seed(33);
  const Tensor logits = randn({5, 4, 3}, {.dtype = f64});
  const Tensor t = labels({0, 3, -100, 2, 1, 1, 3, 0, 2, -100, 0, 1, 2, 3, 3}, {5, 3});
  for (Reduction reduction : all_reductions)
    require_values(cross_entropy(logits, t, {.reduction = reduction}),
                   values(nll_loss(log_softmax(logits, 1), t, {.reduction = reduction})), 1e-12);
}

TEST_CASE("cross_entropy gradients pass gradcheck", "[loss][cross_entropy][gradcheck]") {
  manual_seed(34);
  for (const Shape& shape : class_shapes)
    for (Reduction reduction : all_reductions)
      for (double smoothing : {0.0, 0.3})
        for (std::int64_t ignore : ignore_cases(target_shape(shape))) {
          INFO("shape " << shape_to_string(shape) << ", reduction " << static_cast<int>(reduction) << ", smoothing "
                        << smoothing << ", ignore " << ignore);
          const Tensor t = gradcheck_labels(shape, ignore);
          const CrossEntropyOptions options{.reduction = reduction, .ignore_index = ignore, .label_smoothing = smoothing};
          require_gradchecks([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, options); },
                            {leaf(shape)});
        }
}

TEST_CASE("class losses in f32 agree with f64", "[loss]") {
  manual_seed(35);
  const Tensor logits = randn({6, 5, 2}, {.dtype = f64}) * 3.0;
  const Tensor t = random_labels({6, 2}, 5);
  for (Reduction reduction : all_reductions) {
    const CrossEntropyOptions options{.reduction = reduction, .label_smoothing = 0.1};
    const Tensor l32 = cross_entropy(logits.to(f32), t, options);
    CHECK(l32.dtype() == f32);
    require_values(l32, values(cross_entropy(logits, t, options)), 1e-5);
    require_values(nll_loss(logits.to(f32), t, {.reduction = reduction}),
                   values(nll_loss(logits, t, {.reduction = reduction})), 1e-5);
  }
  Tensor a = logits.to(f32).detach().requires_grad_();
  Tensor b = logits.detach().requires_grad_();
  cross_entropy(a, t).backward();
  cross_entropy(b, t).backward();
  CHECK(a.grad().dtype() == f32);
  require_values(a.grad(), values(b.grad()), 1e-6);
}

TEST_CASE("class losses reject bad targets with clear messages", "[loss][errors]") {
  const Tensor logits = zeros({2, 3});
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({2})), DTypeError, "cross_entropy", "i64", "f32");
  XGRAD_REQUIRE_THROWS_WITH(nll_loss(logits, zeros({2}, {.dtype = f64})), DTypeError, "nll_loss", "i64", "f64");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, labels({0, 1, 2})), ShapeError, "cross_entropy", "[3]",
                            "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(nll_loss(zeros({2, 3, 4}), labels({0, 1}, {2})), ShapeError, "nll_loss", "[2]",
                            "[2, 3, 4]", "[2, 4]");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(zeros({3}), labels({0})), ShapeError, "cross_entropy", "unbatched",
                            "[3]", "0-d target", "[1]");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(zeros({}), labels({0})), ShapeError, "cross_entropy", "[N, C]", "[]");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, labels({0, 3})), ValueError, "cross_entropy", "target 3",
                            "position [1]", "3 classes");
  XGRAD_REQUIRE_THROWS_WITH(nll_loss(logits, labels({-1, 0})), ValueError, "nll_loss", "target -1", "position [0]",
                            "3 classes", "ignore_index -100");
  XGRAD_REQUIRE_THROWS_WITH(nll_loss(logits, labels({-100, 0}), {.ignore_index = 1}), ValueError, "target -100");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(zeros({2, 3, 2, 2}), labels({0, 1, 2, 0, 1, 7, 2, 0}, {2, 2, 2})),
                            ValueError, "target 7", "position [1, 0, 1]", "3 classes");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(labels({0, 1}, {1, 2}), labels({0})), DTypeError, "cross_entropy", "i64");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, labels({0, 1}), {.label_smoothing = 1.5}), ValueError,
                            "cross_entropy", "label_smoothing", "1.5");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, labels({0, 1}), {.label_smoothing = -0.1}), ValueError,
                            "label_smoothing");
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(logits, Tensor()), Error, "cross_entropy", "target", "undefined");
}

// ---- mse_loss -------------------------------------------------------------------

TEST_CASE("mse_loss gives hand-computed values for every reduction", "[loss][mse]") {
  const Tensor input = f64_tensor({1, 2, 3, 4}, {2, 2});
  const Tensor target = f64_tensor({0, 2, 5, 1}, {2, 2});  // squared errors 1, 0, 4, 9
  require_values(mse_loss(input, target, {.reduction = Reduction::none}), {1, 0, 4, 9});
  CHECK(mse_loss(input, target, {.reduction = Reduction::none}).shape() == Shape{2, 2});
  CHECK(mse_loss(input, target, {.reduction = Reduction::sum}).item() == 14);
  CHECK(mse_loss(input, target).item() == 3.5);
  CHECK(mse_loss(input.to(f32), target.to(f32)).item() == Approx(3.5));

  Tensor x = f64_tensor({1, 2, 3, 4}, {2, 2}, true);
  mse_loss(x, target).backward();  // 2 (x - t) / 4
  require_values(x.grad(), {0.5, 0, -1, 1.5});

  const Tensor empty = zeros({0, 2}, {.dtype = f64});
  CHECK(std::isnan(mse_loss(empty, empty).item()));
  CHECK(mse_loss(empty, empty, {.reduction = Reduction::sum}).item() == 0);
}

TEST_CASE("mse_loss gradients pass gradcheck for input and target", "[loss][mse][gradcheck]") {
  manual_seed(36);
  for (const Shape& shape : std::vector<Shape>{{5}, {3, 4}, {2, 1, 3}, {}})
    for (Reduction reduction : all_reductions) {
      INFO("shape " << shape_to_string(shape) << ", reduction " << static_cast<int>(reduction));
      require_gradchecks(
          [reduction](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], {.reduction = reduction}); },
          {leaf(shape), leaf(shape)});
    }
}

TEST_CASE("mse_loss rejects shapes that do not broadcast, and mixed dtypes", "[loss][mse][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({2})), ShapeError, "mse_loss", "[2, 3]", "[2]");
  XGRAD_REQUIRE_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({3, 2})), ShapeError, "mse_loss", "[2, 3]", "[3, 2]");
  XGRAD_REQUIRE_THROWS_WITH(mse_loss(zeros({2}), zeros({2}, {.dtype = f64})), DTypeError, "mse_loss", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(mse_loss(labels({1, 2}), labels({1, 2})), DTypeError, "mse_loss", "i64");
}
