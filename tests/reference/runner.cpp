// The differential suite's runner: see runner.hpp for what it checks.

#include "reference/runner.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

namespace xgrad::reference {

namespace {

struct Case {
  std::string id;
  nlohmann::json meta;
  std::map<std::string, Tensor> tensors;

  const Tensor& at(const std::string& key) const {
    const auto found = tensors.find(key);
    if (found == tensors.end()) throw std::runtime_error(id + ": the fixture has no tensor " + key);
    return found->second;
  }
  std::vector<int> list(const char* key) const { return meta.at(key).get<std::vector<int>>(); }
};

// The worst error of each kind over an op's cases (-1: not checked).
struct Worst {
  int cases = 0;
  double out64 = -1, grad64 = -1, strided = -1, second = -1, jvp = -1, out32 = -1, grad32 = -1;
};

constexpr double kTol64 = 1e-9;        // outputs and first-order products in float64
constexpr double kTolHigher = 1e-8;    // second-order products and jvps
constexpr double kTol32 = 1e-4;        // float32 against the float64 reference, by default

// max |got - want| / (1 + |want|); NaN and inf must sit where the reference has them.
// Integer tensors must match exactly (an error of 1 when they do not).
double error(const Tensor& got, const Tensor& want, const std::string& what) {
  INFO(what << ": shape " << shape_to_string(got.shape()) << ", reference " << shape_to_string(want.shape()));
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  if (want.dtype() == i64) {
    REQUIRE(got.dtype() == i64);
    return got.to_vector<std::int64_t>() == want.to_vector<std::int64_t>() ? 0.0 : 1.0;
  }
  const std::vector<double> g = got.to(f64).to_vector<double>(), w = want.to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i]) || std::isnan(g[i])) {
      if (std::isnan(w[i]) != std::isnan(g[i])) return INFINITY;
      continue;
    }
    if (std::isinf(w[i]) || std::isinf(g[i])) {
      if (g[i] != w[i]) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::abs(g[i] - w[i]) / (1 + std::abs(w[i])));
  }
  return worst;
}

void note(double& slot, double value) { slot = std::max(slot, value); }

// An equal tensor whose last dim has stride 2 (a view into a buffer twice as wide).
Tensor strided_copy(const Tensor& t) {
  if (t.dim() == 0 || t.numel() == 0) return t;
  return stack({t, t}, -1).select(-1, 0);
}

struct Prepared {
  Inputs inputs;
  std::vector<Tensor> differentiable;  // the inputs that get gradients, in the fixture's order
};

// The case's inputs in `dtype` (floating ones; integer ones as stored), the
// differentiable ones leaves that require grad.
Prepared prepare(const Case& c, DType dtype, bool strided, bool requires_grad = true) {
  Prepared p;
  const std::vector<int> diff = c.list("diff");
  for (int i = 0; i < c.meta.at("n_in").get<int>(); ++i) {
    Tensor t = c.at(fmt::format("in{}", i));
    if (t.dtype() != i64) t = t.to(dtype);
    t = (strided ? strided_copy(t) : t.clone()).detach();  // a fresh copy: ops may update inputs in place
    if (std::find(diff.begin(), diff.end(), i) != diff.end()) {
      if (requires_grad) t.requires_grad_();
      p.differentiable.push_back(t);
    }
    p.inputs.push_back(t);
  }
  return p;
}

Outputs run(const OpFn& fn, const Case& c, const Inputs& inputs) {
  Outputs outs = fn(inputs, c.meta.at("options"));
  INFO(c.id << ": the op returned " << outs.size() << " outputs");
  REQUIRE(static_cast<int>(outs.size()) == c.meta.at("n_out").get<int>());
  return outs;
}

Tensor zeros_or(const Tensor& t, const Tensor& like) { return t.defined() ? t : zeros_like(like); }

// The outputs that carry a graph, with their fixture gradients (in `dtype`).
struct Connected {
  std::vector<Tensor> outputs, grads;
  std::vector<int> index;  // output number of each
};

