// The element-wise losses: mse_loss (broadcasting), l1_loss, smooth_l1_loss,
// huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits, kl_div.
// Expected values are PyTorch 1.13's (torch.nn.functional, float64), printed by
// /usr/bin/python3.

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "loss_support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// An input [2, 3] and a target [3] that broadcasts against it (PyTorch warns).
Tensor bc_input(bool requires_grad = false) {
  return f64_tensor({0.3, -1.2, 2.0, 0.1, 0.2, -0.5}, {2, 3}, requires_grad);
}
Tensor bc_target(bool requires_grad = false) { return f64_tensor({0.1, 0.5, -1.0}, {}, requires_grad); }

// What fn writes to stderr (where xgrad's logger writes).
std::string captured_stderr(const std::function<void()>& fn) {
  const std::filesystem::path path = process_scratch_dir("xgrad_loss_warnings") / "stderr.txt";
  std::fflush(stderr);
  const int saved = dup(2);
  std::FILE* file = std::fopen(path.c_str(), "w");
  dup2(fileno(file), 2);
  fn();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(file);
  return read_bytes(path);
}

// A leaf of values uniform in [lo, hi).
Tensor uniform_leaf(const Shape& shape, double lo, double hi) {
  return (rand(shape, {.dtype = f64}) * (hi - lo) + lo).detach().requires_grad_();
}

// A leaf of randn values times `scale`.
Tensor scaled_leaf(const Shape& shape, double scale) {
  return (randn(shape, {.dtype = f64}) * scale).detach().requires_grad_();
}

void require_nan(const Tensor& t) {
  for (double v : values(t)) CHECK(std::isnan(v));
}

// Values of a loss of (bc_input, bc_target) for none, sum and mean, and its mean's
// gradients in input and target.
struct Expected {
  std::vector<double> none;
  double sum, mean;
  std::vector<double> grad_input, grad_target;
};

template <class Loss>
void require_broadcast_loss(Loss loss, const Expected& e) {
  require_values(loss(bc_input(), bc_target(), Reduction::none), e.none, 1e-14);
  CHECK(loss(bc_input(), bc_target(), Reduction::sum).item() == Approx(e.sum).epsilon(1e-14));
  Tensor x = bc_input(true), y = bc_target(true);
  const Tensor mean = loss(x, y, Reduction::mean);
  CHECK(mean.item() == Approx(e.mean).epsilon(1e-14));
  mean.backward();
  require_values(x.grad(), e.grad_input, 1e-14);
  require_values(y.grad(), e.grad_target, 1e-14);
}

const std::vector<Shape> pointwise_shapes = {{5}, {3, 4}, {1, 4}, {2, 3, 3}, {}};

}  // namespace

// ---- mse_loss, l1_loss, smooth_l1_loss, huber_loss ------------------------------------

TEST_CASE("mse_loss broadcasts input and target as PyTorch", "[loss][mse]") {
  require_broadcast_loss(
      [](const Tensor& x, const Tensor& y, Reduction r) { return mse_loss(x, y, {.reduction = r}); },
      {{0.039999999999999994, 2.8899999999999997, 9.0, 0.0, 0.09, 0.25},
       12.27,
       2.045,
       {0.06666666666666665, -0.5666666666666667, 1.0, 0.0, -0.09999999999999999, 0.16666666666666666},
       {-0.06666666666666665, 0.6666666666666666, -1.1666666666666667}});
  // Either side may be the smaller; the result has the broadcast shape.
  CHECK(mse_loss(bc_target(), bc_input()).item() == Approx(2.045).epsilon(1e-14));
  CHECK(mse_loss(bc_target(), bc_input(), {.reduction = Reduction::none}).shape() == Shape{2, 3});
}

