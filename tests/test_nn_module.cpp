// nn::Module: registration, traversal, modes, state_dict, hooks; Sequential.

#include "support.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/sequential.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// y = x * scale + shift, with a counter buffer.
struct Affine : nn::Module {
  explicit Affine(std::int64_t n) : Module("Affine") {
    scale = register_parameter("scale", ones({n}));
    shift = register_parameter("shift", zeros({n}));
    calls = register_buffer("calls", zeros({1}, {.dtype = i64}));
    scratch = register_buffer("scratch", zeros({n}), /*persistent=*/false);
  }
  Tensor forward(const Tensor& x) override { return x * scale + shift; }
  Tensor scale, shift, calls, scratch;
};

struct Block : nn::Module {
  Block() : Module("Block") {
    first = register_module("first", std::make_shared<Affine>(3));
    second = register_module("second", std::make_shared<Affine>(3));
  }
  Tensor forward(const Tensor& x) override { return (*second)((*first)(x)); }
  std::shared_ptr<Affine> first, second;
};

std::vector<std::string> names(const nn::StateDict& d) {
  std::vector<std::string> out;
  for (const auto& [n, t] : d) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("modules register parameters, buffers and children by dotted name", "[nn]") {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<Block>()).push_back("head", std::make_shared<Affine>(3));
  CHECK(names(net->named_parameters()) ==
        std::vector<std::string>{"0.first.scale", "0.first.shift", "0.second.scale", "0.second.shift", "head.scale",
                                 "head.shift"});
  CHECK(net->parameters().size() == 6);
  CHECK(names(net->named_buffers()) == std::vector<std::string>{"0.first.calls", "0.first.scratch", "0.second.calls",
                                                                "0.second.scratch", "head.calls", "head.scratch"});
  CHECK(names(net->state_dict()) ==
        std::vector<std::string>{"0.first.scale", "0.first.shift", "0.first.calls", "0.second.scale",
                                 "0.second.shift", "0.second.calls", "head.scale", "head.shift", "head.calls"});
  std::vector<std::string> module_names;
  for (auto& [n, m] : net->named_modules()) module_names.push_back(n);
  CHECK(module_names == std::vector<std::string>{"", "0", "0.first", "0.second", "head"});
  CHECK(net->find("0.second")->type_name() == "Affine");
  XGRAD_REQUIRE_THROWS_WITH(net->find("0.third"), ValueError, "0.third", "valid names", "0.first");
  for (const Tensor& p : net->parameters()) CHECK(p.requires_grad());
}

TEST_CASE("registration refuses bad or repeated names", "[nn][errors]") {
  Affine a(2);
  XGRAD_REQUIRE_THROWS_WITH(a.register_parameter("scale", ones({2})), ValueError, "scale", "already registered");
  XGRAD_REQUIRE_THROWS_WITH(a.register_buffer("a.b", ones({2})), ValueError, "a.b");
  XGRAD_REQUIRE_THROWS_WITH(a.register_parameter("idx", zeros({2}, {.dtype = i64})), DTypeError, "idx", "i64");
  nn::Module bare("Bare");
  XGRAD_REQUIRE_THROWS_WITH(bare(ones({1})), Error, "Bare", "no forward");
}

TEST_CASE("forward, backward and zero_grad through modules", "[nn]") {
  Block b;
  Tensor x = from_vector(std::vector<float>{1, 2, 3});
  b(x).sum().backward();
  require_values(b.first->scale.grad(), {1, 2, 3}, 1e-6);
  b.zero_grad(/*set_to_none=*/false);
  require_values(b.first->scale.grad(), {0, 0, 0});
  b.zero_grad();
  CHECK_FALSE(b.first->scale.grad().defined());
}

TEST_CASE("train and eval reach every descendant", "[nn]") {
  Block b;
  CHECK(b.is_training());
  b.eval();
  CHECK_FALSE(b.first->is_training());
  b.train();
  CHECK(b.second->is_training());
}

TEST_CASE("state_dict round trip and strict loading", "[nn][state_dict]") {
  Block a, b;
  {
    NoGradGuard no_grad;
    a.first->scale.fill_(2);
    a.second->shift.fill_(-1);
  }
  const Tensor handle = b.first->scale;
  b.load_state_dict(a.state_dict());
  require_values(b.first->scale, {2, 2, 2});
  require_values(b.second->shift, {-1, -1, -1});
  CHECK(handle.is_same(b.first->scale));  // loaded in place: members stay valid

  nn::StateDict partial = a.state_dict();
  partial.pop_back();
  partial.emplace_back("extra.weight", ones({1}));
  XGRAD_REQUIRE_THROWS_WITH(b.load_state_dict(partial), ValueError, "missing: second.calls",
                            "unexpected: extra.weight", "nothing was loaded");
  const nn::LoadResult r = b.load_state_dict(partial, /*strict=*/false);
  CHECK(r.missing_keys == std::vector<std::string>{"second.calls"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"extra.weight"});

  nn::StateDict wrong = a.state_dict();
  wrong[0].second = ones({4});
  wrong[1].second = ones({3}, {.dtype = f64});
  {
    NoGradGuard no_grad;
    b.first->scale.fill_(7);
  }
  XGRAD_REQUIRE_THROWS_WITH(b.load_state_dict(wrong), ValueError, "first.scale (expected [3] f32, got [4] f32)",
                            "first.shift (expected [3] f32, got [3] f64)");
  require_values(b.first->scale, {7, 7, 7});  // unchanged after a failed load
}

TEST_CASE("to(dtype) converts parameters and buffers in place", "[nn]") {
  Block b;
  const Tensor handle = b.first->scale;
  b.to(f64);
  CHECK(handle.dtype() == f64);
  CHECK(handle.requires_grad());
  CHECK(b.first->calls.dtype() == i64);  // integer buffers keep their type
  b(ones({3}, {.dtype = f64})).sum().backward();
  CHECK(handle.grad().dtype() == f64);
}

TEST_CASE("forward hooks see every output and can be removed", "[nn][hooks]") {
  Block b;
  std::vector<Shape> seen;
  const int id = b.second->register_forward_hook(
      [&](nn::Module& m, const Tensor&, const Tensor& out) {
        CHECK(m.type_name() == "Affine");
        seen.push_back(out.shape());
      });
  b(ones({2, 3}));
  CHECK(seen == std::vector<Shape>{{2, 3}});
  b.second->remove_forward_hook(id);
  b(ones({3}));
  CHECK(seen.size() == 1);
}

TEST_CASE("Sequential chains modules and indexes them", "[nn]") {
  nn::Sequential s({std::make_shared<Affine>(2), std::make_shared<Affine>(2)});
  CHECK(s.size() == 2);
  CHECK(s[1]->type_name() == "Affine");
  XGRAD_REQUIRE_THROWS_WITH(s[2], ValueError, "index 2", "2 modules");
  require_values(s(from_vector(std::vector<float>{1, 2})), {1, 2});
}
