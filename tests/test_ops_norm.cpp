// batch_norm, dropout, local_response_norm and pad: values against hand-computed
// and naive references, running statistics, gradchecks, f32 against f64, errors;
// and the SIMD loops (batch norm's, local response norm's power) against their
// scalar twins on every instruction set the CPU has.

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/norm.hpp"
#include "kernels/simd.hpp"
#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// ---- naive references (double, straight from the definitions) -------------------------

// [N, C, *spatial] seen as [N, C, S]; the channel of flat index i is (i / S) % C.
struct Layout {
  std::int64_t N, C, S;
  explicit Layout(const Shape& shape) : N(shape[0]), C(shape[1]), S(1) {
    for (std::size_t d = 2; d < shape.size(); ++d) S *= shape[d];
  }
  std::int64_t channel(std::size_t i) const { return (static_cast<std::int64_t>(i) / S) % C; }
};

struct ChannelStats {
  std::vector<double> mean, var;  // biased variance
};

ChannelStats naive_stats(const Tensor& x) {
  const Layout l(x.shape());
  const std::vector<double> v = values(x);
  ChannelStats s{std::vector<double>(l.C, 0.0), std::vector<double>(l.C, 0.0)};
  const double n = static_cast<double>(l.N * l.S);
  for (std::size_t i = 0; i < v.size(); ++i) s.mean[l.channel(i)] += v[i] / n;
  for (std::size_t i = 0; i < v.size(); ++i) s.var[l.channel(i)] += std::pow(v[i] - s.mean[l.channel(i)], 2) / n;
  return s;
}

// (x - mean) / sqrt(var + eps) * gamma + beta; undefined gamma / beta mean 1 / 0.
std::vector<double> naive_batch_norm(const Tensor& x, const ChannelStats& s, const Tensor& gamma, const Tensor& beta,
                                     double eps) {
  const Layout l(x.shape());
  const std::vector<double> v = values(x);
  const std::vector<double> g = gamma.defined() ? values(gamma) : std::vector<double>(l.C, 1.0);
  const std::vector<double> b = beta.defined() ? values(beta) : std::vector<double>(l.C, 0.0);
  std::vector<double> y(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::int64_t c = l.channel(i);
    y[i] = (v[i] - s.mean[c]) / std::sqrt(s.var[c] + eps) * g[c] + b[c];
  }
  return y;
}

std::vector<double> naive_local_response_norm(const Tensor& x, const LocalResponseNormOptions& o) {
  const Layout l(x.shape());
  const std::vector<double> v = values(x);
  std::vector<double> y(v.size());
  for (std::int64_t n = 0; n < l.N; ++n)
    for (std::int64_t c = 0; c < l.C; ++c)
      for (std::int64_t s = 0; s < l.S; ++s) {
        double sum = 0;
        for (std::int64_t w = c - o.size / 2; w <= c + (o.size - 1) / 2; ++w)
          if (w >= 0 && w < l.C) sum += std::pow(v[(n * l.C + w) * l.S + s], 2);
        const std::size_t at = (n * l.C + c) * l.S + s;
        y[at] = v[at] / std::pow(o.k + o.alpha / static_cast<double>(o.size) * sum, o.beta);
      }
  return y;
}

void require_close(const std::vector<double>& got, const std::vector<double>& expected, double tol) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(got[i] == Approx(expected[i]).epsilon(tol).margin(tol));
  }
}

// The shapes batch norm is checked over: [N, C] and 1-D/2-D/3-D spatial, with
// N = 1 (spatial > 1), 2 and 3.
const std::vector<Shape> kBatchNormShapes = {{2, 3},          {3, 2},          {1, 2, 5},      {2, 3, 3},
                                             {3, 2, 4},       {1, 2, 3, 3},    {2, 2, 3, 2},   {3, 2, 2, 3},
                                             {1, 2, 2, 3, 2}, {2, 2, 2, 1, 3}, {3, 1, 2, 2, 2}};

Tensor positive_variances(std::int64_t channels) { return rand({channels}, {.dtype = f64}) + 0.5; }

// ---- SIMD loops against their scalar twins ------------------------------------------

constexpr float kSentinel = -7.5f;

// `count` runs of `length` with a gap of 3 between runs, the gaps holding kSentinel.
struct RunData {
  kernels::ChannelRuns runs;
  std::vector<float> a, b;
  RunData(std::int64_t count, std::int64_t length) : runs{count, length + 3, length} {
    const auto size = static_cast<std::size_t>(count * runs.stride);
    a = rand({static_cast<std::int64_t>(size)}).to_vector<float>();
    b = randn({static_cast<std::int64_t>(size)}).to_vector<float>();
    for (float& v : a) v = 3.0f + 2.0f * v;  // a mean away from 0, as real activations have
  }
  std::vector<float> output() const { return std::vector<float>(a.size(), kSentinel); }
  bool in_gap(std::size_t i) const { return static_cast<std::int64_t>(i) % runs.stride >= runs.length; }
};

