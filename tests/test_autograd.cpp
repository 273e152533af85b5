// The tape: accumulation, diamonds, retain_graph, grad mode, detach, retain_grad,
// in-place safety, freeing, and deep graphs.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
Tensor f64_leaf(std::vector<double> v, Shape shape = {}) { return f64_tensor(std::move(v), std::move(shape), true); }
}  // namespace

TEST_CASE("backward of a scalar fills leaf gradients", "[autograd]") {
  Tensor x = f64_leaf({1, 2, 3});
  Tensor y = (x * x + 3.0 * x).sum();  // dy/dx = 2x + 3
  CHECK(y.grad_fn() != nullptr);
  CHECK_FALSE(y.is_leaf());
  y.backward();
  require_values(x.grad(), {5, 7, 9});
  CHECK(x.grad().dtype() == f64);
  CHECK_FALSE(x.grad().requires_grad());
}

TEST_CASE("a tensor used twice sums both paths (diamonds)", "[autograd]") {
  Tensor x = f64_leaf({2});
  (x + x).sum().backward();
  require_values(x.grad(), {2});

  Tensor w = f64_leaf({3});
  Tensor a = w * 2.0;        // a = 2w
  Tensor b = a * a;          // b = 4w^2
  Tensor c = (a + b).sum();  // c = 2w + 4w^2, dc/dw = 2 + 8w = 26
  c.backward();
  require_values(w.grad(), {26});

  // Broadcasting into the same leaf from two ops.
  Tensor v = f64_leaf({1, 2}, {2, 1});
  Tensor m = ones({2, 3}, {.dtype = f64});
  ((m * v) + (v * 2.0)).sum().backward();  // each v[i] meets 3 columns twice: 3 * 1 + 3 * 2
  require_values(v.grad(), {9, 9});
}

