// Optimisers (SGD, Adam, AdamW) against hand-computed steps, their state_dict,
// learning-rate schedulers against hand-computed sequences, gradient clipping.

#include <cmath>
#include <limits>
#include <memory>
#include <numbers>

#include "support.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/optim.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::optim;

namespace {

Tensor param(std::vector<double> v) { return f64_tensor(std::move(v), {}, /*requires_grad=*/true); }

/// One optimiser step per entry of `grads`, each set as p's gradient first.
void run(Optimizer& opt, const Tensor& p, const std::vector<std::vector<double>>& grads) {
  for (const auto& g : grads) {
    p.set_grad(from_vector(g, {}, {.dtype = p.dtype()}));
    opt.step();
  }
}

std::vector<std::string> keys(const nn::StateDict& d) {
  std::vector<std::string> out;
  for (const auto& [k, t] : d) out.push_back(k);
  return out;
}

nn::StateDict without(const nn::StateDict& d, const std::string& key) {
  nn::StateDict out;
  for (const auto& [k, t] : d)
    if (k != key) out.emplace_back(k, t);
  return out;
}

nn::StateDict replaced(const nn::StateDict& d, const std::string& key, const Tensor& value) {
  nn::StateDict out;
  for (const auto& [k, t] : d) out.emplace_back(k, k == key ? value : t);
  return out;
}

/// y = x * w + b, for training through a module.
struct Line : nn::Module {
  Line() : Module("Line") {
    w = register_parameter("w", zeros({1}));
    b = register_parameter("b", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return x * w + b; }
  Tensor w, b;
};

/// The scheduler's lr at epochs 0 .. epochs-1 (epoch 0 is set on construction),
/// checking that the optimiser carries it.
std::vector<double> lr_sequence(LRScheduler& s, int epochs) {
  std::vector<double> out{s.get_last_lr()};
  for (int e = 1; e < epochs; ++e) {
    s.step();
    out.push_back(s.get_last_lr());
  }
  CHECK(s.optimizer().lr() == out.back());
  CHECK(s.last_epoch() == epochs - 1);
  return out;
}

void require_sequence(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("epoch " << i);
    REQUIRE(got[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-12));
  }
}

Tensor dummy() { return zeros({1}, {.requires_grad = true}); }

}  // namespace

// ---- SGD -------------------------------------------------------------------------

TEST_CASE("SGD follows PyTorch's update rule", "[optim][sgd]") {
  // p0 = [1, -2], the same gradient g = [0.5, 1] at each of 3 steps, lr = 0.1.
  const std::vector<std::vector<double>> g3 = {{0.5, 1}, {0.5, 1}, {0.5, 1}};

  SECTION("plain") {
    // p3 = p0 - 3 * 0.1 * g = [1 - 0.15, -2 - 0.3]
    Tensor p = param({1, -2});
    SGD opt({p}, {.lr = 0.1});
    run(opt, p, g3);
    require_values(p, {0.85, -2.3});
    CHECK(keys(opt.state_dict()) == std::vector<std::string>{"lr", "initial_lr"});
  }
  SECTION("momentum") {
    // b1 = g = [0.5, 1] (no dampening on the first step)  p1 = [0.95, -2.1]
    // b2 = 0.9 b1 + g = [0.95, 1.9]                         p2 = [0.855, -2.29]
    // b3 = 0.9 b2 + g = [1.355, 2.71]                       p3 = [0.7195, -2.561]
    Tensor p = param({1, -2});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    run(opt, p, g3);
    require_values(p, {0.7195, -2.561});
    require_values(opt.state_dict().at(2).second, {1.355, 2.71});
  }
  SECTION("momentum with dampening") {
    // b1 = g = [0.5, 1]                                   p1 = [0.95, -2.1]
    // b2 = 0.9 b1 + 0.5 g = [0.45 + 0.25, 0.9 + 0.5] = [0.7, 1.4]      p2 = [0.88, -2.24]
    // b3 = 0.9 b2 + 0.5 g = [0.63 + 0.25, 1.26 + 0.5] = [0.88, 1.76]   p3 = [0.792, -2.416]
    Tensor p = param({1, -2});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
    run(opt, p, g3);
    require_values(p, {0.792, -2.416});
  }
  SECTION("nesterov") {
    // b1 = g = [0.5, 1];        d1 = g + 0.9 b1 = [0.95, 1.9]      p1 = [0.905, -2.19]
    // b2 = 0.9 b1 + g = [0.95, 1.9];  d2 = g + 0.9 b2 = [1.355, 2.71]  p2 = [0.7695, -2.461]
    // b3 = 0.9 b2 + g = [1.355, 2.71]; d3 = g + 0.9 b3 = [1.7195, 3.439] p3 = [0.59755, -2.8049]
    Tensor p = param({1, -2});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    run(opt, p, g3);
    require_values(p, {0.59755, -2.8049});
  }
  SECTION("weight decay") {
    // d1 = g + 0.1 p0 = [0.5 + 0.1, 1 - 0.2] = [0.6, 0.8]                 p1 = [0.94, -2.08]
    // d2 = g + 0.1 p1 = [0.5 + 0.094, 1 - 0.208] = [0.594, 0.792]         p2 = [0.8806, -2.1592]
    // d3 = g + 0.1 p2 = [0.5 + 0.08806, 1 - 0.21592] = [0.58806, 0.78408] p3 = [0.821794, -2.237608]
    Tensor p = param({1, -2});
    SGD opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    run(opt, p, g3);
    require_values(p, {0.821794, -2.237608});
  }
  SECTION("float32 agrees with float64") {
    Tensor p = from_vector(std::vector<float>{1, -2}, {}, {.requires_grad = true});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    run(opt, p, g3);
    CHECK(p.dtype() == f32);
    require_values(p, {0.59755, -2.8049}, 1e-6);
  }
}