void require_same_outputs(const RunData& data, const std::vector<float>& simd, const std::vector<float>& scalar) {
  for (std::size_t i = 0; i < simd.size(); ++i) {
    INFO("element " << i);
    if (data.in_gap(i)) {
      REQUIRE(simd[i] == kSentinel);
    } else {
      REQUIRE(simd[i] == Approx(scalar[i]).epsilon(1e-5).margin(1e-5));
    }
  }
}

// f32 partial sums against a double sum: the error grows with the number of terms.
void require_same_sum(const RunData& data, double simd, double scalar) {
  const auto terms = static_cast<double>(data.runs.count * data.runs.length);
  REQUIRE(simd == Approx(scalar).epsilon(1e-6).margin(1e-5 * (1 + terms)));
}

}  // namespace

// ---- batch norm: values --------------------------------------------------------------

TEST_CASE("batch_norm in training normalises with the batch statistics", "[norm][batch_norm][values]") {
  // Channel 0 holds 1, 3 (mean 2, variance 1), channel 1 holds 10, 20 (mean 15, variance 25).
  const Tensor x = f64_tensor({1, 10, 3, 20}, {2, 2});
  require_values(batch_norm(x, {}, {}, {}, {}, {.training = true, .eps = 0}), {-1, -1, 1, 1});
  const Tensor w = f64_tensor({2, 3}), b = f64_tensor({0.5, -1});
  require_values(batch_norm(x, {}, {}, w, b, {.training = true, .eps = 0}), {-1.5, -4, 2.5, 2});
  require_values(batch_norm(x, {}, {}, w, {}, {.training = true, .eps = 0}), {-2, -3, 2, 3});
  require_values(batch_norm(x, {}, {}, {}, b, {.training = true, .eps = 0}), {-0.5, -2, 1.5, 0});
  // eps joins the variance: (1 - 2) / sqrt(1 + 3) = -0.5.
  require_values(batch_norm(x, {}, {}, {}, {}, {.training = true, .eps = 3}).select(1, 0), {-0.5, 0.5});
}

TEST_CASE("batch_norm in evaluation normalises with the running statistics", "[norm][batch_norm][values]") {
  const Tensor x = f64_tensor({1, 10, 3, 20}, {2, 2});
  const Tensor rm = f64_tensor({1, 20}), rv = f64_tensor({4, 100});
  require_values(batch_norm(x, rm, rv, {}, {}, {.eps = 0}), {0, -1, 1, 0});
  require_values(batch_norm(x, rm, rv, f64_tensor({2, 3}), f64_tensor({1, 1}), {.eps = 0}), {1, -2, 3, 1});
  require_values(rm, {1, 20});  // evaluation leaves the running statistics alone
  require_values(rv, {4, 100});
}

TEST_CASE("batch_norm matches a naive reference over 1-D, 2-D and 3-D inputs", "[norm][batch_norm][values]") {
  manual_seed(1);
  for (const Shape& shape : kBatchNormShapes) {
    INFO("shape " << shape_to_string(shape));
    const std::int64_t C = shape[1];
    const Tensor x = randn(shape, {.dtype = f64}) * 3.0 + 2.0;
    const Tensor w = randn({C}, {.dtype = f64}), b = randn({C}, {.dtype = f64});
    const Tensor rm = randn({C}, {.dtype = f64}), rv = positive_variances(C);
    require_close(values(batch_norm(x, {}, {}, w, b, {.training = true})),
                  naive_batch_norm(x, naive_stats(x), w, b, 1e-5), 1e-12);
    require_close(values(batch_norm(x, rm, rv, w, b, {.training = false, .eps = 1e-3})),
                  naive_batch_norm(x, {values(rm), values(rv)}, w, b, 1e-3), 1e-12);
  }
}

TEST_CASE("batch_norm reads non-contiguous inputs and parameters", "[norm][batch_norm][views]") {
  manual_seed(2);
  const Tensor x = randn({3, 4, 5}, {.dtype = f64}).transpose(0, 2);  // [5, 4, 3]
  const Tensor w = randn({4, 2}, {.dtype = f64}).select(1, 1);        // stride 2
  REQUIRE_FALSE(x.is_contiguous());
  REQUIRE_FALSE(w.is_contiguous());
  require_close(values(batch_norm(x, {}, {}, w, {}, {.training = true})),
                values(batch_norm(x.contiguous(), {}, {}, w.contiguous(), {}, {.training = true})), 1e-14);
}