TEST_CASE("gradients accumulate across backward calls until zeroed", "[autograd]") {
  Tensor x = f64_leaf({1, -1});
  (x * 3.0).sum().backward();
  (x * 3.0).sum().backward();
  require_values(x.grad(), {6, 6});
  x.grad().zero_();
  (x * x).sum().backward();
  require_values(x.grad(), {2, -2});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("backward(gradient) on a non-scalar and its errors", "[autograd][errors]") {
  Tensor x = f64_leaf({1, 2, 3});
  Tensor y = x * 2.0;
  XGRAD_REQUIRE_THROWS_WITH(y.backward(), AutogradError, "one element", "[3]");
  XGRAD_REQUIRE_THROWS_WITH(y.backward(ones({2}, {.dtype = f64})), ShapeError, "[2]", "[3]");
  XGRAD_REQUIRE_THROWS_WITH(y.backward(ones({3})), DTypeError, "f32", "f64");
  y.backward(from_vector(std::vector<double>{1, 10, 100}));
  require_values(x.grad(), {2, 20, 200});
  XGRAD_REQUIRE_THROWS_WITH(ones({1}).backward(), AutogradError, "does not require grad");
}

TEST_CASE("retain_graph allows a second backward, and without it the graph is freed", "[autograd]") {
  Tensor x = f64_leaf({2});
  Tensor y = (x * x).sum();
  y.backward(Tensor(), {.retain_graph = true});
  y.backward();
  require_values(x.grad(), {8});
  XGRAD_REQUIRE_THROWS_WITH(y.backward(), AutogradError, "second time", "retain_graph");
}

TEST_CASE("NoGradGuard records nothing and restores the mode", "[autograd]") {
  Tensor x = f64_leaf({1});
  CHECK(is_grad_enabled());
  {
    NoGradGuard outer;
    CHECK_FALSE(is_grad_enabled());
    {
      NoGradGuard inner;
      Tensor y = x * 2.0;
      CHECK_FALSE(y.requires_grad());
      CHECK(y.grad_fn() == nullptr);
    }
    CHECK_FALSE(is_grad_enabled());
  }
  CHECK(is_grad_enabled());
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach cuts the graph but shares storage", "[autograd]") {
  Tensor x = f64_leaf({1, 2});
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor y = (x * d).sum();  // d is a constant here
  y.backward();
  require_values(x.grad(), {2, 4});
  Tensor e = x.detach();
  CHECK(e.shares_storage(x));
  {
    NoGradGuard no_grad;
    e.fill_(5);
  }
  require_values(x, {5, 5});
}

TEST_CASE("requires_grad_ works on leaves only", "[autograd][errors]") {
  Tensor x = zeros({2}, {.dtype = f64});
  CHECK_FALSE(x.requires_grad());
  x.requires_grad_();
  CHECK(x.requires_grad());
  Tensor y = x * 2.0;
  XGRAD_REQUIRE_THROWS_WITH(y.requires_grad_(false), AutogradError, "leaf", "MulScalarBackward");
  x.requires_grad_(false);
  CHECK_FALSE((x * 2.0).requires_grad());
}

TEST_CASE("retain_grad keeps the gradient of an intermediate tensor", "[autograd]") {
  Tensor x = f64_leaf({1, 2});
  Tensor h = x * 3.0;
  Tensor kept = h.exp();
  kept.retain_grad();
  CHECK(kept.retains_grad());
  Tensor y = (kept * 2.0).sum();
  y.backward();
  require_values(kept.grad(), {2, 2});
  CHECK_FALSE(h.grad().defined());  // not retained
  require_values(x.grad(), {6 * std::exp(3.0), 6 * std::exp(6.0)}, 1e-9);
  // The root itself can be retained too.
  Tensor r = (x * 1.0).sum();
  r.retain_grad();
  r.backward();
  require_values(r.grad(), {1});
}

TEST_CASE("in-place updates are refused where they would corrupt gradients", "[autograd][errors]") {
  Tensor w = f64_leaf({1, 2});
  XGRAD_REQUIRE_THROWS_WITH(w.add_(ones({2}, {.dtype = f64})), AutogradError, "add_", "requires grad",
                            "NoGradGuard");
  {
    NoGradGuard no_grad;  // an optimiser step
    w.add_(ones({2}, {.dtype = f64}), -0.5);
  }
  require_values(w, {0.5, 1.5});

  // A saved tensor modified after it was saved is detected at backward.
  Tensor a = f64_leaf({1, 2});
  Tensor b = from_vector(std::vector<double>{3, 4});
  Tensor y = (a * b).sum();  // saves b
  b.fill_(0);
  XGRAD_REQUIRE_THROWS_WITH(y.backward(), AutogradError, "MulBackward", "in-place", "version");
}

TEST_CASE("backward with several roots", "[autograd]") {
  Tensor x = f64_leaf({1, 2});
  Tensor y1 = (x * 2.0).sum();
  Tensor y2 = (x * x).sum();
  autograd::backward({y1, y2});
  require_values(x.grad(), {4, 6});
}

TEST_CASE("graphs are freed when their last tensor goes", "[autograd][memory]") {
  Tensor x = f64_leaf({1, 2});
  std::weak_ptr<autograd::Node> node;
  std::weak_ptr<autograd::Node> inner;
  {
    Tensor h = x.exp();  // saves its own output: must not form a cycle
    Tensor y = h.sum();
    node = y.grad_fn();
    inner = h.grad_fn();
    CHECK_FALSE(node.expired());
  }
  CHECK(node.expired());
  CHECK(inner.expired());

  Tensor y = x.sigmoid().sum();
  node = y.grad_fn();
  y.backward();  // frees saved tensors, the node lives while y does
  CHECK_FALSE(node.expired());
  y = Tensor();
  CHECK(node.expired());
}

TEST_CASE("deep graphs: backward and destruction need no recursion", "[autograd][deep]") {
  Tensor x = f64_leaf({1});
  Tensor y = x;
  constexpr int kDepth = 200000;  // far deeper than any stack could recurse
  for (int i = 0; i < kDepth; ++i) y = y + 1.0;
  y.sum().backward(Tensor(), {.retain_graph = true});
  require_values(x.grad(), {1});
  std::weak_ptr<autograd::Node> node = y.grad_fn();
  y = Tensor();
  CHECK(node.expired());
}

TEST_CASE("inputs that do not require grad get no gradient", "[autograd]") {
  Tensor x = f64_leaf({1, 2});
  Tensor c = from_vector(std::vector<double>{3, 4});
  (x * c).sum().backward();
  CHECK_FALSE(c.grad().defined());
  require_values(x.grad(), {3, 4});
  // A branch that does not lead to any leaf needing grad is skipped.
  Tensor z = (c * 2.0).sum() + (x * 0.0).sum();
  z.backward();
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("gradients flow through dtype conversions", "[autograd]") {
  Tensor x = f64_leaf({1, 2});
  Tensor y = (x.to(f32) * 2.0).sum();
  CHECK(y.dtype() == f32);
  y.backward();
  CHECK(x.grad().dtype() == f64);
  require_values(x.grad(), {2, 2});
  require_gradcheck([](const std::vector<Tensor>& in) { return in[0].clone() * in[0].contiguous(); },
                    {f64_leaf({0.5, -1.5})});
}

namespace {
// Counts its backward calls, to see which nodes autograd::grad runs.
struct CountingIdentity : Function<CountingIdentity> {
  static inline int backward_calls = 0;
  static Tensor forward(autograd::Context&, const Tensor& x) { return x * 1.0; }
  static std::vector<Tensor> backward(autograd::Context&, const std::vector<Tensor>& grads) {
    ++backward_calls;
    return {grads[0]};
  }
};
}  // namespace

TEST_CASE("autograd::grad returns gradients and accumulates nothing", "[autograd][grad]") {
  Tensor x = f64_leaf({1, 2, 3});
  Tensor w = f64_leaf({2});
  Tensor h = x * w;                  // intermediate
  Tensor y = (h * h + x).sum();      // dy/dh = 2h, dy/dx = 2 h w + 1, dy/dw = sum(2 h x)
  h.retain_grad();
  const std::vector<Tensor> g = autograd::grad({y}, {x, h, w}, {}, {.retain_graph = true});
  REQUIRE(g.size() == 3);
  require_values(g[0], {9, 17, 25});
  require_values(g[1], {4, 8, 12});
  require_values(g[2], {56});
  CHECK_FALSE(g[0].requires_grad());
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
  CHECK_FALSE(h.grad().defined());

  // The same graph again through backward(): the two agree.
  y.backward();
  require_values(x.grad(), {9, 17, 25});
  require_values(w.grad(), {56});
}

TEST_CASE("autograd::grad seeds non-scalar outputs and frees the graph unless retained", "[autograd][grad]") {
  Tensor x = f64_leaf({1, -2});
  Tensor y = x * x;
  const Tensor seed = f64_tensor({1, 10}, {2});
  require_values(autograd::grad({y}, {x}, {seed}, {.retain_graph = true})[0], {2, -40});
  require_values(autograd::grad({y}, {x}, {seed})[0], {2, -40});
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({y}, {x}, {seed}), AutogradError, "second time");
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({x * 2.0}, {x}), AutogradError, "grad:", "one element", "[2]");
}