TEST_CASE("SGD reports its options with the current learning rate", "[optim][sgd]") {
  SGD opt({dummy()}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-4});
  opt.set_lr(0.05);
  const SGDOptions o = opt.options();
  CHECK(o.lr == 0.05);
  CHECK(o.momentum == 0.9);
  CHECK(o.dampening == 0.1);
  CHECK(o.weight_decay == 1e-4);
  CHECK_FALSE(o.nesterov);
  CHECK(SGD({dummy()}).lr() == 1e-3);
}

// ---- Adam and AdamW --------------------------------------------------------------

// Shared set-up: p0 = [1, -1], lr = 0.1, betas = (0.5, 0.75), eps = 0 (so the
// numbers stay exact), gradients g1 = [2, -1], g2 = [0.5, 0.5], g3 = [1, -0.25].
// Bias corrections: 1 - 0.5^t = 0.5, 0.75, 0.875; 1 - 0.75^t = 0.25, 0.4375, 0.578125.
// Update: p -= 0.1 * (m / bc1) / sqrt(v / bc2).
namespace {
const std::vector<std::vector<double>> adam_grads = {{2, -1}, {0.5, 0.5}, {1, -0.25}};
}

TEST_CASE("Adam follows PyTorch's update rule with bias correction", "[optim][adam]") {
  // t=1: m = 0.5 g1 = [1, -0.5]; v = 0.25 g1^2 = [1, 0.25]
  //      m/bc1 = [2, -1], v/bc2 = [4, 1] -> step [0.1, -0.1]          p1 = [0.9, -0.9]
  // t=2: m = 0.5 m + 0.5 g2 = [0.75, 0]; v = 0.75 v + 0.25 g2^2 = [0.8125, 0.25]
  //      m/bc1 = [1, 0], v/bc2 = [13/7, 4/7] -> step [0.1 sqrt(7/13), 0]
  // t=3: m = [0.875, -0.125]; v = [0.609375 + 0.25, 0.1875 + 0.015625] = [0.859375, 0.203125]
  //      m/bc1 = [1, -1/7], v/bc2 = [55/37, 13/37] -> step [0.1 sqrt(37/55), -0.1/7 sqrt(37/13)]
  Tensor p = param({1, -1});
  Adam opt({p}, {.lr = 0.1, .betas = {0.5, 0.75}, .eps = 0});
  run(opt, p, adam_grads);
  require_values(p, {0.9 - 0.1 * std::sqrt(7.0 / 13) - 0.1 * std::sqrt(37.0 / 55),  //
                     -0.9 + 0.1 / 7 * std::sqrt(37.0 / 13)});
  const nn::StateDict state = opt.state_dict();
  CHECK(keys(state) ==
        std::vector<std::string>{"lr", "initial_lr", "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"});
  CHECK(state[2].second.item() == 3);
  require_values(state[3].second, {0.875, -0.125});
  require_values(state[4].second, {0.859375, 0.203125});
}

TEST_CASE("Adam's weight decay is an L2 term added to the gradient", "[optim][adam]") {
  // weight_decay = 0.1: d = g + 0.1 p.
  // t=1: d = [2.1, -1.1]; m/bc1 = d, v/bc2 = d^2 -> step 0.1 sign(d)        p1 = [0.9, -0.9]
  // t=2: d = [0.5 + 0.09, 0.5 - 0.09] = [0.59, 0.41]
  //      m = [0.525 + 0.295, -0.275 + 0.205] = [0.82, -0.07]
  //      v = [0.75 * 1.1025 + 0.25 * 0.3481, 0.75 * 0.3025 + 0.25 * 0.1681] = [0.9139, 0.2689]
  //      step = 0.1 (m / 0.75) / sqrt(v / 0.4375) = [0.0756470992, -0.0119050275]
  //      p2 = [0.8243529008, -0.8880949725]
  // t=3: d = g3 + 0.1 p2 = [1.0824352901, -0.3388094972]
  //      m = 0.5 m + 0.5 d = [0.9512176450, -0.2044047486]
  //      v = 0.75 v + 0.25 d^2 = [0.9783415393, 0.2303729689]
  //      step = 0.1 (m / 0.875) / sqrt(v / 0.578125) = [0.0835675121, -0.0370065026]
  Tensor p = param({1, -1});
  Adam opt({p}, {.lr = 0.1, .betas = {0.5, 0.75}, .eps = 0, .weight_decay = 0.1});
  run(opt, p, adam_grads);
  require_values(p, {0.740785388674769, -0.8510884698267215}, 1e-10);
}