// ---- batch norm: running statistics -----------------------------------------------------

TEST_CASE("batch_norm updates the running statistics with momentum and the unbiased variance",
          "[norm][batch_norm][running]") {
  // [2, 2, 2]: channel 0 holds 1, 2, 3, 6 (mean 3, unbiased variance 14/3),
  // channel 1 holds 0, 0, 4, 4 (mean 2, unbiased variance 16/3).
  const Tensor x1 = f64_tensor({1, 2, 0, 0, 3, 6, 4, 4}, {2, 2, 2});
  // Then channel 0 holds 0, 0, 4, 4 and channel 1 holds 2, 2, 2, 2 (variance 0).
  const Tensor x2 = f64_tensor({0, 0, 2, 2, 4, 4, 2, 2}, {2, 2, 2});
  Tensor rm = zeros({2}, {.dtype = f64}), rv = ones({2}, {.dtype = f64});

  batch_norm(x1, rm, rv, {}, {}, {.training = true, .momentum = 0.1});
  require_values(rm, {0.3, 0.2});
  require_values(rv, {0.9 + 0.1 * 14 / 3.0, 0.9 + 0.1 * 16 / 3.0});

  batch_norm(x2, rm, rv, {}, {}, {.training = true, .momentum = 0.1});
  require_values(rm, {0.9 * 0.3 + 0.1 * 2, 0.9 * 0.2 + 0.1 * 2});
  require_values(rv, {0.9 * (0.9 + 0.1 * 14 / 3.0) + 0.1 * 16 / 3.0, 0.9 * (0.9 + 0.1 * 16 / 3.0)});

  // momentum 1 keeps just the last batch; evaluation then uses it.
  batch_norm(x1, rm, rv, {}, {}, {.training = true, .momentum = 1.0});
  require_values(rm, {3, 2});
  require_values(rv, {14 / 3.0, 16 / 3.0});
  require_values(batch_norm(x1, rm, rv, {}, {}, {.training = false, .eps = 0}).select(1, 0),
                 {-2 / std::sqrt(14 / 3.0), -1 / std::sqrt(14 / 3.0), 0, 3 / std::sqrt(14 / 3.0)});
}

TEST_CASE("batch_norm's running statistics match a naive reference", "[norm][batch_norm][running]") {
  manual_seed(3);
  const Shape shape{3, 4, 2, 3};
  const double n = 3 * 2 * 3, momentum = 0.25;
  Tensor rm = randn({4}, {.dtype = f64}), rv = positive_variances(4);
  std::vector<double> expected_mean = values(rm), expected_var = values(rv);
  for (int step = 0; step < 2; ++step) {
    const Tensor x = randn(shape, {.dtype = f64}) + static_cast<double>(step);
    const ChannelStats s = naive_stats(x);
    for (std::size_t c = 0; c < 4; ++c) {
      expected_mean[c] = (1 - momentum) * expected_mean[c] + momentum * s.mean[c];
      expected_var[c] = (1 - momentum) * expected_var[c] + momentum * s.var[c] * n / (n - 1);
    }
    batch_norm(x, rm, rv, {}, {}, {.training = true, .momentum = momentum});
    require_close(values(rm), expected_mean, 1e-12);
    require_close(values(rv), expected_var, 1e-12);
  }
}

TEST_CASE("batch_norm updates the running statistics in place, as any in-place op",
          "[norm][batch_norm][running][autograd]") {
  manual_seed(4);
  Tensor rm = zeros({3}, {.dtype = f64}), rv = ones({3}, {.dtype = f64});
  const Tensor w = leaf({3});
  const Tensor uses_rm = (rm * w).sum();  // saves rm for backward
  const Tensor x = leaf({4, 3});
  const Tensor y = batch_norm(x, rm, rv, {}, {}, {.training = true});
  CHECK_FALSE(rm.requires_grad());
  CHECK_FALSE(rv.requires_grad());
  XGRAD_REQUIRE_THROWS_WITH(uses_rm.backward(), AutogradError, "modified by an in-place operation");
  y.sum().backward();  // batch_norm's own graph does not depend on the buffers
  CHECK(x.grad().defined());
}

// ---- batch norm: gradients --------------------------------------------------------------