Connected connected(const Case& c, const Outputs& outs, DType dtype, bool grads_require_grad = false) {
  Connected k;
  for (int j : c.list("float_outs")) {
    if (!outs[j].requires_grad()) continue;
    k.outputs.push_back(outs[j]);
    Tensor g = c.at(fmt::format("gout{}", j)).to(dtype);
    if (grads_require_grad) g.requires_grad_();
    k.grads.push_back(g);
    k.index.push_back(j);
  }
  return k;
}

// Outputs and first-order products for one dtype / layout; returns {out error, grad error}.
std::pair<double, double> first_order(const OpFn& fn, const Case& c, DType dtype, bool strided) {
  const Prepared p = prepare(c, dtype, strided);
  const Outputs outs = run(fn, c, p.inputs);
  double out_error = 0, grad_error = 0;
  for (int j = 0; j < static_cast<int>(outs.size()); ++j)
    note(out_error, error(outs[j], c.at(fmt::format("out{}", j)), fmt::format("{} out{}", c.id, j)));
  const std::vector<int> diff = c.list("diff");
  if (diff.empty()) return {out_error, -1};
  const Connected k = connected(c, outs, dtype);
  std::vector<Tensor> grads(diff.size());
  if (!k.outputs.empty()) grads = autograd::grad(k.outputs, p.differentiable, k.grads, {.allow_unused = true});
  for (std::size_t i = 0; i < diff.size(); ++i)
    note(grad_error, error(zeros_or(grads[i], p.differentiable[i]), c.at(fmt::format("grad{}", diff[i])),
                           fmt::format("{} grad{}", c.id, diff[i])));
  return {out_error, grad_error};
}

// d/d(inputs, gouts) of sum_i <vjp_i, v_i>, against ggin / ggout.
double second_order(const OpFn& fn, const Case& c) {
  const Prepared p = prepare(c, f64, false);
  const Outputs outs = run(fn, c, p.inputs);
  const Connected k = connected(c, outs, f64, true);
  const std::vector<int> diff = c.list("diff");
  std::vector<Tensor> wrt = p.differentiable;
  wrt.insert(wrt.end(), k.grads.begin(), k.grads.end());
  std::vector<Tensor> gg(wrt.size());
  if (!k.outputs.empty()) {
    const std::vector<Tensor> g =
        autograd::grad(k.outputs, p.differentiable, k.grads, {.create_graph = true, .allow_unused = true});
    std::optional<Tensor> total;
    for (std::size_t i = 0; i < diff.size(); ++i) {
      if (!g[i].defined() || !g[i].requires_grad()) continue;
      const Tensor term = (g[i] * c.at(fmt::format("v{}", diff[i]))).sum();
      total = total ? *total + term : term;
    }
    if (total) gg = autograd::grad({*total}, wrt, {}, {.allow_unused = true});
  }
  double worst = 0;
  for (std::size_t i = 0; i < diff.size(); ++i)
    note(worst, error(zeros_or(gg[i], wrt[i]), c.at(fmt::format("ggin{}", diff[i])),
                      fmt::format("{} ggin{}", c.id, diff[i])));
  for (std::size_t j = 0; j < k.index.size(); ++j)
    note(worst, error(zeros_or(gg[diff.size() + j], k.grads[j]), c.at(fmt::format("ggout{}", k.index[j])),
                      fmt::format("{} ggout{}", c.id, k.index[j])));
  return worst;
}

// xgrad's forward mode along the fixture's tangents, against jvp{j}.
double forward_mode(const OpFn& fn, const Case& c) {
  Prepared p = prepare(c, f64, false, false);
  const std::vector<int> diff = c.list("diff");
  autograd::forward_ad::DualLevel level;
  for (std::size_t i = 0, d = 0; i < p.inputs.size(); ++i)
    if (d < diff.size() && diff[d] == static_cast<int>(i))
      p.inputs[i] = autograd::forward_ad::make_dual(p.inputs[i], c.at(fmt::format("tan{}", diff[d++])));
  const Outputs outs = run(fn, c, p.inputs);
  double worst = 0;
  for (int j : c.list("float_outs")) {
    const auto [primal, tangent] = autograd::forward_ad::unpack_dual(outs[j]);
    note(worst, error(zeros_or(tangent, primal), c.at(fmt::format("jvp{}", j)), fmt::format("{} jvp{}", c.id, j)));
  }
  return worst;
}