TEST_CASE("Adam with amsgrad divides by the largest second moment so far", "[optim][adam]") {
  // As the plain case, but v_max = max(v_max, v): [1, 0.25] after t=1 stays the
  // largest (v2 = [0.8125, 0.25], v3 = [0.859375, 0.203125]).
  // t=2: v_max/bc2 = [16/7, 4/7] -> step [0.1 / sqrt(16/7), 0] = [0.1 sqrt(7) / 4, 0]
  // t=3: v_max/bc2 = [64/37, 16/37] -> step [0.1 sqrt(37) / 8, -(0.1/7) sqrt(37) / 4]
  Tensor p = param({1, -1});
  Adam opt({p}, {.lr = 0.1, .betas = {0.5, 0.75}, .eps = 0, .amsgrad = true});
  run(opt, p, adam_grads);
  require_values(p, {0.9 - 0.1 * std::sqrt(7.0) / 4 - 0.1 * std::sqrt(37.0) / 8,  //
                     -0.9 + 0.1 * std::sqrt(37.0) / 28});
  const nn::StateDict state = opt.state_dict();
  REQUIRE(state.size() == 6);
  CHECK(state[5].first == "state.0.max_exp_avg_sq");
  require_values(state[5].second, {1, 0.25});
}

TEST_CASE("AdamW decouples weight decay from the gradient", "[optim][adam]") {
  // weight_decay = 0.1: p *= 1 - 0.1 * 0.1 = 0.99 before each step; the moments see
  // the raw gradients, so the steps are the plain case's.
  // p1 = 0.99 p0 - [0.1, -0.1] = [0.89, -0.89]
  // p2 = 0.99 p1 - [0.1 sqrt(7/13), 0] = [0.8811 - 0.1 sqrt(7/13), -0.8811]
  // p3 = 0.99 p2 - [0.1 sqrt(37/55), -0.1/7 sqrt(37/13)]
  Tensor p = param({1, -1});
  AdamW opt({p}, {.lr = 0.1, .betas = {0.5, 0.75}, .eps = 0, .weight_decay = 0.1});
  run(opt, p, adam_grads);
  require_values(p, {0.99 * (0.8811 - 0.1 * std::sqrt(7.0 / 13)) - 0.1 * std::sqrt(37.0 / 55),
                     -0.99 * 0.8811 + 0.1 / 7 * std::sqrt(37.0 / 13)});
  CHECK(opt.name() == "AdamW");
  CHECK(AdamW({dummy()}).options().weight_decay == 1e-2);
  CHECK(Adam({dummy()}).options().weight_decay == 0);
}

TEST_CASE("Adam adds eps to the corrected root of the second moment", "[optim][adam]") {
  // One step, p = 1, g = 2, eps = 1: m/bc1 = 2, sqrt(v/bc2) = 2 -> step 0.1 * 2 / (2 + 1).
  Tensor p = param({1});
  Adam opt({p}, {.lr = 0.1, .eps = 1});
  run(opt, p, {{2}});
  require_values(p, {1 - 0.2 / 3});

  Tensor q = from_vector(std::vector<float>{1, -1}, {}, {.requires_grad = true});
  Adam opt32({q}, {.lr = 0.1, .betas = {0.5, 0.75}, .eps = 0, .amsgrad = true});
  run(opt32, q, adam_grads);
  require_values(q, {0.9 - 0.1 * std::sqrt(7.0) / 4 - 0.1 * std::sqrt(37.0) / 8, -0.9 + 0.1 * std::sqrt(37.0) / 28},
                 1e-6);
}

// ---- common behaviour ------------------------------------------------------------