namespace {

// gradcheck of batch_norm over `shape` in training or evaluation, for the input and
// whichever of weight and bias are present.
void require_batch_norm_gradcheck(const Shape& shape, bool training, bool with_weight, bool with_bias) {
  INFO("shape " << shape_to_string(shape) << (training ? " training" : " evaluation") << " weight " << with_weight
                << " bias " << with_bias);
  const std::int64_t C = shape[1];
  const Tensor rm = randn({C}, {.dtype = f64}), rv = positive_variances(C);
  std::vector<Tensor> inputs{leaf(shape)};
  if (with_weight) inputs.push_back(leaf({C}));
  if (with_bias) inputs.push_back(leaf({C}));
  require_gradchecks(
      [=](const std::vector<Tensor>& in) {
        std::size_t next = 1;
        const Tensor w = with_weight ? in[next++] : Tensor();
        const Tensor b = with_bias ? in[next++] : Tensor();
        return batch_norm(in[0], rm, rv, w, b, {.training = training, .momentum = 0.2});
      },
      inputs);
}

}  // namespace

TEST_CASE("batch_norm passes gradcheck in training over 1-D, 2-D and 3-D inputs", "[norm][batch_norm][gradcheck]") {
  manual_seed(5);
  for (const Shape& shape : kBatchNormShapes)
    for (const bool with_weight : {true, false})
      for (const bool with_bias : {true, false}) require_batch_norm_gradcheck(shape, true, with_weight, with_bias);
}

TEST_CASE("batch_norm passes gradcheck in evaluation over 1-D, 2-D and 3-D inputs", "[norm][batch_norm][gradcheck]") {
  manual_seed(6);
  for (const Shape& shape : kBatchNormShapes)
    for (const bool with_weight : {true, false})
      for (const bool with_bias : {true, false}) require_batch_norm_gradcheck(shape, false, with_weight, with_bias);
}

TEST_CASE("batch_norm gives gradients to weight and bias alone, and to a non-contiguous input",
          "[norm][batch_norm][gradcheck]") {
  manual_seed(7);
  const Tensor frozen_input = randn({3, 2, 4}, {.dtype = f64});
  for (const bool training : {true, false}) {
    INFO((training ? "training" : "evaluation"));
    const Tensor rm = randn({2}, {.dtype = f64}), rv = positive_variances(2);
    require_gradchecks(
        [=](const std::vector<Tensor>& in) {
          return batch_norm(frozen_input, rm, rv, in[0], in[1], {.training = training});
        },
        {leaf({2}), leaf({2})});
    require_gradchecks(
        [=](const std::vector<Tensor>& in) {
          return batch_norm(in[0].transpose(1, 2), rm, rv, in[1], {}, {.training = training});
        },
        {leaf({2, 3, 2}), leaf({2})});
  }
}

TEST_CASE("batch_norm's gradients have the closed forms", "[norm][batch_norm][gradients]") {
  // With dy = 1 everywhere the training input gradient vanishes (sum(dy) and
  // sum(dy * xhat) remove it), dbeta counts the elements and dgamma = sum(xhat) = 0.
  manual_seed(8);
  const Tensor x = leaf({4, 2, 3}), w = leaf({2}), b = leaf({2});
  batch_norm(x, {}, {}, w, b, {.training = true}).sum().backward();
  require_close(values(x.grad()), std::vector<double>(24, 0.0), 1e-12);
  require_values(b.grad(), {12, 12});
  require_close(values(w.grad()), {0, 0}, 1e-12);
  // In evaluation dx = dy * gamma * invstd.
  const Tensor x2 = leaf({2, 2}), w2 = f64_tensor({2, -1});
  batch_norm(x2, f64_tensor({0, 0}), f64_tensor({4, 0.25}), w2, {}, {.eps = 0}).sum().backward();
  require_values(x2.grad(), {1, -2, 1, -2});
}

// ---- batch norm: f32 ----------------------------------------------------------------------