TEST_CASE("autograd::grad runs only the nodes that lead to its inputs", "[autograd][grad]") {
  Tensor x = f64_leaf({3});
  Tensor side = f64_leaf({5});
  CountingIdentity::backward_calls = 0;
  Tensor y = (x * 2.0 + CountingIdentity::apply(side)).sum();
  require_values(autograd::grad({y}, {x})[0], {2});
  CHECK(CountingIdentity::backward_calls == 0);
  CHECK_FALSE(side.grad().defined());
}

TEST_CASE("autograd::grad errors and unused inputs", "[autograd][grad][errors]") {
  Tensor x = f64_leaf({1});
  Tensor unused = f64_leaf({1, 2});
  Tensor y = (x * 3.0).sum();
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({y}, {unused}, {}, {.retain_graph = true}), AutogradError, "input 0", "[2]",
                            "not used", "allow_unused");
  const auto g = autograd::grad({y}, {x, unused}, {}, {.retain_graph = true, .allow_unused = true});
  require_values(g[0], {3});
  CHECK_FALSE(g[1].defined());
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({y}, {ones({2})}, {}, {.retain_graph = true}), AutogradError, "input 0",
                            "does not require grad");
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({ones({1})}, {x}), AutogradError, "grad:", "does not require grad");
  XGRAD_REQUIRE_THROWS_WITH(autograd::grad({y}, {x}, {ones({1}), ones({1})}), AutogradError, "1 roots but 2");
}