TEST_CASE("zero_grad clears or zeroes the gradients", "[optim]") {
  Tensor a = param({1, 2});
  Tensor b = param({3});
  SGD opt({a, b}, {.lr = 0.1});
  a.set_grad(f64_tensor({1, 1}));
  opt.zero_grad(/*set_to_none=*/false);
  require_values(a.grad(), {0, 0});
  CHECK_FALSE(b.grad().defined());
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("parameters without a gradient are skipped", "[optim]") {
  Tensor a = param({1, 2});
  Tensor b = param({3});
  Adam opt({a, b}, {.lr = 0.1});
  b.set_grad(f64_tensor({1}));
  opt.step();
  require_values(a, {1, 2});
  require_values(b, {2.9}, 1e-9);  // first Adam step: lr * sign(g)
  CHECK(keys(opt.state_dict()) ==
        std::vector<std::string>{"lr", "initial_lr", "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq"});
}

TEST_CASE("optimisers train a module through its own parameter handles", "[optim]") {
  // Fit y = 2x + 1; the module's members are the tensors the optimiser updates.
  const Tensor x = from_vector(std::vector<float>{-1, 0, 1, 2});
  const Tensor y = x * 2.0 + 1.0;
  auto train = [&](Line& net, Optimizer& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      (net(x) - y).pow(2).mean().backward();
      opt.step();
    }
  };
  Line net;
  SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.5});
  CHECK(sgd.params()[0].is_same(net.w));
  train(net, sgd, 200);
  CHECK(net.w.item() == Approx(2).margin(1e-4));
  CHECK(net.b.item() == Approx(1).margin(1e-4));

  Line net2;
  Adam adam(net2.parameters(), {.lr = 0.05});
  train(net2, adam, 500);
  CHECK(net2.w.item() == Approx(2).margin(1e-2));
  CHECK(net2.b.item() == Approx(1).margin(1e-2));
}

TEST_CASE("an optimiser restored from its state_dict continues bit for bit", "[optim][state]") {
  using Make = std::function<std::unique_ptr<Optimizer>(const Tensor&)>;
  const std::vector<std::pair<const char*, Make>> makers = {
      {"SGD", [](const Tensor& p) {
         return std::make_unique<SGD>(std::vector<Tensor>{p},
                                      SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
      {"SGD dampening", [](const Tensor& p) {
         return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3});
       }},
      {"Adam", [](const Tensor& p) {
         return std::make_unique<Adam>(std::vector<Tensor>{p},
                                       AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"AdamW", [](const Tensor& p) {
         return std::make_unique<AdamW>(std::vector<Tensor>{p}, AdamWOptions{.lr = 0.01});
       }},
  };
  manual_seed(11);
  const Tensor start = randn({5});
  std::vector<Tensor> grads;
  for (int k = 0; k < 4; ++k) grads.push_back(randn({5}));
  auto steps = [&](Optimizer& opt, const Tensor& p, int from, int to) {
    for (int k = from; k < to; ++k) {
      p.set_grad(grads[k].clone());
      opt.step();
    }
  };

  for (const auto& [name, make] : makers) {
    INFO(name);
    // Four steps in one go, the lr halved after the second.
    Tensor straight = start.clone().requires_grad_();
    auto opt = make(straight);
    steps(*opt, straight, 0, 2);
    opt->set_lr(opt->lr() / 2);
    steps(*opt, straight, 2, 4);

    // Two steps, save, restore into a fresh optimiser (built with the original lr), two more.
    Tensor first = start.clone().requires_grad_();
    auto before = make(first);
    steps(*before, first, 0, 2);
    before->set_lr(before->lr() / 2);
    const nn::StateDict saved = before->state_dict();
    Tensor resumed = first.detach().clone().requires_grad_();
    auto after = make(resumed);
    after->load_state_dict(saved);
    CHECK(after->lr() == before->lr());
    steps(*after, resumed, 2, 4);

    CHECK(resumed.to_vector<float>() == straight.to_vector<float>());
    const nn::StateDict a = after->state_dict(), b = opt->state_dict();
    REQUIRE(keys(a) == keys(b));
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(values(a[i].second) == values(b[i].second));
  }
}

TEST_CASE("load_state_dict names every bad key and changes nothing", "[optim][state][errors]") {
  Tensor p = zeros({2}, {.requires_grad = true});
  Tensor q = zeros({3}, {.requires_grad = true});
  Adam opt({p, q}, {.lr = 0.1});
  p.set_grad(ones({2}));
  q.set_grad(ones({3}));
  opt.step();
  const nn::StateDict good = opt.state_dict();
  CHECK(keys(good) == std::vector<std::string>{"lr", "initial_lr", "state.0.step", "state.0.exp_avg",
                                               "state.0.exp_avg_sq", "state.1.step", "state.1.exp_avg",
                                               "state.1.exp_avg_sq"});
  const std::vector<double> p_before = values(p);
  const std::vector<double> avg_before = values(good[3].second);

  Adam fresh({p, q}, {.lr = 0.5});
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(replaced(good, "state.0.exp_avg", zeros({3}))), ValueError, "Adam",
                            "nothing was loaded", "state.0.exp_avg: expected [2] f32, got [3] f32");
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(replaced(good, "state.1.exp_avg_sq", zeros({3}, {.dtype = f64}))),
                            ValueError, "state.1.exp_avg_sq: expected [3] f32, got [3] f64");
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(replaced(good, "state.0.step", zeros({1}, {.dtype = f64}))),
                            ValueError, "state.0.step: expected [] f64, got [1] f64");
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(without(good, "state.1.exp_avg")), ValueError,
                            "state.1.exp_avg: missing");
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(without(good, "lr")), ValueError, "lr: missing");
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(replaced(good, "lr", scalar_tensor(-1, {.dtype = f64}))), ValueError,
                            "lr: expected a non-negative 0-d f64 tensor");
  nn::StateDict extra = good;
  extra.emplace_back("state.2.exp_avg", zeros({2}));
  extra.emplace_back("state.0.momentum_buffer", zeros({2}));
  extra.emplace_back("momentum", scalar_tensor(0.9, {.dtype = f64}));
  XGRAD_REQUIRE_THROWS_WITH(fresh.load_state_dict(extra), ValueError, "state.2.exp_avg: unexpected key",
                            "state.0.momentum_buffer: unexpected key", "momentum: unexpected key",
                            "state.<index 0..1>.{step, exp_avg, exp_avg_sq}");
  CHECK(fresh.lr() == 0.5);
  CHECK(keys(fresh.state_dict()) == std::vector<std::string>{"lr", "initial_lr"});

  // A good dict loads into the fresh optimiser; the original is untouched by all this.
  fresh.load_state_dict(good);
  CHECK(fresh.lr() == 0.1);
  CHECK(values(fresh.state_dict()[3].second) == avg_before);
  CHECK(values(p) == p_before);

  // An SGD without momentum keeps no state, so a momentum buffer is unexpected.
  SGD plain({p}, {.lr = 0.1});
  XGRAD_REQUIRE_THROWS_WITH(plain.load_state_dict({{"lr", scalar_tensor(0.1, {.dtype = f64})},
                                                   {"initial_lr", scalar_tensor(0.1, {.dtype = f64})},
                                                   {"state.0.momentum_buffer", zeros({2})}}),
                            ValueError, "SGD", "state.0.momentum_buffer: unexpected key", "no per-parameter state");
}