TEST_CASE("a target of another shape logs PyTorch's warning once", "[loss][mse][warning]") {
  const Tensor x = zeros({5, 7}, {.dtype = f64}), y = zeros({7}, {.dtype = f64});
  const std::string first = captured_stderr([&] { mse_loss(x, y); });
  CHECK(first.find("mse_loss: using a target size ([7]) that is different to the input size ([5, 7])") !=
        std::string::npos);
  CHECK(first.find("broadcasting") != std::string::npos);
  CHECK(captured_stderr([&] { mse_loss(x, y); }).empty());  // once per op and pair of shapes
  const std::string other = captured_stderr([&] {
    l1_loss(x, y);
    smooth_l1_loss(x, y);
    huber_loss(x, y);
  });
  for (const char* op : {"l1_loss", "smooth_l1_loss", "huber_loss"}) CHECK(other.find(op) != std::string::npos);
  CHECK(captured_stderr([&] { mse_loss(x, x); }).empty());
  // kl_div broadcasts silently but warns about reduction mean (once per process: this
  // is the first kl_div with mean in this file, and ctest runs each case in its own process).
  const std::string kl = captured_stderr([&] { kl_div(zeros({3, 4}, {.dtype = f64}), ones({4}, {.dtype = f64})); });
  CHECK(kl.find("kl_div: reduction mean divides the total loss by both the batch size and the support size") !=
        std::string::npos);
  CHECK(kl.find("target size") == std::string::npos);
}

TEST_CASE("l1_loss gives PyTorch's values and gradients", "[loss][l1]") {
  require_broadcast_loss(
      [](const Tensor& x, const Tensor& y, Reduction r) { return l1_loss(x, y, {.reduction = r}); },
      {{0.19999999999999998, 1.7, 3.0, 0.0, 0.3, 0.5},
       5.7,
       0.9500000000000001,
       {1.0 / 6, -1.0 / 6, 1.0 / 6, 0.0, -1.0 / 6, 1.0 / 6},  // 0 where input == target
       {-1.0 / 6, 1.0 / 3, -1.0 / 3}});
  CHECK(l1_loss(f64_tensor({1, -2}), f64_tensor({0, 1})).item() == 2);
  require_nan(l1_loss(zeros({0}, {.dtype = f64}), zeros({0}, {.dtype = f64})));
}

TEST_CASE("smooth_l1_loss gives PyTorch's values and gradients for every beta", "[loss][smooth_l1]") {
  const auto with_beta = [](double beta) {
    return [beta](const Tensor& x, const Tensor& y, Reduction r) {
      return smooth_l1_loss(x, y, {.reduction = r, .beta = beta});
    };
  };
  // beta 1 is the default.
  CHECK(smooth_l1_loss(bc_input(), bc_target()).item() == Approx(0.6483333333333333).epsilon(1e-14));
  require_broadcast_loss(with_beta(1.0), {{0.019999999999999997, 1.2, 2.5, 0.0, 0.045, 0.125},
                                          3.8899999999999997,
                                          0.6483333333333333,
                                          {0.033333333333333326, -1.0 / 6, 1.0 / 6, 0.0, -0.049999999999999996,
                                           0.08333333333333333},
                                          {-0.033333333333333326, 0.21666666666666665, -0.25}});
  require_broadcast_loss(with_beta(0.5), {{0.039999999999999994, 1.45, 2.75, 0.0, 0.09, 0.25},
                                          4.58,
                                          0.7633333333333333,
                                          {0.06666666666666665, -1.0 / 6, 1.0 / 6, 0.0, -0.09999999999999999, 1.0 / 6},
                                          {-0.06666666666666665, 0.26666666666666666, -1.0 / 3}});
  // beta 0: l1_loss's values; PyTorch's kernel gives -1 at input == target (element 3)
  // to the input and to the target alike.
  require_broadcast_loss(with_beta(0.0), {{0.19999999999999998, 1.7, 3.0, 0.0, 0.3, 0.5},
                                          5.7,
                                          0.9500000000000001,
                                          {1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6},
                                          {-1.0 / 3, 1.0 / 3, -1.0 / 3}});
}