TEST_CASE("post-accumulate-grad hooks run once per backward, after accumulation", "[autograd][hooks]") {
  Tensor w = f64_leaf({1, 2});
  std::vector<std::vector<double>> seen;
  const int id = w.register_post_accumulate_grad_hook([&](const Tensor& t) { seen.push_back(t.grad().to_vector<double>()); });
  // w is used twice: the hook sees the sum of both paths, once.
  ((w * 3.0).sum() + (w * w).sum()).backward();  // 3 + 2w
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{5, 7});
  // A second backward accumulates; the hook sees the total.
  (w * 1.0).sum().backward();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{6, 8});
  // autograd::grad accumulates nothing, so no hook runs.
  autograd::grad({(w * w).sum()}, {w});
  CHECK(seen.size() == 2);
  w.remove_post_accumulate_grad_hook(id);
  (w * 1.0).sum().backward();
  CHECK(seen.size() == 2);
}

TEST_CASE("a post-accumulate hook may change the gradient in place", "[autograd][hooks]") {
  Tensor w = f64_leaf({1, 2});
  w.register_post_accumulate_grad_hook([](const Tensor& t) {
    NoGradGuard no_grad;
    t.grad().mul_(0.5);
  });
  (w * 4.0).sum().backward();
  require_values(w.grad(), {2, 2});
}

TEST_CASE("post-accumulate hooks are for leaves that require grad", "[autograd][hooks][errors]") {
  Tensor w = f64_leaf({1});
  Tensor y = w * 2.0;
  CHECK_THROWS_AS(y.register_post_accumulate_grad_hook([](const Tensor&) {}), AutogradError);
  CHECK_THROWS_AS(f64_tensor({1}, {}).register_post_accumulate_grad_hook([](const Tensor&) {}), AutogradError);
  CHECK_THROWS_AS(w.register_post_accumulate_grad_hook({}), ValueError);
}

TEST_CASE("queue_callback runs at the end of backward, after every hook", "[autograd][hooks]") {
  Tensor a = f64_leaf({1}), b = f64_leaf({2});
  std::vector<std::string> events;
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    events.push_back("a");
    autograd::queue_callback([&] {
      events.push_back("end:" + std::to_string(b.grad().item()));  // b's gradient is there by now
      autograd::queue_callback([&] { events.push_back("nested"); });
    });
  });
  b.register_post_accumulate_grad_hook([&](const Tensor&) { events.push_back("b"); });
  // a's gradient is ready first (a meets the graph last), b's afterwards.
  ((b * 3.0) * 2.0 + a).sum().backward();
  REQUIRE(events.size() == 4);
  CHECK(events.back() == "nested");
  CHECK(events[2] == "end:6.000000");
  CHECK(std::find(events.begin(), events.end(), "a") < events.begin() + 2);
  CHECK(std::find(events.begin(), events.end(), "b") < events.begin() + 2);

  CHECK_THROWS_AS(autograd::queue_callback([] {}), AutogradError);  // no backward running
}

TEST_CASE("callbacks of a backward that throws are dropped", "[autograd][hooks]") {
  Tensor a = f64_leaf({1});
  bool ran = false;
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    autograd::queue_callback([&] { ran = true; });
    throw ValueError("hook failed");
  });
  CHECK_THROWS_AS((a * 2.0).sum().backward(), ValueError);
  CHECK_FALSE(ran);
  CHECK_THROWS_AS(autograd::queue_callback([] {}), AutogradError);  // the scope was left
}