TEST_CASE("optimisers refuse bad parameters and settings", "[optim][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(SGD({}, {.lr = 0.1}), ValueError, "SGD", "empty parameter list");
  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy(), Tensor()}), ValueError, "SGD", "parameter 1 is undefined");
  XGRAD_REQUIRE_THROWS_WITH(Adam({zeros({2}, {.dtype = i64})}), DTypeError, "Adam", "parameter 0", "i64");
  const Tensor leaf = dummy();
  XGRAD_REQUIRE_THROWS_WITH(SGD({leaf * 2.0}), ValueError, "SGD", "parameter 0", "not a leaf", "computed by Mul");
  XGRAD_REQUIRE_THROWS_WITH(AdamW({leaf, dummy(), leaf}), ValueError, "AdamW",
                            "parameter 2 is the same tensor as parameter 0");
  Tensor strided = zeros({2, 3}).t().detach().requires_grad_();
  XGRAD_REQUIRE_THROWS_WITH(SGD({strided}), ValueError, "SGD", "[3, 2]", "not contiguous");

  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy()}, {.lr = -0.1}), ValueError, "SGD", "invalid learning rate -0.1");
  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy()}, {.lr = 0.1, .momentum = -0.9}), ValueError, "invalid momentum -0.9");
  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy()}, {.lr = 0.1, .weight_decay = -1}), ValueError, "invalid weight_decay -1");
  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy()}, {.lr = 0.1, .nesterov = true}), ValueError, "nesterov",
                            "momentum > 0 and dampening == 0", "momentum 0");
  XGRAD_REQUIRE_THROWS_WITH(SGD({dummy()}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                            ValueError, "nesterov", "dampening 0.1");
  XGRAD_REQUIRE_THROWS_WITH(Adam({dummy()}, {.lr = -1}), ValueError, "Adam", "invalid learning rate -1");
  XGRAD_REQUIRE_THROWS_WITH(Adam({dummy()}, {.betas = {1.0, 0.999}}), ValueError, "invalid beta1 1", "[0, 1)");
  XGRAD_REQUIRE_THROWS_WITH(AdamW({dummy()}, {.betas = {0.9, -0.1}}), ValueError, "AdamW", "invalid beta2 -0.1");
  XGRAD_REQUIRE_THROWS_WITH(Adam({dummy()}, {.eps = -1e-8}), ValueError, "invalid eps -1e-08");
  XGRAD_REQUIRE_THROWS_WITH(Adam({dummy()}, {.weight_decay = -1}), ValueError, "invalid weight_decay -1");
  XGRAD_REQUIRE_THROWS_WITH(Adam({dummy()}, {.lr = std::nan("")}), ValueError, "invalid learning rate nan");

  SGD opt({dummy()}, {.lr = 0.1});
  XGRAD_REQUIRE_THROWS_WITH(opt.set_lr(-1), ValueError, "SGD", "invalid learning rate -1");
  CHECK(opt.lr() == 0.1);
}