TEST_CASE("huber_loss gives PyTorch's values and gradients for every delta", "[loss][huber]") {
  const auto with_delta = [](double delta) {
    return [delta](const Tensor& x, const Tensor& y, Reduction r) {
      return huber_loss(x, y, {.reduction = r, .delta = delta});
    };
  };
  CHECK(huber_loss(bc_input(), bc_target()).item() == Approx(0.6483333333333333).epsilon(1e-14));
  require_broadcast_loss(with_delta(0.5), {{0.019999999999999997, 0.725, 1.375, 0.0, 0.045, 0.125},
                                           2.29,
                                           0.38166666666666665,
                                           {0.033333333333333326, -0.08333333333333333, 0.08333333333333333, 0.0,
                                            -0.049999999999999996, 0.08333333333333333},
                                           {-0.033333333333333326, 0.13333333333333333, -1.0 / 6}});
  require_broadcast_loss(with_delta(2.0), {{0.019999999999999997, 1.4449999999999998, 4.0, 0.0, 0.045, 0.125},
                                           5.635,
                                           0.9391666666666666,
                                           {0.033333333333333326, -0.2833333333333333, 1.0 / 3, 0.0,
                                            -0.049999999999999996, 0.08333333333333333},
                                           {-0.033333333333333326, 1.0 / 3, -0.41666666666666663}});
  // huber(delta) = delta * smooth_l1(beta = delta).
  const Tensor x = f64_tensor({0.3, -2.5, 1.7, 4.0}), y = f64_tensor({0, 0, 2, 1});
  require_values(huber_loss(x, y, {.reduction = Reduction::none, .delta = 1.5}),
                 values(smooth_l1_loss(x, y, {.reduction = Reduction::none, .beta = 1.5}) * 1.5), 1e-14);
}

