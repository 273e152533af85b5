// The activations of issue #16: elu, selu, celu, silu, hardswish, hardsigmoid, mish,
// softplus, relu6, hardtanh, log_sigmoid and prelu. Values and gradients at chosen
// points (kinks and extremes included) against PyTorch 1.13 (torch.nn.functional,
// float64, computed with /usr/bin/python3 and pasted here); NaN and infinities as
// PyTorch; float32; gradcheck + forward mode + gradgradcheck over shapes, strided
// views and every option, and a third-order check. (Error inputs:
// test_ops_errors_elementwise.cpp.)

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using UnaryFn = std::function<Tensor(const Tensor&)>;
using Domain = std::function<double(double)>;

Tensor vec(const std::vector<double>& values, TensorOptions options = {.dtype = f64}) {
  return from_vector(values, {}, options);
}

// |got - want| <= rel * |want| + abs per element; NaN where NaN is wanted.
void require_close(const Tensor& t, const std::vector<double>& expected, double rel = 1e-14, double abs = 0) {
  const std::vector<double> got = t.to(f64).to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << expected[i]);
    if (std::isnan(expected[i])) {
      REQUIRE(std::isnan(got[i]));
    } else {
      REQUIRE(got[i] == Approx(expected[i]).epsilon(rel).margin(abs));
    }
  }
}

// Output and gradient of sum(fn(x)) at the given f64 values.
std::pair<Tensor, Tensor> value_and_grad(const UnaryFn& fn, const std::vector<double>& at) {
  Tensor x = vec(at, {.dtype = f64, .requires_grad = true});
  const Tensor y = fn(x);
  y.sum().backward();
  return {y.detach(), x.grad()};
}

double anywhere(double v) { return v; }
// Moves v at least `gap` away from `kink`, keeping its side (gradcheck's eps is 1e-6).
Domain away_from(double kink, double gap = 0.1) {
  return [kink, gap](double v) { return v >= kink ? std::max(v, kink + gap) : std::min(v, kink - gap); };
}
Domain away_from_both(double lo, double hi) {
  return [lo, hi](double v) { return away_from(hi)(away_from(lo)(v)); };
}
Domain scaled(double factor, Domain then) {
  return [factor, then](double v) { return then(v * factor); };
}

Tensor sample(const Shape& shape, const Domain& domain, bool requires_grad = true) {
  Tensor t = randn(shape, {.dtype = f64});
  double* p = t.mutable_data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = domain(p[i]);
  t.requires_grad_(requires_grad);
  return t;
}

struct UnaryCase {
  std::string name;
  UnaryFn op;
  Domain domain;  // where the op is smooth (samples are randn, |v| mostly < 3)
};

// Every unary activation with every option; kinks avoided by the domains.
std::vector<UnaryCase> unary_cases() {
  return {
      {"elu", [](const Tensor& x) { return xgrad::elu(x); }, away_from(0)},
      {"elu alpha 0.5", [](const Tensor& x) { return xgrad::elu(x, 0.5); }, away_from(0)},
      {"elu alpha -2", [](const Tensor& x) { return xgrad::elu(x, -2.0); }, away_from(0)},
      {"selu", [](const Tensor& x) { return xgrad::selu(x); }, away_from(0)},
      {"celu", [](const Tensor& x) { return xgrad::celu(x); }, away_from(0)},
      {"celu alpha 2", [](const Tensor& x) { return xgrad::celu(x, 2.0); }, away_from(0)},
      {"celu alpha 0.5", [](const Tensor& x) { return xgrad::celu(x, 0.5); }, away_from(0)},
      {"silu", [](const Tensor& x) { return xgrad::silu(x); }, scaled(3, anywhere)},
      {"hardswish", [](const Tensor& x) { return xgrad::hardswish(x); }, scaled(2.5, away_from_both(-3, 3))},
      {"hardsigmoid", [](const Tensor& x) { return xgrad::hardsigmoid(x); }, scaled(2.5, away_from_both(-3, 3))},
      {"mish", [](const Tensor& x) { return xgrad::mish(x); }, scaled(3, anywhere)},
      {"softplus", [](const Tensor& x) { return xgrad::softplus(x); }, scaled(3, anywhere)},
      // beta x crosses the threshold (a jump of log1p(exp(-5)) / 2 at x = 2.5): both sides.
      {"softplus beta 2 threshold 5", [](const Tensor& x) { return xgrad::softplus(x, 2.0, 5.0); },
       scaled(2, away_from(2.5))},
      {"softplus beta 0.5", [](const Tensor& x) { return xgrad::softplus(x, 0.5); }, scaled(3, anywhere)},
      {"softplus beta -1 threshold 1", [](const Tensor& x) { return xgrad::softplus(x, -1.0, 1.0); },
       scaled(2, away_from(-1))},
      {"relu6", [](const Tensor& x) { return xgrad::relu6(x); }, scaled(3, away_from_both(0, 6))},
      {"hardtanh", [](const Tensor& x) { return xgrad::hardtanh(x); }, scaled(1.5, away_from_both(-1, 1))},
      {"hardtanh -3 to 0.5", [](const Tensor& x) { return xgrad::hardtanh(x, -3.0, 0.5); },
       scaled(2, away_from_both(-3, 0.5))},
      {"log_sigmoid", [](const Tensor& x) { return xgrad::log_sigmoid(x); }, scaled(3, anywhere)},
      {"prelu of one weight 0.25",
       [](const Tensor& x) { return xgrad::prelu(x, full({1}, 0.25, {.dtype = x.dtype()})); },
       away_from(0)},
  };
}