TEST_CASE("step refuses strided gradients and state left behind by a dtype change", "[optim][errors]") {
  Tensor p = zeros({2, 2}, {.requires_grad = true});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  p.set_grad(from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}).t());
  XGRAD_REQUIRE_THROWS_WITH(opt.step(), ValueError, "SGD", "gradient of parameter 0", "strides [1, 2]",
                            "not contiguous");

  Line net;
  Adam adam(net.parameters(), {.lr = 0.1});
  const Tensor x = ones({3});
  net(x).sum().backward();
  adam.step();
  net.to(f64);
  net(x.to(f64)).sum().backward();
  XGRAD_REQUIRE_THROWS_WITH(adam.step(), DTypeError, "Adam", "parameter 0 is f64", "exp_avg is f32", "to()");
}

// ---- schedulers --------------------------------------------------------------------

TEST_CASE("StepLR decays every step_size epochs", "[optim][scheduler]") {
  SGD opt({dummy()}, {.lr = 1.0});
  StepLR s(opt, 3);  // gamma 0.1 every 3 epochs
  require_sequence(lr_sequence(s, 10), {1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001});
  CHECK(s.base_lr() == 1.0);

  // Chainable, as PyTorch: a change to the lr from outside carries on.
  SGD opt2({dummy()}, {.lr = 1.0});
  StepLR s2(opt2, 2, 0.5);
  s2.step();         // epoch 1: 1
  opt2.set_lr(0.4);  // by hand
  s2.step();         // epoch 2: 0.4 * 0.5
  CHECK(s2.get_last_lr() == Approx(0.2));
  s2.step();  // epoch 3: 0.2
  s2.step();  // epoch 4: 0.1
  CHECK(opt2.lr() == Approx(0.1));
}

TEST_CASE("MultiStepLR decays at each milestone", "[optim][scheduler]") {
  // Milestone 5 is listed twice: gamma^2 there. Order does not matter.
  SGD opt({dummy()}, {.lr = 1.0});
  MultiStepLR s(opt, {8, 2, 5, 5}, 0.5);
  require_sequence(lr_sequence(s, 10), {1, 1, 0.5, 0.5, 0.5, 0.125, 0.125, 0.125, 0.0625, 0.0625});
}

TEST_CASE("CosineAnnealingLR follows the closed form", "[optim][scheduler]") {
  // eta_min + (1 - eta_min) (1 + cos(pi e / 4)) / 2 with eta_min = 0.1: down over 4
  // epochs, back up over the next 4 (as PyTorch's).
  SGD opt({dummy()}, {.lr = 1.0});
  CosineAnnealingLR s(opt, 4, 0.1);
  const double r = std::numbers::sqrt2 / 2;  // cos(pi / 4)
  const double high = 0.1 + 0.45 * (1 + r), low = 0.1 + 0.45 * (1 - r);
  require_sequence(lr_sequence(s, 10), {1, high, 0.55, low, 0.1, low, 0.55, high, 1, high});
}

TEST_CASE("LinearLR warms up linearly", "[optim][scheduler]") {
  SECTION("defaults: 1/3 to 1 over 5 epochs") {
    // lr 1.5 times 5/15, 7/15, 9/15, 11/15, 13/15, 15/15, then unchanged
    SGD opt({dummy()}, {.lr = 1.5});
    LinearLR s(opt);
    require_sequence(lr_sequence(s, 10), {0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.5, 1.5, 1.5, 1.5});
  }
  SECTION("custom factors") {
    // factor 0.25 + (1 - 0.25) e / 4 for e <= 4
    SGD opt({dummy()}, {.lr = 1.0});
    LinearLR s(opt, 0.25, 1.0, 4);
    require_sequence(lr_sequence(s, 7), {0.25, 0.4375, 0.625, 0.8125, 1, 1, 1});
  }
  SECTION("down to an end factor below one") {
    // factor 1 - 0.5 e / 2
    SGD opt({dummy()}, {.lr = 2.0});
    LinearLR s(opt, 1.0, 0.5, 2);
    require_sequence(lr_sequence(s, 5), {2, 1.5, 1, 1, 1});
  }
}

TEST_CASE("SequentialLR chains a warm-up and cosine annealing", "[optim][scheduler]") {
  // LinearLR 0.25 -> 1 over 2 epochs, then from epoch 3 CosineAnnealingLR (T_max 4)
  // starting over from the base lr 1 (the optimiser's initial lr, not the 0.25 that
  // LinearLR had set when the cosine scheduler was created).
  SGD opt({dummy()}, {.lr = 1.0});
  auto warmup = std::make_shared<LinearLR>(opt, 0.25, 1.0, 2);
  auto cosine = std::make_shared<CosineAnnealingLR>(opt, 4);
  CHECK(cosine->base_lr() == 1.0);
  SequentialLR s(opt, {warmup, cosine}, {3});
  const double r = std::numbers::sqrt2 / 2;
  // epochs 0-2: 0.25, 0.625, 1 (linear); 3-9: cosine epochs 0-6: (1 + cos(pi k / 4)) / 2
  require_sequence(lr_sequence(s, 10),
                   {0.25, 0.625, 1, 1, (1 + r) / 2, 0.5, (1 - r) / 2, 0, (1 - r) / 2, 0.5});
  CHECK(cosine->last_epoch() == 6);
}