TEST_CASE("batch_norm in f32 agrees with f64", "[norm][batch_norm][f32]") {
  manual_seed(9);
  // Long channels (many SIMD blocks and a vector tail) with a mean away from 0.
  for (const Shape& shape : {Shape{4, 3, 37, 41}, Shape{2, 5, 1001}, Shape{64, 7}, Shape{3, 2, 5, 3, 3}}) {
    INFO("shape " << shape_to_string(shape));
    const std::int64_t C = shape[1];
    const Tensor x32 = randn(shape) * 2.0f + 5.0f;
    const Tensor w32 = randn({C}), b32 = randn({C}), dy32 = randn(shape);
    const Tensor x64 = x32.to(f64).requires_grad_(), w64 = w32.to(f64).requires_grad_(),
                 b64 = b32.to(f64).requires_grad_();
    const Tensor rm32 = zeros({C}), rv32 = ones({C});
    const Tensor rm64 = zeros({C}, {.dtype = f64}), rv64 = ones({C}, {.dtype = f64});
    for (const bool training : {true, false}) {
      INFO((training ? "training" : "evaluation"));
      Tensor x = x32.detach().requires_grad_(), w = w32.detach().requires_grad_(), b = b32.detach().requires_grad_();
      const Tensor y32 = batch_norm(x, rm32, rv32, w, b, {.training = training});
      const Tensor y64 = batch_norm(x64, rm64, rv64, w64, b64, {.training = training});
      require_close(values(y32), values(y64), 1e-5);
      y32.backward(dy32);
      y64.backward(dy32.to(f64));
      require_close(values(x.grad()), values(x64.grad()), 1e-4);
      require_close(values(w.grad()), values(w64.grad()), 1e-4);
      require_close(values(b.grad()), values(b64.grad()), 1e-4);
      x64.grad().zero_();
      w64.grad().zero_();
      b64.grad().zero_();
    }
    require_close(values(rm32), values(rm64), 1e-5);
    require_close(values(rv32), values(rv64), 1e-5);
  }
}

namespace {

// Each SIMD loop, compiled for `arch`, against its scalar twin on run lengths
// that exercise the vector tails (0 .. 3 * 16 + 1) and several f32 blocks.
template <class Arch>
void require_simd_loops_match_scalar(Arch arch) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t n = 0; n <= 3 * 16 + 1; ++n) lengths.push_back(n);
  lengths.push_back(2000);
  for (const std::int64_t count : {1, 3})
    for (const std::int64_t length : lengths) {
      INFO(Arch::name() << ": runs " << count << " of length " << length);
      const RunData d(count, length);
      const float center = 2.5f;
      require_same_sum(d, kernels::ChannelSumKernel{}(arch, d.a.data(), d.runs),
                       kernels::channel_sum_reference(d.a.data(), d.runs));
      require_same_sum(d, kernels::ChannelSquaredDeviationKernel{}(arch, d.a.data(), d.runs, center),
                       kernels::channel_squared_deviation_reference(d.a.data(), d.runs, center));
      const kernels::ChannelGradSums got =
          kernels::ChannelGradSumsKernel{}(arch, d.b.data(), d.a.data(), d.runs, center);
      const kernels::ChannelGradSums want =
          kernels::channel_grad_sums_reference(d.b.data(), d.a.data(), d.runs, center);
      require_same_sum(d, got.dy, want.dy);
      require_same_sum(d, got.dy_xc, want.dy_xc);

      const kernels::ChannelAffine<float> a{center, 1.5f, -0.25f};
      std::vector<float> simd = d.output(), scalar = d.output();
      kernels::ChannelAffineKernel{}(arch, d.a.data(), d.runs, a, simd.data());
      kernels::channel_affine_reference(d.a.data(), d.runs, a, scalar.data());
      require_same_outputs(d, simd, scalar);

      const kernels::ChannelGradInput<float> k{center, 0.75f, -0.5f, 0.125f};
      simd = d.output();
      scalar = d.output();
      kernels::ChannelGradInputKernel{}(arch, d.b.data(), d.a.data(), d.runs, k, simd.data());
      kernels::channel_grad_input_reference(d.b.data(), d.a.data(), d.runs, k, scalar.data());
      require_same_outputs(d, simd, scalar);
    }
}

// Local response norm's d^-beta, compiled for `arch`, against std::pow.
template <class Arch>
void require_simd_power_matches_scalar(Arch arch) {
  for (std::int64_t n = 0; n <= 3 * 16 + 1; ++n)
    for (const float beta : {0.75f, 0.3f, 1.5f}) {
      INFO(Arch::name() << ": length " << n << " beta " << beta);
      std::vector<float> d = rand({n}).to_vector<float>();
      for (float& v : d) v = 0.5f + 5.0f * v;
      std::vector<float> simd(static_cast<std::size_t>(n) + 1, kSentinel), scalar(simd.size());
      kernels::NegativePowerKernel{}(arch, d.data(), n, beta, simd.data());
      kernels::negative_power_reference(d.data(), n, beta, scalar.data());
      for (std::int64_t i = 0; i < n; ++i) REQUIRE(simd[i] == Approx(scalar[i]).epsilon(2e-6));
      REQUIRE(simd[n] == kSentinel);  // nothing written past the end
    }
}

}  // namespace