TEST_CASE("regression losses pass gradcheck in input and target", "[loss][gradcheck]") {
  manual_seed(51);
  using Loss = std::function<Tensor(const Tensor&, const Tensor&, Reduction)>;
  const std::vector<std::pair<std::string, Loss>> losses = {
      {"mse", [](const Tensor& x, const Tensor& y, Reduction r) { return mse_loss(x, y, {.reduction = r}); }},
      {"l1", [](const Tensor& x, const Tensor& y, Reduction r) { return l1_loss(x, y, {.reduction = r}); }},
      {"smooth_l1 1",
       [](const Tensor& x, const Tensor& y, Reduction r) { return smooth_l1_loss(x, y, {.reduction = r}); }},
      {"smooth_l1 0.5", [](const Tensor& x, const Tensor& y,
                           Reduction r) { return smooth_l1_loss(x, y, {.reduction = r, .beta = 0.5}); }},
      {"smooth_l1 0",
       [](const Tensor& x, const Tensor& y, Reduction r) { return smooth_l1_loss(x, y, {.reduction = r, .beta = 0}); }},
      {"huber 1", [](const Tensor& x, const Tensor& y, Reduction r) { return huber_loss(x, y, {.reduction = r}); }},
      {"huber 0.7",
       [](const Tensor& x, const Tensor& y, Reduction r) { return huber_loss(x, y, {.reduction = r, .delta = 0.7}); }},
      {"huber 2.5",
       [](const Tensor& x, const Tensor& y, Reduction r) { return huber_loss(x, y, {.reduction = r, .delta = 2.5}); }},
  };
  for (const auto& [name, loss] : losses)
    for (Reduction reduction : all_reductions) {
      const auto fn = [&loss, reduction](const std::vector<Tensor>& in) { return loss(in[0], in[1], reduction); };
      for (const Shape& shape : pointwise_shapes) {
        INFO(name << ", shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction));
        require_gradchecks(fn, {scaled_leaf(shape, 2.0), leaf(shape)});
      }
      INFO(name << ", broadcast and transposed, reduction " << reduction_name(reduction));
      require_gradchecks(fn, {scaled_leaf({3, 4}, 2.0), leaf({4})});
      require_gradchecks(fn, {leaf({1, 4}), scaled_leaf({3, 1}, 2.0)});
      require_gradchecks(
          [&loss, reduction](const std::vector<Tensor>& in) { return loss(in[0].t(), in[1], reduction); },
          {scaled_leaf({4, 3}, 2.0), leaf({3, 4})});
    }
}

// ---- binary_cross_entropy ----------------------------------------------------------

TEST_CASE("binary_cross_entropy gives PyTorch's values, log clamp and gradients", "[loss][bce]") {
  // Probabilities including 0 and 1, where each log is clamped to -100.
  const Tensor x = f64_tensor({0.2, 0.5, 0.9, 0, 1, 0.3}, {2, 3});
  const Tensor y = f64_tensor({0, 1, 0.5, 1, 0, 0.3}, {2, 3});
  const Tensor w = f64_tensor({1, 2, 3});
  require_values(binary_cross_entropy(x, y, {.reduction = Reduction::none}),
                 {0.2231435513142097, 0.6931471805599453, 1.2039728043259361, 100.0, 100.0, 0.6108643020548935},
                 1e-14);
  CHECK(binary_cross_entropy(x, y, {.reduction = Reduction::sum}).item() == Approx(202.731127838255).epsilon(1e-14));
  CHECK(binary_cross_entropy(x, y).item() == Approx(33.788521306375834).epsilon(1e-14));
  require_values(binary_cross_entropy(x, y, {.weight = w, .reduction = Reduction::none}),
                 {0.2231435513142097, 1.3862943611198906, 3.6119184129778086, 100.0, 200.0, 1.8325929061646806},
                 1e-14);
  CHECK(binary_cross_entropy(x, y, {.weight = w, .reduction = Reduction::sum}).item() ==
        Approx(307.0539492315766).epsilon(1e-14));

  // Gradients: (x - y) / max(x (1 - x), 1e-12f) to the input, log(1 - x) - log(x) to the target.
  Tensor gx = x.detach().requires_grad_(), gy = y.detach().requires_grad_();
  const Tensor loss = binary_cross_entropy(gx, gy, {.weight = w});
  CHECK(loss.item() == Approx(51.17565820526277).epsilon(1e-14));
  loss.backward();
  require_values(gx.grad(),
                 {0.2083333333333333, -0.6666666666666666, 2.2222222222222228, -166666667332.63382, 333333334665.26764,
                  0.0},
                 1e-14);
  const std::vector<double> target_grad = values(gy.grad());
  require_values(narrow(gy.grad().flatten(), 0, 0, 3), {0.23104906018664842, 0.0, -1.0986122886681098}, 1e-14);
  CHECK(target_grad[3] == inf);
  CHECK(target_grad[4] == -inf);
  CHECK(target_grad[5] == Approx(0.4236489301936019).epsilon(1e-14));

  // Second order, away from 0 and 1.
  Tensor x2 = f64_tensor({0.2, 0.5, 0.9, 0.4, 0.7, 0.3}, {2, 3}, true);
  Tensor y2 = y.detach().requires_grad_();
  const Tensor g1 = autograd::grad({binary_cross_entropy(x2, y2, {.reduction = Reduction::sum})}, {x2}, {},
                                   {.create_graph = true})[0];
  const std::vector<Tensor> g2 = autograd::grad({g1.sum()}, {x2, y2});
  require_values(g2[0],
                 {1.5624999999804687, 3.9999999999680007, 50.61728394949248, 6.249999999947917, 11.111111111005288,
                  4.761904761859412},
                 1e-9);
  require_values(g2[1], {-6.25, -4.0, -11.111111111111112, -4.166666666666667, -4.761904761904762, -4.761904761904762},
                 1e-12);
  // A 0-d input; no elements: the mean is NaN.
  CHECK(binary_cross_entropy(scalar_tensor(0.3, {.dtype = f64}), scalar_tensor(1, {.dtype = f64})).item() ==
        Approx(1.2039728043259361).epsilon(1e-14));
  require_nan(binary_cross_entropy(zeros({0}, {.dtype = f64}), zeros({0}, {.dtype = f64})));
}

TEST_CASE("binary_cross_entropy passes gradcheck in input and target", "[loss][bce][gradcheck]") {
  manual_seed(52);
  for (const Shape& shape : pointwise_shapes)
    for (Reduction reduction : all_reductions)
      for (bool weighted : {false, true}) {
        INFO("shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction) << ", weight "
                      << weighted);
        const Shape last = shape.empty() ? Shape{} : Shape{shape.back()};
        const Tensor w = weighted ? rand(last, {.dtype = f64}) + 0.5 : Tensor();
        require_gradchecks(
            [&](const std::vector<Tensor>& in) {
              return binary_cross_entropy(in[0], in[1], {.weight = w, .reduction = reduction});
            },
            {uniform_leaf(shape, 0.05, 0.95), uniform_leaf(shape, 0, 1)});
      }
  require_gradchecks([](const std::vector<Tensor>& in) { return binary_cross_entropy(in[0].t(), in[1]); },
                     {uniform_leaf({4, 3}, 0.05, 0.95), uniform_leaf({3, 4}, 0, 1)});
}

// ---- binary_cross_entropy_with_logits -----------------------------------------------

TEST_CASE("binary_cross_entropy_with_logits gives PyTorch's values, stable at +-1000", "[loss][bce_logits]") {
  const Tensor z = f64_tensor({1000, -1000, 0.5, -3, 2, 0}, {2, 3});
  const Tensor y = f64_tensor({0, 1, 0.5, 1, 0, 0.3}, {2, 3});
  const Tensor pw = f64_tensor({2, 0.5, 3});  // over the last dim
  const Tensor w = f64_tensor({0.5, 2}, {2, 1});
  require_values(binary_cross_entropy_with_logits(z, y, {.reduction = Reduction::none}),
                 {1000.0, 1000.0, 0.7240769841801067, 3.048587351573742, 2.1269280110429727, 0.6931471805599453},
                 1e-14);
  CHECK(binary_cross_entropy_with_logits(z, y, {.reduction = Reduction::sum}).item() ==
        Approx(2006.5927395273568).epsilon(1e-14));
  const BinaryCrossEntropyWithLogitsOptions none{.weight = w, .reduction = Reduction::none, .pos_weight = pw};
  require_values(binary_cross_entropy_with_logits(z, y, none),
                 {500.0, 250.0, 0.5990769841801067, 12.194349406294968, 4.253856022085945, 2.218070977791825}, 1e-14);
  CHECK(binary_cross_entropy_with_logits(z, y, {.weight = w, .reduction = Reduction::sum, .pos_weight = pw}).item() ==
        Approx(769.2653533903527).epsilon(1e-14));
  // Saturated logits on the right side cost nothing, on the wrong side |z|.
  const Tensor extreme = f64_tensor({1000, -1000, -1000, 1000}, {2, 2});
  require_values(
      binary_cross_entropy_with_logits(extreme, f64_tensor({1, 0, 1, 0}, {2, 2}), {.reduction = Reduction::none}),
      {0, 0, 1000, 1000});

  Tensor gz = z.detach().requires_grad_(), gy = y.detach().requires_grad_();
  const Tensor loss = binary_cross_entropy_with_logits(gz, gy);
  CHECK(loss.item() == Approx(334.4321232545595).epsilon(1e-14));
  loss.backward();
  require_values(gz.grad(),
                 {1.0 / 6, -1.0 / 6, 0.020409888533642433, -0.15876235447040554, 0.14679951299631372, 1.0 / 30}, 1e-14);
  require_values(gy.grad(), {-1000.0 / 6, 1000.0 / 6, -0.5 / 6, 0.5, -1.0 / 3, 0}, 1e-14);

  Tensor hz = z.detach().requires_grad_(), hy = y.detach().requires_grad_();
  const Tensor weighted = binary_cross_entropy_with_logits(hz, hy, {.weight = w, .pos_weight = pw});
  CHECK(weighted.item() == Approx(128.21089223172547).epsilon(1e-14));
  weighted.backward();
  require_values(hz.grad(),
                 {0.08333333333333333, -0.041666666666666664, -0.021256778133024234, -0.6350494178816222,
                  0.29359902599262744, -0.033333333333333326},
                 1e-14);
  require_values(hy.grad(),
                 {-83.33333333333333, 41.666666666666664, 0.03734616403001778, 2.016195783857914, -0.6878213351738288,
                  0.4620981203732968},
                 1e-14);
  // It equals binary_cross_entropy of the sigmoid where that is accurate.
  const Tensor mild = f64_tensor({0.3, -1.2, 2.0, 0.1});
  const Tensor t = f64_tensor({0.2, 1, 0, 0.6});
  CHECK(binary_cross_entropy_with_logits(mild, t).item() ==
        Approx(binary_cross_entropy(sigmoid(mild), t).item()).epsilon(1e-14));
}

TEST_CASE("binary_cross_entropy_with_logits passes gradcheck with every option", "[loss][bce_logits][gradcheck]") {
  manual_seed(53);
  for (const Shape& shape : pointwise_shapes)
    for (Reduction reduction : all_reductions)
      for (int variant = 0; variant < 4; ++variant) {  // bit 0: weight, bit 1: pos_weight
        INFO("shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction) << ", variant "
                      << variant);
        const Shape last = shape.empty() ? Shape{} : Shape{shape.back()};
        const Tensor w = variant & 1 ? rand(shape, {.dtype = f64}) + 0.5 : Tensor();
        const Tensor pw = variant & 2 ? rand(last, {.dtype = f64}) * 2.0 + 0.2 : Tensor();
        require_gradchecks(
            [&](const std::vector<Tensor>& in) {
              return binary_cross_entropy_with_logits(in[0], in[1],
                                                      {.weight = w, .reduction = reduction, .pos_weight = pw});
            },
            {scaled_leaf(shape, 3.0), uniform_leaf(shape, 0, 1)});
      }
  const Tensor pw = f64_tensor({0.5, 1.5, 2, 3});
  require_gradchecks(
      [&](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(in[0].t(), in[1], {.pos_weight = pw});
      },
      {leaf({4, 3}), uniform_leaf({3, 4}, 0, 1)});
}

// ---- kl_div -----------------------------------------------------------------------------

TEST_CASE("kl_div gives PyTorch's values for every reduction and log_target", "[loss][kl_div]") {
  const Tensor lp = f64_tensor({-1.2, -0.5, -2.0, -0.3, -1.5, -3.0}, {2, 3});
  const Tensor t = f64_tensor({0.2, 0.0, 0.8, 0.5, 0.25, 0.25}, {2, 3});
  const Tensor log_t = log(t + 0.1);
  require_values(kl_div(lp, t, {.reduction = Reduction::none}),
                 {-0.0818875824868201, 0.0, 1.4214851589486324, -0.19657359027997265, 0.028426409720027357,
                  0.40342640972002736},
                 1e-14);
  CHECK(kl_div(lp, t, {.reduction = Reduction::sum}).item() == Approx(1.5748768056218945).epsilon(1e-14));
  CHECK(kl_div(lp, t).item() == Approx(0.2624794676036491).epsilon(1e-14));
  CHECK(kl_div(lp, t, {.reduction = Reduction::batchmean}).item() == Approx(0.7874384028109472).epsilon(1e-14));
  const auto logged = [&](Reduction r) { return kl_div(lp, log_t, {.reduction = r, .log_target = true}); };
  require_values(logged(Reduction::none),
                 {-0.0011918412977807826, -0.18025850929940457, 1.7051755359079563, -0.12649537425959442,
                  0.15756225642546273, 0.6825622564254626},
                 1e-14);
  CHECK(logged(Reduction::sum).item() == Approx(2.2373543239021023).epsilon(1e-14));
  CHECK(logged(Reduction::mean).item() == Approx(0.37289238731701707).epsilon(1e-14));
  CHECK(logged(Reduction::batchmean).item() == Approx(1.1186771619510512).epsilon(1e-14));

  // Gradients; the target's is log(t) + 1 - input, NaN where t == 0 (PyTorch's xlogy).
  Tensor x = lp.detach().requires_grad_(), y = t.detach().requires_grad_();
  kl_div(x, y, {.reduction = Reduction::batchmean}).backward();
  require_values(x.grad(), {-0.1, -0.0, -0.4, -0.25, -0.125, -0.125}, 1e-14);
  const std::vector<double> gt = values(y.grad());
  CHECK(std::isnan(gt[1]));
  for (std::size_t i : {0, 2, 3, 4, 5}) {
    const std::vector<double> expected = {0.29528104378294984, 0, 1.3884282243428951, 0.3034264097200273,
                                          0.5568528194400547, 1.3068528194400546};
    CHECK(gt[i] == Approx(expected[i]).epsilon(1e-14));
  }
  Tensor x2 = lp.detach().requires_grad_(), y2 = log_t.detach().requires_grad_();
  kl_div(x2, y2, {.reduction = Reduction::batchmean, .log_target = true}).backward();
  require_values(x2.grad(), {-0.15, -0.05, -0.45, -0.3, -0.175, -0.175}, 1e-14);
  require_values(y2.grad(),
                 {0.14940407935110964, -0.040129254649702274, 1.3025877679539781, 0.23675231287020276,
                  0.25378112821273136, 0.5162811282127313},
                 1e-14);

  // Broadcasting (no warning), batchmean by the input's first dim, a 0-d input, negative targets.
  require_values(kl_div(lp, narrow(t, 0, 0, 1).squeeze(0), {.reduction = Reduction::none}),
                 {-0.0818875824868201, 0.0, 1.4214851589486324, -0.2618875824868201, 0.0, 2.2214851589486324}, 1e-14);
  CHECK(kl_div(narrow(lp, 0, 0, 1).squeeze(0), t, {.reduction = Reduction::batchmean}).item() ==
        Approx(0.5082922685406315).epsilon(1e-14));
  CHECK(
      kl_div(scalar_tensor(-1, {.dtype = f64}), scalar_tensor(0.5, {.dtype = f64}), {.reduction = Reduction::batchmean})
          .item() == Approx(0.15342640972002736).epsilon(1e-14));
  const std::vector<double> negative = values(kl_div(lp, -t, {.reduction = Reduction::none}));
  CHECK(negative[1] == 0);
  for (std::size_t i : {0, 2, 3, 4, 5}) CHECK(std::isnan(negative[i]));
  require_nan(
      kl_div(zeros({0, 3}, {.dtype = f64}), zeros({0, 3}, {.dtype = f64}), {.reduction = Reduction::batchmean}));
}

TEST_CASE("kl_div passes gradcheck in input and target", "[loss][kl_div][gradcheck]") {
  manual_seed(54);
  const std::vector<Reduction> reductions = {Reduction::none, Reduction::sum, Reduction::mean, Reduction::batchmean};
  for (const Shape& shape : pointwise_shapes)
    for (Reduction reduction : reductions)
      for (bool log_target : {false, true}) {
        INFO("shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction) << ", log_target "
                      << log_target);
        const KlDivOptions options{.reduction = reduction, .log_target = log_target};
        const Tensor target = log_target ? leaf(shape) : uniform_leaf(shape, 0.1, 1);
        require_gradchecks([&](const std::vector<Tensor>& in) { return kl_div(in[0], in[1], options); },
                           {leaf(shape), target});
      }
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return kl_div(in[0].t(), in[1], {.reduction = Reduction::batchmean}); },
      {leaf({4, 3}), uniform_leaf({4}, 0.1, 1)});
}