TEST_CASE("schedulers restored from state_dict continue the sequence", "[optim][scheduler][state]") {
  auto make = [](Optimizer& opt) {
    return std::make_unique<SequentialLR>(
        opt,
        std::vector<std::shared_ptr<LRScheduler>>{std::make_shared<LinearLR>(opt, 0.2, 1.0, 3),
                                                  std::make_shared<StepLR>(opt, 2, 0.5),
                                                  std::make_shared<CosineAnnealingLR>(opt, 5, 0.01)},
        std::vector<std::int64_t>{4, 7});
  };
  SGD straight_opt({dummy()}, {.lr = 0.3});
  auto straight = make(straight_opt);
  const std::vector<double> expected = lr_sequence(*straight, 12);
  // 0.3 times: linear 0.2, 0.2 + 0.8/3, 0.2 + 1.6/3, 1; StepLR from epoch 4 (1, 1, 0.5);
  // cosine from epoch 7: 0.01 + 0.29 (1 + cos(pi k / 5)) / 2 for k = 0..4.
  auto cosine = [](int k) { return 0.01 + 0.29 * (1 + std::cos(std::numbers::pi * k / 5)) / 2; };
  require_sequence(expected, {0.06, 0.14, 0.22, 0.3, 0.3, 0.3, 0.15, cosine(0), cosine(1), cosine(2), cosine(3),
                              cosine(4)});

  SGD opt({dummy()}, {.lr = 0.3});
  auto first = make(opt);
  for (int e = 0; e < 5; ++e) first->step();
  const nn::StateDict sched_state = first->state_dict(), opt_state = opt.state_dict();
  CHECK(keys(sched_state) == std::vector<std::string>{"last_epoch", "base_lr", "last_lr", "schedulers.0.last_epoch",
                                                      "schedulers.0.base_lr", "schedulers.0.last_lr",
                                                      "schedulers.1.last_epoch", "schedulers.1.base_lr",
                                                      "schedulers.1.last_lr", "schedulers.2.last_epoch",
                                                      "schedulers.2.base_lr", "schedulers.2.last_lr"});

  SGD opt2({dummy()}, {.lr = 0.3});
  auto resumed = make(opt2);
  opt2.load_state_dict(opt_state);
  resumed->load_state_dict(sched_state);
  CHECK(resumed->last_epoch() == 5);
  std::vector<double> got(expected.begin(), expected.begin() + 5);
  got.push_back(resumed->get_last_lr());
  for (int e = 6; e < 12; ++e) {
    resumed->step();
    got.push_back(resumed->get_last_lr());
  }
  CHECK(got == expected);

  XGRAD_REQUIRE_THROWS_WITH(resumed->load_state_dict(without(sched_state, "schedulers.1.last_epoch")), ValueError,
                            "StepLR", "nothing was loaded", "schedulers.1.last_epoch: missing");
  XGRAD_REQUIRE_THROWS_WITH(
      resumed->load_state_dict(replaced(sched_state, "last_epoch", scalar_tensor(1.5, {.dtype = f64}))), ValueError,
      "SequentialLR", "last_epoch: expected a whole number, got 1.5");
  nn::StateDict extra = sched_state;
  extra.emplace_back("schedulers.3.last_epoch", scalar_tensor(1, {.dtype = f64}));
  XGRAD_REQUIRE_THROWS_WITH(resumed->load_state_dict(extra), ValueError, "schedulers.3.last_epoch: unexpected key");
  XGRAD_REQUIRE_THROWS_WITH(resumed->load_state_dict(replaced(sched_state, "schedulers.0.base_lr", zeros({1}))),
                            ValueError, "LinearLR", "schedulers.0.base_lr: expected a 0-d f64 tensor, got [1] f32");
  CHECK(resumed->last_epoch() == 11);
}