TEST_CASE("batch-norm SIMD loops agree with their scalar twins", "[norm][batch_norm][kernels]") {
  manual_seed(10);
  // Every instruction set this CPU runs, not only the one dispatch picks.
  const auto cpu = xsimd::available_architectures();
  if (cpu.avx512f) require_simd_loops_match_scalar(xsimd::avx512f{});
  if (cpu.fma3_avx2) require_simd_loops_match_scalar(xsimd::fma3<xsimd::avx2>{});
  require_simd_loops_match_scalar(xsimd::sse2{});
}

TEST_CASE("local response norm's SIMD power agrees with std::pow", "[norm][lrn][kernels]") {
  manual_seed(21);
  const auto cpu = xsimd::available_architectures();
  if (cpu.avx512f) require_simd_power_matches_scalar(xsimd::avx512f{});
  if (cpu.fma3_avx2) require_simd_power_matches_scalar(xsimd::fma3<xsimd::avx2>{});
  require_simd_power_matches_scalar(xsimd::sse2{});
}

// ---- batch norm: errors ----------------------------------------------------------------

TEST_CASE("batch_norm rejects bad arguments with clear messages", "[norm][batch_norm][errors]") {
  const Tensor x = zeros({2, 3, 5}, {.dtype = f64});
  const Tensor c3 = zeros({3}, {.dtype = f64}), v3 = ones({3}, {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(zeros({3}), {}, {}, {}, {}, {.training = true}), ShapeError, "batch_norm",
                            "[N, C]", "[3]");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, {}, {}, zeros({4}, {.dtype = f64}), {}, {.training = true}), ShapeError,
                            "batch_norm: weight has shape [4]", "[2, 3, 5]", "3 channels");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, {}, {}, {}, zeros({1, 3}, {.dtype = f64}), {.training = true}), ShapeError,
                            "bias has shape [1, 3]");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, c3, ones({2}, {.dtype = f64}), {}, {}), ShapeError,
                            "running_var has shape [2]");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, zeros({3}), v3, {}, {}), DTypeError, "running_mean", "f32", "f64");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, {}, {}, {}, zeros({3}), {.training = true}), DTypeError, "bias", "f32");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(zeros({2, 3}, {.dtype = i64}), {}, {}, {}, {}, {.training = true}), DTypeError,
                            "batch_norm", "i64");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(zeros({1, 3}), {}, {}, {}, {}, {.training = true}), ValueError,
                            "batch_norm: expected more than 1 value per channel when training, got input [1, 3]");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(zeros({1, 3, 1, 1}), {}, {}, {}, {}, {.training = true}), ValueError,
                            "more than 1 value per channel", "[1, 3, 1, 1]");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, {}, {}, {}, {}, {.training = false}), ValueError, "batch_norm",
                            "running_mean and running_var were not given");
  XGRAD_REQUIRE_THROWS_WITH(batch_norm(x, c3, {}, {}, {}, {.training = true}), ValueError, "only running_mean");
  XGRAD_REQUIRE_THROWS_WITH(
      batch_norm(x, zeros({3}, {.dtype = f64, .requires_grad = true}), v3, {}, {}, {.training = true}), ValueError,
      "running_mean requires grad", "buffers");
  // Evaluation with a single value per channel is fine.
  CHECK(batch_norm(zeros({1, 3}, {.dtype = f64}), c3, v3, {}, {}).shape() == Shape{1, 3});
}

// ---- dropout ---------------------------------------------------------------------------

TEST_CASE("dropout zeroes a fraction p and scales the rest by 1 / (1 - p)", "[norm][dropout]") {
  manual_seed(11);
  const Tensor x = ones({100000}, {.dtype = f64});
  const std::vector<double> y = values(dropout(x, {.p = 0.3}));
  const auto zeros_seen = std::count(y.begin(), y.end(), 0.0);
  const auto scaled = std::count_if(y.begin(), y.end(), [](double v) { return v == Approx(1 / 0.7).epsilon(1e-15); });
  CHECK(zeros_seen + scaled == 100000);
  CHECK(static_cast<double>(zeros_seen) / 100000 == Approx(0.3).margin(0.005));  // ~7 standard deviations
  double mean = 0;
  for (double v : y) mean += v / 100000;
  CHECK(mean == Approx(1.0).margin(0.01));  // expectation preserved
  const std::vector<float> y32 = dropout(ones({1000}), {.p = 0.5}).to_vector<float>();
  for (float v : y32) REQUIRE((v == 0.0f || v == 2.0f));
}

TEST_CASE("dropout is reproducible from a seed or its own generator", "[norm][dropout]") {
  const Tensor x = randn({50}, {.dtype = f64});
  manual_seed(12);
  const std::vector<double> first = values(dropout(x));
  manual_seed(12);
  CHECK(values(dropout(x)) == first);
  CHECK(values(dropout(x)) != first);  // the generator moved on
  Generator a(99), b(99);
  CHECK(values(dropout(x, {.p = 0.4}, &a)) == values(dropout(x, {.p = 0.4}, &b)));
}