const std::vector<Shape> kShapes = {{}, {5}, {2, 3}, {1, 3, 4}};

}  // namespace

// =============================================================================
// Values and gradients against PyTorch
// =============================================================================

TEST_CASE("activations match PyTorch at kinks and extremes", "[activation][values]") {
  const std::vector<double> points = {-1000.0, -30.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 30.0, 1000.0};
  const struct {
    const char* name;
    UnaryFn op;
    std::vector<double> value, grad;
  } cases[] = {
      {"elu", [](const Tensor& x) { return xgrad::elu(x); },
       {-1.0, -0.9999999999999064, -0.950212931632136, -0.6321205588285577, -0.3934693402873666, 0.0, 0.5, 1.0, 3.0,
        6.0, 30.0, 1000.0},
       {0.0, 9.357622968840175e-14, 0.049787068367863944, 0.36787944117144233, 0.6065306597126334, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0}},
      {"elu alpha 0.5", [](const Tensor& x) { return xgrad::elu(x, 0.5); },
       {-0.5, -0.4999999999999532, -0.475106465816068, -0.31606027941427883, -0.1967346701436833, 0.0, 0.5, 1.0, 3.0,
        6.0, 30.0, 1000.0},
       {0.0, 4.6788114844200874e-14, 0.024893534183931972, 0.18393972058572117, 0.3032653298563167, 0.5, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0}},
      {"elu alpha -2", [](const Tensor& x) { return xgrad::elu(x, -2.0); },
       {2.0, 1.9999999999998128, 1.900425863264272, 1.2642411176571153, 0.7869386805747332, -0.0, 0.5, 1.0, 3.0, 6.0,
        30.0, 1000.0},
       {-0.0, -1.871524593768035e-13, -0.09957413673572789, -0.7357588823428847, -1.2130613194252668, -2.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0}},
      {"selu", [](const Tensor& x) { return xgrad::selu(x); },
       {-1.7580993408473766, -1.758099340847212, -1.6705687287671118, -1.1113307378125625, -0.6917581878028713, 0.0,
        0.5253504936777402, 1.0507009873554805, 3.1521029620664414, 6.304205924132883, 31.521029620664414,
        1050.7009873554805},
       {0.0, 1.6451630773416182e-13, 0.08753061208026487, 0.646768603034814, 1.0663411530445053, 1.7580993408473766,
        1.0507009873554805, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805,
        1.0507009873554805}},
      {"celu", [](const Tensor& x) { return xgrad::celu(x); },
       {-1.0, -0.9999999999999064, -0.950212931632136, -0.6321205588285577, -0.3934693402873666, 0.0, 0.5, 1.0, 3.0,
        6.0, 30.0, 1000.0},
       {0.0, 9.357622968840175e-14, 0.049787068367863944, 0.36787944117144233, 0.6065306597126334, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0}},
      {"celu alpha 2", [](const Tensor& x) { return xgrad::celu(x, 2.0); },
       {-2.0, -1.999999388195359, -1.5537396797031404, -0.7869386805747332, -0.44239843385719024, 0.0, 0.5, 1.0, 3.0,
        6.0, 30.0, 1000.0},
       {7.124576406741286e-218, 3.059023205018258e-07, 0.22313016014842982, 0.6065306597126334, 0.7788007830714049,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
      {"silu", [](const Tensor& x) { return xgrad::silu(x); },
       {-0.0, -2.8072868906517896e-12, -0.14227761953270035, -0.2689414213699951, -0.1887703343990727, 0.0,
        0.3112296656009273, 0.7310585786300049, 2.8577223804672998, 5.985164261060192, 29.999999999997197, 1000.0},
       {-0.0, -2.713710660963134e-12, -0.08810410601516962, 0.07232948812851325, 0.2600388126973482, 0.5,
        0.7399611873026519, 0.9276705118714869, 1.0881041060151693, 1.0123264325915249, 1.000000000002711, 1.0}},
      // At exactly 3 PyTorch 1.13's vectorised kernel gives 1, its scalar path (the last
      // n mod 8 float64 elements, so the 3 here) 1.5; xgrad gives 1, and -0.5 at -3 as both.
      {"hardswish", [](const Tensor& x) { return xgrad::hardswish(x); },
       {-0.0, -0.0, -0.0, -0.3333333333333333, -0.20833333333333334, 0.0, 0.2916666666666667, 0.6666666666666666, 3.0,
        6.0, 30.0, 1000.0},
       {0.0, 0.0, -0.5, 0.16666666666666669, 0.33333333333333337, 0.5, 0.6666666666666666, 0.8333333333333333, 1.0,
        1.0, 1.0, 1.0}},
      // PyTorch's float64 gradient is float(1/6) = 0.1666666716337204; xgrad's is 1/6.
      {"hardsigmoid", [](const Tensor& x) { return xgrad::hardsigmoid(x); },
       {0.0, 0.0, 0.0, 0.3333333333333333, 0.4166666666666667, 0.5, 0.5833333333333334, 0.6666666666666666, 1.0, 1.0,
        1.0, 1.0},
       {0.0, 0.0, 0.0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0.0, 0.0, 0.0, 0.0}},
      {"mish", [](const Tensor& x) { return xgrad::mish(x); },
       {-0.0, -2.807286890651921e-12, -0.1456474612756246, -0.30340146137410895, -0.22074377465173, 0.0,
        0.37524521130489513, 0.8650983882673103, 2.9865350049679575, 5.999926634065252, 30.0, 1000.0},
       {0.0, -2.713710660963392e-12, -0.09339311453232084, 0.059216755877395014, 0.28951067791351226, 0.6,
        0.8864243753577273, 1.0490362200997922, 1.0211069109294435, 1.00013414050621, 1.0, 1.0}},
      {"softplus", [](const Tensor& x) { return xgrad::softplus(x); },
       {0.0, 9.357622968839737e-14, 0.04858735157374206, 0.31326168751822286, 0.4740769841801067, 0.6931471805599453,
        0.9740769841801067, 1.3132616875182228, 3.048587351573742, 6.00247568513773, 30.0, 1000.0},
       {0.0, 9.3576229688393e-14, 0.04742587317756679, 0.2689414213699951, 0.37754066879814546, 0.5,
        0.6224593312018546, 0.7310585786300049, 0.9525741268224333, 0.9975273768433652, 1.0, 1.0}},
      {"softplus beta 2 threshold 5", [](const Tensor& x) { return xgrad::softplus(x, 2.0, 5.0); },
       {0.0, 4.37825538134826e-27, 0.0012378425688652247, 0.06346400552148625, 0.15663084375911143,
        0.34657359027997264, 0.6566308437591114, 1.0634640055214863, 3.0, 6.0, 30.0, 1000.0},
       {0.0, 8.75651076269652e-27, 0.0024726231566347748, 0.11920292202211755, 0.2689414213699951, 0.5,
        0.7310585786300049, 0.8807970779778824, 1.0, 1.0, 1.0, 1.0}},
      {"softplus beta 0.5", [](const Tensor& x) { return xgrad::softplus(x, 0.5); },
       {1.4249152813482571e-217, 6.11804547427441e-07, 0.4028265559655048, 0.9481539683602134, 1.1518788397576871,
        1.3862943611198906, 1.6518788397576871, 1.9481539683602134, 3.402826555965505, 6.097174703147484,
        30.00000061180455, 1000.0},
       {7.124576406741286e-218, 3.059022269256247e-07, 0.18242552380635632, 0.37754066879814546, 0.4378234991142019,
        0.5, 0.5621765008857981, 0.6224593312018546, 0.8175744761936437, 0.9525741268224333, 0.9999996940977731, 1.0}},
      {"relu6", [](const Tensor& x) { return xgrad::relu6(x); },
       {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 3.0, 6.0, 6.0, 6.0},
       {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0}},
      {"hardtanh", [](const Tensor& x) { return xgrad::hardtanh(x); },
       {-1.0, -1.0, -1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0},
       {0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
      {"hardtanh -3 to 0.5", [](const Tensor& x) { return xgrad::hardtanh(x, -3.0, 0.5); },
       {-3.0, -3.0, -3.0, -1.0, -0.5, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
       {0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
      {"log_sigmoid", [](const Tensor& x) { return xgrad::log_sigmoid(x); },
       {-1000.0, -30.000000000000092, -3.048587351573742, -1.3132616875182228, -0.9740769841801067,
        -0.6931471805599453, -0.4740769841801067, -0.31326168751822286, -0.04858735157374206, -0.0024756851377304495,
        -9.357622968839737e-14, 0.0},
       {1.0, 0.9999999999999064, 0.9525741268224333, 0.7310585786300049, 0.6224593312018545, 0.5,
        0.37754066879814546, 0.2689414213699951, 0.04742587317756679, 0.0024726231566347748, 9.3576229688393e-14,
        0.0}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto [value, grad] = value_and_grad(c.op, points);
    require_close(value, c.value);
    require_close(grad, c.grad);
  }
}

TEST_CASE("activations propagate NaN and infinities as PyTorch", "[activation][values][nan]") {
  const std::vector<double> points = {kNaN, kInf, -kInf};
  const struct {
    const char* name;
    UnaryFn op;
    std::vector<double> value, grad;
  } cases[] = {
      {"elu", [](const Tensor& x) { return xgrad::elu(x); }, {kNaN, kInf, -1}, {1, 1, 0}},
      {"selu", [](const Tensor& x) { return xgrad::selu(x); }, {kNaN, kInf, -1.7580993408473766},
       {1.0507009873554805, 1.0507009873554805, 0}},
      {"celu", [](const Tensor& x) { return xgrad::celu(x); }, {kNaN, kInf, -1}, {1, 1, 0}},
      {"silu", [](const Tensor& x) { return xgrad::silu(x); }, {kNaN, kInf, kNaN}, {kNaN, kNaN, kNaN}},
      {"hardswish", [](const Tensor& x) { return xgrad::hardswish(x); }, {kNaN, kInf, kNaN}, {1, 1, 0}},
      {"hardsigmoid", [](const Tensor& x) { return xgrad::hardsigmoid(x); }, {kNaN, 1, 0}, {0, 0, 0}},
      {"mish", [](const Tensor& x) { return xgrad::mish(x); }, {kNaN, kInf, kNaN}, {kNaN, kNaN, kNaN}},
      {"softplus", [](const Tensor& x) { return xgrad::softplus(x); }, {kNaN, kInf, 0}, {kNaN, 1, 0}},
      {"relu6", [](const Tensor& x) { return xgrad::relu6(x); }, {kNaN, 6, 0}, {1, 0, 0}},
      {"hardtanh", [](const Tensor& x) { return xgrad::hardtanh(x); }, {kNaN, 1, -1}, {1, 0, 0}},
      {"log_sigmoid", [](const Tensor& x) { return xgrad::log_sigmoid(x); }, {kNaN, 0, -kInf}, {kNaN, 0, 1}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto [value, grad] = value_and_grad(c.op, points);
    require_close(value, c.value);
    require_close(grad, c.grad);
  }
}

TEST_CASE("elu and celu keep precision near 0, softplus does not overflow past its threshold",
          "[activation][values]") {
  // expm1: elu(-1e-10) = -9.9999999995e-11 (PyTorch 1.13 computes exp(x) - 1 and gives
  // -1.000000082740371e-10 there).
  require_close(xgrad::elu(vec({-1e-10, -1e-5})), {-9.9999999995e-11, -9.9999500001666667e-06}, 1e-15);
  require_close(xgrad::celu(vec({-1e-10}), 2.0), {-9.99999999975e-11}, 1e-15);
  // A threshold past exp's range: log1p(exp(800)) would be inf (it is in PyTorch).
  require_close(xgrad::softplus(vec({800, -800}), 1.0, 1000.0), {800, 0});
  const auto [value, grad] = value_and_grad([](const Tensor& x) { return xgrad::softplus(x, 1.0, kInf); }, {800, 30});
  require_close(value, {800, 30.000000000000092});
  require_close(grad, {1, 0.9999999999999064});
  // log_sigmoid of large inputs: PyTorch's values (at 745, -log1p(exp(-745)) is the
  // smallest subnormal, which PyTorch's vectorised exp flushes to 0).
  require_close(xgrad::log_sigmoid(vec({-40, 40, 745, -745})), {-40.0, -4.248354255291589e-18, 0.0, -745.0}, 1e-14,
                1e-300);
}

TEST_CASE("activations in float32 stay finite at extremes and agree with float64", "[activation][values][f32]") {
  const std::vector<double> points = {-1000, -30, -3, -1, -0.25, 0, 0.25, 1, 2.5, 6, 30, 1000};
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    Tensor x32 = vec(points, {.dtype = f32, .requires_grad = true});
    Tensor x64 = vec(points, {.dtype = f64, .requires_grad = true});
    const Tensor y32 = c.op(x32);
    REQUIRE(y32.dtype() == f32);
    const Tensor y64 = c.op(x64);
    y32.sum().backward();
    y64.sum().backward();
    for (double v : y32.to(f64).to_vector<double>()) CHECK(std::isfinite(v));
    for (double v : x32.grad().to(f64).to_vector<double>()) CHECK(std::isfinite(v));
    require_close(y32, y64.to_vector<double>(), 1e-6, 1e-7);
    require_close(x32.grad(), x64.grad().to_vector<double>(), 1e-6, 1e-7);
  }
  // float32 specifics: float(1/6) is hardsigmoid's slope, softplus crosses 88 stably.
  Tensor half = vec({0.5}, {.dtype = f32, .requires_grad = true});
  xgrad::hardsigmoid(half).sum().backward();
  CHECK(half.grad().to_vector<float>()[0] == 1.0f / 6.0f);
  require_close(xgrad::softplus(vec({100, -100}, {.dtype = f32}), 1.0, 200.0), {100, 0}, 1e-14, 1e-40);
  require_close(xgrad::log_sigmoid(vec({-100, 100}, {.dtype = f32})), {-100, 0}, 1e-14, 1e-40);
}

// =============================================================================
// prelu
// =============================================================================

TEST_CASE("prelu matches PyTorch, with one weight or one per channel", "[activation][prelu][values]") {
  // PyTorch: x [[-2, 0, 3], [-1, -0.5, 0]], weight [0.1, 0.2, 0.3], gradient
  // [[1, 2, 3], [4, 5, 6]] seeded.
  Tensor x = from_vector(std::vector<double>{-2, 0, 3, -1, -0.5, 0}, {2, 3}, {.dtype = f64, .requires_grad = true});
  Tensor w = vec({0.1, 0.2, 0.3}, {.dtype = f64, .requires_grad = true});
  const Tensor y = xgrad::prelu(x, w);
  require_close(y, {-0.2, 0.0, 3.0, -0.1, -0.1, 0.0});
  y.backward(from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64}));
  require_close(x.grad(), {0.1, 0.4, 3.0, 0.4, 1.0, 1.7999999999999998});
  require_close(w.grad(), {-6.0, -2.5, 0.0});

  // NaN and infinities: x = NaN takes the weight's side, so the weight's gradient is NaN.
  Tensor special = vec({kNaN, -kInf, kInf}, {.dtype = f64, .requires_grad = true});
  Tensor one = vec({0.1}, {.dtype = f64, .requires_grad = true});
  const Tensor z = xgrad::prelu(special, one);
  require_close(z, {kNaN, -kInf, kInf});
  z.sum().backward();
  require_close(special.grad(), {0.1, 0.1, 1.0});
  require_close(one.grad(), {kNaN});

  // Shapes: a 0-D input or weight, channels along dim 1 of 3-D and 4-D inputs.
  const Tensor scalar = xgrad::prelu(full({}, -2.0, {.dtype = f64}), full({}, 0.25, {.dtype = f64}));
  CHECK(scalar.shape() == Shape{});
  CHECK(scalar.item() == -0.5);
  CHECK(xgrad::prelu(full({}, -2.0, {.dtype = f64}), vec({0.25})).shape() == Shape{});
  const Tensor x4 = full({2, 3, 2, 2}, -1.0, {.dtype = f64});
  const Tensor y4 = xgrad::prelu(x4, vec({1, 2, 3}));
  CHECK(y4.shape() == Shape{2, 3, 2, 2});
  require_close(y4.select(0, 1).select(2, 1).select(1, 0), {-1, -2, -3});
  CHECK(xgrad::prelu(zeros({2, 0}, {.dtype = f64}), vec({0.5})).shape() == Shape{2, 0});
  // float32
  require_close(xgrad::prelu(vec({-4, 4}, {.dtype = f32}), vec({0.25}, {.dtype = f32})), {-1, 4});
}

TEST_CASE("prelu passes gradcheck in its input and weight", "[activation][prelu][gradcheck]") {
  manual_seed(21);
  const auto check = [](const Tensor& x, const Shape& weight_shape, bool x_needs, bool weight_needs) {
    INFO("x " << shape_to_string(x.shape()) << ", weight " << shape_to_string(weight_shape) << ", grads "
              << x_needs << weight_needs);
    const Tensor xs = x.detach().requires_grad_(x_needs);
    const Tensor w = sample(weight_shape, [](double v) { return 0.5 * v; }, weight_needs);
    require_gradchecks([](const std::vector<Tensor>& in) { return xgrad::prelu(in[0], in[1]); }, {xs, w});
  };
  const Domain domain = away_from(0);
  check(sample({5}, domain), {1}, true, true);
  check(sample({}, domain), {}, true, true);
  check(sample({2, 3}, domain), {3}, true, true);
  check(sample({2, 3}, domain), {1}, true, true);
  check(sample({1, 3, 4}, domain), {3}, true, true);
  check(sample({2, 3, 2, 3}, domain), {3}, true, true);
  check(sample({1, 3, 4}, domain), {3}, true, false);
  check(sample({1, 3, 4}, domain), {3}, false, true);
  // Strided inputs: a transposed [4, 3] read as [3, 4] (4 channels), and a step-2 slice.
  const Tensor base = sample({4, 3}, domain);
  const Tensor w4 = sample({4}, anywhere);
  require_gradchecks([](const std::vector<Tensor>& in) { return xgrad::prelu(in[0].t(), in[1]); }, {base, w4});
  const Tensor wide = sample({2, 6, 3}, domain);
  const Tensor w3 = sample({3}, anywhere);
  require_gradchecks([](const std::vector<Tensor>& in) { return xgrad::prelu(in[0].slice(1, 1, 6, 2), in[1]); },
                     {wide, w3});
}

// =============================================================================
// Gradient checks of the unary activations
// =============================================================================

TEST_CASE("activations pass gradcheck over shapes and options", "[activation][gradcheck]") {
  manual_seed(22);
  for (const UnaryCase& c : unary_cases())
    for (const Shape& shape : kShapes) {
      INFO(c.name << " on " << shape_to_string(shape));
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {sample(shape, c.domain)});
    }
}

TEST_CASE("activations pass gradcheck on strided inputs", "[activation][gradcheck][views]") {
  manual_seed(23);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    {
      INFO("transposed");
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].t()); }, {sample({3, 4}, c.domain)});
    }
    {
      INFO("sliced with offset 1 and step 2");
      require_gradchecks([&](const std::vector<Tensor>& in) { return c.op(in[0].slice(1, 1, 6, 2)); },
                         {sample({3, 6}, c.domain)});
    }
  }
}