TEST_CASE("schedulers refuse bad settings", "[optim][scheduler][errors]") {
  SGD opt({dummy()}, {.lr = 0.1});
  XGRAD_REQUIRE_THROWS_WITH(StepLR(opt, 0), ValueError, "StepLR", "step_size must be >= 1, got 0");
  XGRAD_REQUIRE_THROWS_WITH(StepLR(opt, 2, -0.5), ValueError, "StepLR", "gamma", "-0.5");
  XGRAD_REQUIRE_THROWS_WITH(MultiStepLR(opt, {2}, -1), ValueError, "MultiStepLR", "gamma");
  XGRAD_REQUIRE_THROWS_WITH(CosineAnnealingLR(opt, 0), ValueError, "CosineAnnealingLR", "T_max must be >= 1, got 0");
  XGRAD_REQUIRE_THROWS_WITH(CosineAnnealingLR(opt, 10, -1), ValueError, "eta_min");
  XGRAD_REQUIRE_THROWS_WITH(LinearLR(opt, 0.0), ValueError, "LinearLR", "start_factor must be in (0, 1], got 0");
  XGRAD_REQUIRE_THROWS_WITH(LinearLR(opt, 1.5), ValueError, "start_factor", "1.5");
  XGRAD_REQUIRE_THROWS_WITH(LinearLR(opt, 0.5, -0.1), ValueError, "end_factor must be in [0, 1], got -0.1");
  XGRAD_REQUIRE_THROWS_WITH(LinearLR(opt, 0.5, 1.0, 0), ValueError, "total_iters must be >= 1, got 0");

  SGD other({dummy()}, {.lr = 0.1});
  auto a = std::make_shared<StepLR>(opt, 2);
  auto b = std::make_shared<StepLR>(opt, 3);
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(opt, {}, {}), ValueError, "SequentialLR", "at least one");
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(opt, {a, nullptr}, {2}), ValueError, "scheduler 1 is null");
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(other, {a, b}, {2}), ValueError, "scheduler 0 (StepLR)",
                            "different optimiser");
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(opt, {a, b}, {2, 4}), ValueError, "2 schedulers need 1 milestones, got 2");
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(opt, {a, b, a}, {4, 2}), ValueError, "positive and increasing",
                            "[4, 2]");
  XGRAD_REQUIRE_THROWS_WITH(SequentialLR(opt, {a, b}, {0}), ValueError, "positive and increasing");
}

// ---- gradient clipping ---------------------------------------------------------------

TEST_CASE("clip_grad_norm_ scales all gradients by one factor", "[optim][clip]") {
  // Gradients [3, 4] and [12]: 2-norm sqrt(9 + 16 + 144) = 13, 1-norm 19, inf-norm 12.
  Tensor a = param({0, 0});
  Tensor b = param({0});
  Tensor none = param({0});  // no gradient: skipped
  auto reset = [&] {
    a.set_grad(f64_tensor({3, 4}));
    b.set_grad(f64_tensor({12}));
  };
  const std::vector<Tensor> params{a, none, b};

  reset();
  CHECK(clip_grad_norm_(params, 20) == Approx(13).epsilon(1e-15));  // below: unchanged
  require_values(a.grad(), {3, 4});

  reset();
  CHECK(clip_grad_norm_(params, 6.5) == Approx(13).epsilon(1e-15));
  const double c = 6.5 / (13 + 1e-6);
  require_values(a.grad(), {3 * c, 4 * c});
  require_values(b.grad(), {12 * c});

  reset();
  CHECK(clip_grad_norm_(params, 9.5, 1.0) == Approx(19).epsilon(1e-15));
  require_values(b.grad(), {12 * 9.5 / (19 + 1e-6)});

  reset();
  CHECK(clip_grad_norm_(params, 6, std::numeric_limits<double>::infinity()) == 12);
  require_values(a.grad(), {3 * 6 / (12 + 1e-6), 4 * 6 / (12 + 1e-6)});

  reset();
  CHECK(clip_grad_norm_(params, 100, 3.0) == Approx(std::cbrt(27.0 + 64 + 1728)).epsilon(1e-14));

  Tensor f = from_vector(std::vector<float>{0, 0}, {}, {.requires_grad = true});
  f.set_grad(from_vector(std::vector<float>{3, 4}));
  CHECK(clip_grad_norm_({f}, 1) == Approx(5));
  require_values(f.grad(), {0.6, 0.8}, 1e-6);

  CHECK(clip_grad_norm_({none}, 1) == 0);
  CHECK_FALSE(none.grad().defined());
}

TEST_CASE("clip_grad_value_ clamps each gradient element", "[optim][clip]") {
  Tensor a = param({0, 0, 0});
  Tensor none = param({0});
  a.set_grad(f64_tensor({-3, 0.5, 2}));
  clip_grad_value_({a, none}, 1);
  require_values(a.grad(), {-1, 0.5, 1});
  CHECK_FALSE(none.grad().defined());
}

TEST_CASE("gradient clipping refuses bad arguments", "[optim][clip][errors]") {
  Tensor a = param({0, 0, 0, 0});
  XGRAD_REQUIRE_THROWS_WITH(clip_grad_norm_({a}, -1), ValueError, "clip_grad_norm_", "max_norm must be >= 0, got -1");
  XGRAD_REQUIRE_THROWS_WITH(clip_grad_norm_({a}, 1, 0), ValueError, "norm_type must be > 0", "got 0");
  XGRAD_REQUIRE_THROWS_WITH(clip_grad_value_({a}, -0.5), ValueError, "clip_grad_value_", "-0.5");
  XGRAD_REQUIRE_THROWS_WITH(clip_grad_norm_({a, Tensor()}, 1), Error, "clip_grad_norm_", "parameter");
  Tensor m = f64_tensor({0, 0, 0, 0}, {2, 2}, true);
  m.set_grad(f64_tensor({1, 2, 3, 4}, {2, 2}).t());
  XGRAD_REQUIRE_THROWS_WITH(clip_grad_value_({m}, 1), ValueError, "gradient of parameter 0", "not contiguous");
}