TEST_CASE("element-wise losses in f32 agree with f64", "[loss]") {
  manual_seed(55);
  const Tensor x = randn({4, 5}, {.dtype = f64}), y = randn({4, 5}, {.dtype = f64});
  const Tensor w = rand({5}, {.dtype = f64});
  using Loss = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;
  const std::vector<std::pair<std::string, Loss>> losses = {
      {"l1", [](const Tensor& a, const Tensor& b, const Tensor&) { return l1_loss(a, b); }},
      {"smooth_l1",
       [](const Tensor& a, const Tensor& b, const Tensor&) { return smooth_l1_loss(a, b, {.beta = 0.5}); }},
      {"huber", [](const Tensor& a, const Tensor& b, const Tensor&) { return huber_loss(a, b, {.delta = 0.5}); }},
      {"bce", [](const Tensor& a, const Tensor& b,
                 const Tensor& c) { return binary_cross_entropy(sigmoid(a), sigmoid(b), {.weight = c}); }},
      {"bce_logits",
       [](const Tensor& a, const Tensor& b, const Tensor& c) {
         return binary_cross_entropy_with_logits(a, sigmoid(b), {.pos_weight = c});
       }},
      {"kl_div", [](const Tensor& a, const Tensor& b, const Tensor&) { return kl_div(a, sigmoid(b)); }},
  };
  for (const auto& [name, loss] : losses) {
    INFO(name);
    const Tensor l32 = loss(x.to(f32), y.to(f32), w.to(f32));
    CHECK(l32.dtype() == f32);
    require_values(l32, values(loss(x, y, w)), 1e-5);
  }
}