TEST_CASE("activations are differentiable a third time", "[activation][gradcheck][higher]") {
  // gradgradcheck of x -> d sum(f(x)) / dx (created with create_graph): the third
  // derivative, through the slopes' differentiable ops.
  manual_seed(24);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    const auto first = [&](const std::vector<Tensor>& in) {
      // Grad mode is off in gradcheck's numeric passes: record the forward anyway, and
      // create the graph of the gradient only when the caller records.
      const bool record = is_grad_enabled();
      struct Restore {
        bool was;
        ~Restore() { set_grad_enabled(was); }
      } restore{record};
      set_grad_enabled(true);
      const Tensor g = autograd::grad({c.op(in[0]).sum()}, {in[0]}, {}, {.create_graph = record})[0];
      return record ? g : g.detach();
    };
    const GradcheckReport report = gradgradcheck(first, {sample({2, 3}, c.domain)});
    INFO(report.message);
    REQUIRE(report.ok);
  }
}

TEST_CASE("activation gradients under create_graph equal the fused ones", "[activation][higher]") {
  manual_seed(25);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    const Tensor x = sample({4, 5}, c.domain);
    const Tensor fused = autograd::grad({c.op(x).sum()}, {x})[0];
    const Tensor composed = autograd::grad({c.op(x).sum()}, {x}, {}, {.create_graph = true})[0];
    require_close(composed, fused.to_vector<double>(), 1e-13, 1e-15);
  }
}