std::string cell(double value) { return value < 0 ? "-" : fmt::format("{:.1e}", value); }

void report(const std::string& family, const std::map<std::string, Worst>& worst) {
  std::string table = fmt::format("reference suite, family {}:\n", family);
  table += fmt::format("  {:<28} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "op", "cases", "out f64",
                       "grad f64", "strided", "2nd ord", "jvp", "out f32", "grad f32");
  std::string markdown;
  for (const auto& [op, w] : worst) {
    table += fmt::format("  {:<28} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", op, w.cases, cell(w.out64),
                         cell(w.grad64), cell(w.strided), cell(w.second), cell(w.jvp), cell(w.out32), cell(w.grad32));
    markdown += fmt::format("| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n", family, op, w.cases,
                            cell(w.out64), cell(w.grad64), cell(w.strided), cell(w.second), cell(w.jvp),
                            cell(w.out32), cell(w.grad32));
  }
  std::cout << table << std::flush;
  if (const char* path = std::getenv("XGRAD_REFERENCE_TABLE")) std::ofstream(path, std::ios::app) << markdown;
}

}  // namespace

std::vector<std::int64_t> ints(const Options& value) {
  if (value.is_array()) return value.get<std::vector<std::int64_t>>();
  return {value.get<std::int64_t>()};
}

void run_family(const std::string& family, const std::map<std::string, OpFn>& ops) {
  const std::string path = std::string(XGRAD_SOURCE_DIR) + "/tests/reference/" + family + ".safetensors";
  std::map<std::string, std::string> metadata;
  const nn::StateDict tensors = load_safetensors(path, &metadata);
  std::map<std::string, Case> cases;
  for (const auto& [id, text] : metadata) cases[id] = Case{id, nlohmann::json::parse(text), {}};
  for (const auto& [key, tensor] : tensors) {
    const auto slash = key.find('/');
    REQUIRE(slash != std::string::npos);
    cases.at(key.substr(0, slash)).tensors[key.substr(slash + 1)] = tensor;
  }
  INFO("family " << family << " (" << path << ")");
  REQUIRE(cases.size() >= 20);

  std::map<std::string, Worst> worst;
  for (const auto& [id, c] : cases) {
    const std::string op = c.meta.at("op").get<std::string>();
    INFO("case " << id << ", options " << c.meta.at("options").dump());
    const auto found = ops.find(op);
    if (found == ops.end()) FAIL("the fixture has cases of " << op << ", which the family does not register");
    const OpFn& fn = found->second;
    Worst& w = worst[op];
    ++w.cases;
    const double tol32 = c.meta.at("f32_tol").is_null() ? kTol32 : c.meta.at("f32_tol").get<double>();

    const auto [out64, grad64] = first_order(fn, c, f64, false);
    note(w.out64, out64);
    note(w.grad64, grad64);
    CHECK(out64 <= kTol64);
    CHECK(grad64 <= kTol64);
    const auto [out_strided, grad_strided] = first_order(fn, c, f64, true);
    note(w.strided, std::max(out_strided, grad_strided));
    CHECK(std::max(out_strided, grad_strided) <= kTol64);
    if (c.meta.at("second_order").get<bool>()) {
      const double second = second_order(fn, c);
      note(w.second, second);
      CHECK(second <= kTolHigher);
    }
    if (c.meta.at("forward").get<bool>()) {
      const double jvp = forward_mode(fn, c);
      note(w.jvp, jvp);
      CHECK(jvp <= kTolHigher);
    }
    const auto [out32, grad32] = first_order(fn, c, f32, false);
    note(w.out32, out32);
    note(w.grad32, grad32);
    CHECK(out32 <= tol32);
    CHECK(grad32 <= tol32);
  }
  for (const auto& [op, fn] : ops) {
    INFO("op " << op);
    CHECK(worst.count(op) == 1);  // registered, so it must have reference cases
  }
  report(family, worst);
}

}  // namespace xgrad::reference