TEST_CASE("dropout is the identity in evaluation and for p = 0, and zero for p = 1", "[norm][dropout]") {
  manual_seed(13);
  const Tensor x = leaf({3, 4});
  CHECK(dropout(x, {.p = 0.5, .training = false}).is_same(x));
  CHECK(dropout(x, {.p = 0.0}).is_same(x));
  const Tensor y = dropout(x, {.p = 1.0});
  require_values(y, std::vector<double>(12, 0.0));
  y.sum().backward();
  require_values(x.grad(), std::vector<double>(12, 0.0));
}

TEST_CASE("dropout's gradient is the same scaled mask", "[norm][dropout][gradients]") {
  manual_seed(14);
  const Tensor x = ones({200}, {.dtype = f64, .requires_grad = true});
  const Tensor y = dropout(x, {.p = 0.25});
  y.sum().backward();
  require_values(x.grad(), values(y));  // y = mask * scale * 1
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        Generator g(15);  // the same mask on every call
        return dropout(in[0], {.p = 0.4}, &g);
      },
      {leaf({3, 5})});
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        Generator g(16);
        return dropout(in[0].t(), {.p = 0.5}, &g);
      },
      {leaf({4, 3})});
}

TEST_CASE("dropout rejects p outside [0, 1]", "[norm][dropout][errors]") {
  const Tensor x = zeros({2});
  XGRAD_REQUIRE_THROWS_WITH(dropout(x, {.p = 1.5}), ValueError, "dropout: p must be in [0, 1], got 1.5");
  XGRAD_REQUIRE_THROWS_WITH(dropout(x, {.p = -0.1}), ValueError, "-0.1");
  XGRAD_REQUIRE_THROWS_WITH(dropout(x, {.p = std::nan("")}), ValueError, "nan");
  XGRAD_REQUIRE_THROWS_WITH(dropout(x, {.p = 2, .training = false}), ValueError, "got 2");
  XGRAD_REQUIRE_THROWS_WITH(dropout(zeros({2}, {.dtype = i64})), DTypeError, "dropout", "i64");
}

// ---- local response norm -----------------------------------------------------------------

TEST_CASE("local_response_norm divides by the window's sum of squares", "[norm][lrn][values]") {
  // size 2: channel c averages channels c - 1 and c. Channel 0: 1 / (1 + 1/2 * 1);
  // channel 1: 2 / (1 + 1/2 * (1 + 4)).
  const Tensor x = f64_tensor({1, 2}, {1, 2, 1});
  require_values(local_response_norm(x, {.size = 2, .alpha = 1, .beta = 1, .k = 1}), {1 / 1.5, 2 / 3.5});
  // size 3 centres the window: both channels see 1 + 4; beta 0.5 takes a square root.
  require_values(local_response_norm(x, {.size = 3, .alpha = 3, .beta = 0.5, .k = 2}),
                 {1 / std::sqrt(7.0), 2 / std::sqrt(7.0)});
}

TEST_CASE("local_response_norm matches a naive reference", "[norm][lrn][values]") {
  manual_seed(17);
  for (const Shape& shape : {Shape{2, 5, 3}, Shape{1, 7, 2, 3}, Shape{2, 3, 2, 2, 2}, Shape{3, 4}})
    for (const std::int64_t size : {1, 2, 3, 5, 8}) {
      INFO("shape " << shape_to_string(shape) << " size " << size);
      const LocalResponseNormOptions options{.size = size, .alpha = 0.7, .beta = 0.75, .k = 1.5};
      const Tensor x = randn(shape, {.dtype = f64}) * 2.0;
      require_close(values(local_response_norm(x, options)), naive_local_response_norm(x, options), 1e-12);
    }
  const Tensor x = randn({2, 96, 3, 3}, {.dtype = f64}) * 10.0;  // AlexNet's defaults
  require_close(values(local_response_norm(x)), naive_local_response_norm(x, {}), 1e-12);
}

TEST_CASE("local_response_norm passes gradcheck", "[norm][lrn][gradcheck]") {
  manual_seed(18);
  for (const Shape& shape : {Shape{2, 4, 3}, Shape{1, 5, 2, 2}, Shape{2, 2, 3}, Shape{1, 1, 2, 1, 2}})
    for (const std::int64_t size : {1, 2, 3, 5}) {
      INFO("shape " << shape_to_string(shape) << " size " << size);
      require_gradchecks(
          [size](const std::vector<Tensor>& in) {
            return local_response_norm(in[0], {.size = size, .alpha = 0.8, .beta = 0.75, .k = 1.2});
          },
          {leaf(shape)});
    }
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return local_response_norm(in[0].transpose(0, 2), {.size = 3, .alpha = 2, .beta = 1.5, .k = 2});
      },
      {leaf({3, 4, 2})});
}

TEST_CASE("local_response_norm in f32 agrees with f64", "[norm][lrn][f32]") {
  manual_seed(19);
  const Tensor x32 = randn({2, 9, 5, 7}) * 3.0f;
  const Tensor dy = randn({2, 9, 5, 7});
  const Tensor x = x32.detach().requires_grad_(), x64 = x32.to(f64).requires_grad_();
  const LocalResponseNormOptions options{.size = 5, .alpha = 0.5, .beta = 0.75, .k = 1};
  const Tensor y32 = local_response_norm(x, options), y64 = local_response_norm(x64, options);
  require_close(values(y32), values(y64), 1e-5);
  y32.backward(dy);
  y64.backward(dy.to(f64));
  require_close(values(x.grad()), values(x64.grad()), 1e-5);
}

TEST_CASE("local_response_norm rejects bad arguments", "[norm][lrn][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(local_response_norm(zeros({2, 3}), {.size = 0}), ValueError, "local_response_norm",
                            "size must be at least 1, got 0");
  XGRAD_REQUIRE_THROWS_WITH(local_response_norm(zeros({4})), ShapeError, "local_response_norm", "[4]");
  XGRAD_REQUIRE_THROWS_WITH(local_response_norm(zeros({2, 2}, {.dtype = i64})), DTypeError, "local_response_norm");
}

// ---- pad ---------------------------------------------------------------------------------

TEST_CASE("pad adds constant borders from the last dim backwards", "[pad][values]") {
  const Tensor x = arange(6, {.dtype = f64}).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  require_values(pad(x, {1, 2}, -1), {-1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1});
  require_values(pad(x, {0, 1, 1, 0}), {0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 5, 0});
  CHECK(pad(x, {0, 1, 1, 0}).shape() == Shape{3, 4});
  require_values(pad(x, {-1, 1}, 9), {1, 2, 9, 4, 5, 9});  // negative amounts crop
  require_values(pad(x, {0, 0, -1, 0}), {3, 4, 5});
  require_values(pad(x, {-2, -1}), {});
  CHECK(pad(x, {-2, -1}).shape() == Shape{2, 0});
  require_values(pad(x, {-3, 1}, 7), {7, 7});
  const Tensor copy = pad(x, {});
  CHECK_FALSE(copy.shares_storage(x));
  require_values(copy, values(x));
  require_values(pad(arange(3, {.dtype = i64}), {1, 1}, 7), {7, 0, 1, 2, 7});
  const Tensor cube = pad(ones({1, 1, 1}), {1, 0, 0, 1, 1, 1});
  CHECK(cube.shape() == Shape{3, 2, 2});
  require_values(cube, {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});       // the 1 lands at (1, 0, 1)
  require_values(pad(x.t(), {1, 0}), {0, 0, 3, 0, 1, 4, 0, 2, 5});  // non-contiguous input
}

TEST_CASE("pad passes gradcheck, its gradient cropping back", "[pad][gradcheck]") {
  manual_seed(20);
  const std::vector<std::vector<std::int64_t>> cases = {
      {1, 2}, {-1, 1, 2, 0}, {0, 0, 1, -1, -1, 1}, {2, -3}, {1, 1, 1, 1, 1, 1}, {}, {-2, -1, 0, 0}};
  for (const auto& pads : cases) {
    INFO("pads " << shape_to_string(pads));
    require_gradchecks([pads](const std::vector<Tensor>& in) { return pad(in[0], pads, 0.5); }, {leaf({2, 3, 4})});
  }
  const Tensor x = leaf({2, 3});
  pad(x, {1, -1, -1, 2}, 3).sum().backward();
  require_values(x.grad(), {0, 0, 0, 1, 1, 0});
}

TEST_CASE("pad rejects bad pad lists", "[pad][errors]") {
  const Tensor x = zeros({2, 3});
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {1, 2, 3}), ValueError, "pad", "pairs", "3 values");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {1, 1, 1, 1, 1, 1}), ValueError, "pad", "6 pad values", "3 dims", "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {-2, -2}), ValueError, "pad", "(-2, -2)", "3 elements of dim 1", "[2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {-4, 5}), ValueError, "(-4, 5)");
  XGRAD_REQUIRE_THROWS_WITH(pad(Tensor(), {1, 1}), Error, "pad");
}
